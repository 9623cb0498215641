#!/bin/sh
# The main job on the simulated host, step by step, in a private state file
# (your own ~/.local/state is never touched). Usage: tests/demo.sh XGPUMAP
set -eu
xgm=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XGPUMAP_SIM_STATE="$dir/sim.db"

step() {
	printf '\n$ xgpumap %s\n' "$*"
	"$xgm" "$@"
}

# README's host: a PV dom0 (its RAM scattered over 4K frames) and AMD-Vi.
step -q sim init --dom0 pv --iommu amd
step domain list
# An admin gives vm1 a 1 GiB GPU buffer in VRAM: 512 2M entries, 8 calls.
step attach vm1 --size 1G --label framebuffer
step list
# dom0 writes a pattern; the guest reads it back through its own p2m.
step fill vm1:1
gfn=$("$xgm" -j show vm1:1 | sed -n 's/.*"gfn":\([0-9]*\).*/\1/p')
range=$(printf '0x%x-0x%x' "$gfn" $((gfn + 262143)))
step sim guest-read vm1 "$range" --expect vm1:1
# The driver moves it to system RAM and back; the guest keeps its data.
step migrate vm1:1 --to sys
step sim guest-read vm1 "$range" --expect vm1:1
step migrate vm1:1 --to vram --repeat 5
step p2m vm1 --gfn "$range"
step iommu vm1
# A support engineer captures the state and checks it offline.
step -q dump -o "$dir/host.json"
step check --input "$dir/host.json"
step detach vm1:1
step check
# A performance engineer compares 2M-aligned and unaligned mappings.
step bench attach --size 64M
printf '\ndemo: ok\n'
