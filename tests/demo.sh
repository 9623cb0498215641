#!/bin/sh
# The main job on the simulated host, step by step, in a private state file
# (your own ~/.local/state is never touched). Usage: tests/demo.sh XGPUMAP
set -eu
xgm=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XGPUMAP_SIM_STATE="$dir/sim.json"

step() {
	printf '\n$ xgpumap %s\n' "$*"
	"$xgm" "$@"
}

step sim init
step domain list
step domain show vm1
step sim show
step -j version
printf '\ndemo: ok (state was %s)\n' "$XGPUMAP_SIM_STATE"
