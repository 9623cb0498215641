#!/bin/sh
# The VMM test: tests/vmm/vmm-client.c built as a VMM would build it, with
# pkg-config against an installed tree (make install DESTDIR=ROOT
# PREFIX=/usr), then run against a simulated host while another process
# runs `xgpumap list` and `xgpumap check` in a loop. The client keeps one
# context open throughout; the loop must keep running (no command waits
# for the client's context) and find the host consistent every time.
#
#   tests/vmm/run.sh ROOT CC "EXTRA_LDFLAGS"
set -eu
root=$(cd "$1" && pwd)
cc=$2
extra=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
loop=
cleanup() {
	[ -n "$loop" ] && kill "$loop" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "vmm: FAIL: $*"; exit 1; }

export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs xgpumap) || fail "pkg-config xgpumap"
case " $flags " in
*jansson*) fail "pkg-config --cflags --libs xgpumap names jansson: $flags" ;;
esac
echo "vmm: cc -std=gnu11 vmm-client.c $flags"
# shellcheck disable=SC2086
"$cc" -std=gnu11 -Wall -Wextra -Werror $extra -o "$tmp/vmm-client" \
	"$here/vmm-client.c" $flags || fail "building the client"

xgm="$root/usr/bin/xgpumap"
state="$tmp/sim.db"
export LD_LIBRARY_PATH="$root/usr/lib"
"$xgm" --sim-state "$state" -q sim init > /dev/null || fail "sim init"

# The other process: list and check, as fast as the host lets them.
(
	n=0
	while [ ! -e "$tmp/done" ]; do
		"$xgm" --sim-state "$state" -j check > "$tmp/check.out" 2>&1 ||
			{ cp "$tmp/check.out" "$tmp/inconsistent"; exit 1; }
		"$xgm" --sim-state "$state" -j list > "$tmp/list.out" 2>&1 ||
			{ cp "$tmp/list.out" "$tmp/inconsistent"; exit 1; }
		grep -o '"id": *"vm1:[0-9]*"' "$tmp/list.out" | wc -l >> "$tmp/counts"
		n=$((n + 1))
		echo "$n" > "$tmp/rounds"
	done
) &
loop=$!

start=$(date +%s)
"$tmp/vmm-client" 1 "$state" > "$tmp/client.out" 2>&1 || {
	cat "$tmp/client.out"
	fail "the client failed"
}
touch "$tmp/done"
wait "$loop" || {
	cat "$tmp/inconsistent" 2>/dev/null
	fail "list or check failed while the client ran"
}
loop=
grep -m 1 '^mapped' "$tmp/client.out"
grep '^moved\|^vmm-client' "$tmp/client.out"
rounds=$(cat "$tmp/rounds" 2>/dev/null || echo 0)
[ "$rounds" -ge 2 ] || fail "the CLI loop ran $rounds times while the client ran: it was blocked"
distinct=$(sort -un "$tmp/counts" | tr '\n' ' ')
echo "vmm: $rounds rounds of check + list beside the client in $(($(date +%s) - start)) s, all clean; blob counts seen: $distinct"
# The loop saw the client's blobs come and go, not only the ends.
[ "$(sort -un "$tmp/counts" | wc -l)" -ge 3 ] ||
	fail "the loop saw only the blob counts $distinct"
"$xgm" --sim-state "$state" check > /dev/null || fail "check after the client"
echo "vmm: 1 passed, 0 failed"
