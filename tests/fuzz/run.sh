#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make fuzz: every parser under a fuzzer for a bounded time.
#
#   tests/fuzz/run.sh "FEATURE_CFLAGS" "LIBS"     (the Makefile passes both)
#
# The engine is libFuzzer where clang links -fsanitize=fuzzer, otherwise
# driver.c (random mutations of the seeds, no coverage) built with the
# default compiler; ASan and UBSan either way. Each harness runs for
# FUZZ_SECONDS (default 12). FUZZ_ENGINE=driver or libfuzzer forces one.
# Seeds are tests/fuzz/corpus/NAME/ (committed, small); what libFuzzer
# adds goes to build-fuzz-*/corpus/NAME/, crashes to build-fuzz-*/crashes/.
# Exits 1 at the first crash, naming the input that reproduces it.
set -eu

feature_cflags=${1:-}
libs=${2:-}
seconds=${FUZZ_SECONDS:-12}
engine=${FUZZ_ENGINE:-}
cd "$(dirname "$0")/../.."

if [ -z "$engine" ]; then
	engine=driver
	if command -v clang >/dev/null 2>&1 &&
	   echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long s) { return 0; }' |
	   clang -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1; then
		engine=libfuzzer
	fi
fi

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ "$engine" = libfuzzer ]; then
	cc=clang
	cflags="-O1 -g $san -fsanitize=fuzzer-no-link"
	link="-fsanitize=fuzzer"
else
	cc=${CC:-cc}
	cflags="-O1 -g $san"
	link=""
fi
build=build-fuzz-$engine

# The library with the fuzzing flags, in its own build directory: the
# internal archive, whose symbols the harnesses reach (the installed one
# localizes them).
make -s BUILD="$build" CC="$cc" CFLAGS="$cflags" "$build/libxgpumap-internal.a"

harnesses="parse blob_decode dump sim_state proto"
case "$feature_cflags" in
*-DXGM_HAVE_XEN*) harnesses="$harnesses xen_dump" ;;
esac

mkdir -p "$build/fuzz" "$build/crashes"
for h in $harnesses; do
	extra=""
	[ "$engine" = driver ] && extra=tests/fuzz/driver.c
	[ "$h" = proto ] && extra="$extra -Idaemon daemon/proto.c"
	# shellcheck disable=SC2086
	$cc -std=gnu11 -D_GNU_SOURCE -Ilib/include -Ilib -Itests/fuzz $feature_cflags \
	    $cflags $link -o "$build/fuzz/$h" "tests/fuzz/fuzz_$h.c" $extra \
	    "$build/libxgpumap-internal.a" $libs -lm
done

for h in $harnesses; do
	echo "fuzz: $h ($engine, ${seconds}s)"
	if [ "$engine" = libfuzzer ]; then
		mkdir -p "$build/corpus/$h"
		"$build/fuzz/$h" -max_total_time="$seconds" -timeout=10 \
		    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		    -artifact_prefix="$build/crashes/$h-" \
		    "$build/corpus/$h" "tests/fuzz/corpus/$h" 2>"$build/fuzz/$h.log" || {
			tail -40 "$build/fuzz/$h.log"
			echo "fuzz: $h crashed; reproduce with $build/fuzz/$h $build/crashes/$h-*"
			exit 1
		}
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' \
		    "$build/fuzz/$h.log" | tr '\n' ' '
		echo
	else
		"$build/fuzz/$h" -n 100000000 -t "$seconds" -s "${FUZZ_SEED:-$$}" \
		    -o "$build/crashes" "tests/fuzz/corpus/$h" || {
			echo "fuzz: $h crashed; reproduce with $build/fuzz/$h $build/crashes/crash-*"
			exit 1
		}
	fi
done
echo "fuzz: $harnesses: no crash"
