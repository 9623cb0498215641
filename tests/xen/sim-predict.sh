#!/bin/sh
# What the simulated host predicts for step 6 of dom0-test.sh: the same
# three 16M attaches at the same offsets in a guest's blob window, on a
# simulated host with the rig's topology (MODE dom0, AMD IOMMU, NPT).
# Prints one "NAME hypercalls=N" line per case.
#
#   tests/xen/sim-predict.sh XGPUMAP pv|pvh [XEN_VERSION]
set -eu
xgm=$1
mode=$2
xen=${3:+--xen $3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XGPUMAP_SIM_STATE="$tmp/sim.db"
# shellcheck disable=SC2086
"$xgm" -q sim init --dom0 "$mode" --iommu amd $xen > /dev/null
# The rig's first attach makes the window; the cases are offsets in it.
out=$("$xgm" -j attach vm1 --size 16M --placement vram)
id=$(echo "$out" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
gfn=$(echo "$out" | sed -n 's/.*"gfn":\([0-9]*\).*/\1/p' | head -n 1)
win=$((gfn / 262144 * 262144))
"$xgm" detach "$id" > /dev/null
# The rig's GPU (bochs, through DRM) places a buffer where its driver
# does, whatever gfn it will be mapped at; the simulated GPU would place
# it congruent to a forced gfn. So each case maps a buffer made first,
# as the rig's allocator places it: without knowing the gfn.
for case in fresh:16384 unaligned:24577 realigned:24576; do
	buf=$("$xgm" -j gpu alloc card0 --size 16M | sed -n 's/.*"buffer":"\([^"]*\)".*/\1/p')
	out=$("$xgm" -j attach vm1 --buffer "$buf" --gfn $((win + ${case#*:})))
	id=$(echo "$out" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
	echo "${case%%:*} hypercalls=$(echo "$out" | sed -n 's/.*"hypercalls":\([0-9]*\).*/\1/p' | tail -n 1)"
	"$xgm" detach "$id" > /dev/null
	"$xgm" gpu free "$buf" > /dev/null
done
