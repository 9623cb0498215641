#!/bin/sh
# The ABI is what lib/libxgpumap.map says, no more, no less:
#  - every function marked XGM_API (default visibility in the objects) must
#    be listed in the version script, or it would be silently hidden;
#  - every listed symbol must be exported by the shared library;
#  - the static archive defines no global symbol outside the xgm_ prefix
#    (and none that the shared library does not export).
set -eu
so=$1
map=$2
objdir=$3
archive=${4:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

find "$objdir" -name '*.o' -exec readelf -sW {} + |
	awk '$5 == "GLOBAL" && $6 == "DEFAULT" && $7 != "UND" {print $8}' |
	sort -u > "$tmp/marked"
nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' |
	grep -v '^XGPUMAP_' | sort -u > "$tmp/exported"
sed -n 's/^[[:space:]]*\(xgm_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort -u > "$tmp/listed"

status=0
if ! diff -u "$tmp/marked" "$tmp/listed" > "$tmp/d1"; then
	echo "abi: XGM_API symbols (-) differ from $map (+):"; cat "$tmp/d1"; status=1
fi
if ! diff -u "$tmp/listed" "$tmp/exported" > "$tmp/d2"; then
	echo "abi: $map (-) differs from what $so exports (+):"; cat "$tmp/d2"; status=1
fi
if [ -n "$archive" ]; then
	# Sanitizer builds add their own globals (__asan_*, __odr_asan*, ...):
	# they belong to the instrumentation, not to the library's namespace.
	nm --defined-only "$archive" | awk 'NF == 3 && $2 ~ /^[A-Z]$/ {print $3}' |
		grep -v -E '^(__asan|__odr_asan|___asan|__ubsan|__sancov|__tsan)' |
		sort -u > "$tmp/archive"
	if ! diff -u "$tmp/listed" "$tmp/archive" > "$tmp/d3"; then
		echo "abi: globals of $archive (+) differ from $map (-):"; cat "$tmp/d3"; status=1
	fi
fi
[ $status -eq 0 ] && echo "abi: $(wc -l < "$tmp/listed") symbols, all marked, listed and exported"
exit $status
