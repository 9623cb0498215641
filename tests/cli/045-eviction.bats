#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Evictions the GPU raises itself (VRAM full, LRU) go through the same
# remap path as migrate: a blob attached with auto follows its buffer to
# system RAM and the guest keeps reading its data; a blob whose strategy
# the user fixed is pinned in VRAM and never evicted.

load helpers

setup() {
    basic_setup
    run_xgm 0 -q sim init --vram 256M
}

check_clean() {
    run_xgm 0 -j check
    [[ $(jq length <<<"$output") -eq 0 ]] || die "check not clean" "$output"
}

@test "an auto blob evicted by the GPU is remapped to system RAM; the guest keeps its data" {
    run_xgm 0 -j attach vm1 --size 160M
    local g
    g=$(jq .gfn <<<"$output")
    run_xgm 0 fill vm1:1
    # 160M + 128M do not fit in 256M: the GPU evicts vm1:1 (least recently used).
    run_xgm 0 -j attach vm2 --size 128M
    check_clean
    run_xgm 0 -j show vm1:1
    [[ $(jq -r .placement <<<"$output") == sys ]] || die "vm1:1 not evicted" "$output"
    [[ $(jq -r .strategy <<<"$output") != mmio ]] || die "vm1:1 kept mmio for RAM" "$output"
    [[ $(jq .generation <<<"$output") -eq 1 ]] || die "generation not bumped" "$output"
    [[ $(jq '.ops | has("evict")' <<<"$output") == true ]] || die "no evict counters" "$output"
    [[ $(jq .gfn <<<"$output") -eq $g ]] || die "the gfn moved" "$output"
    run_xgm 0 -j sim guest-read vm1 "$g-$((g + 40959))" --expect vm1:1
    [[ $(jq -r .result <<<"$output") == ok ]] || die "the guest does not read its data" "$output"
}

@test "a blob whose strategy the user fixed is pinned in VRAM and never evicted" {
    run_xgm 0 -j attach vm1 --size 160M --strategy mmio
    [[ $(jq .pinned <<<"$output") == true ]] || die "not pinned" "$output"
    [[ $(jq -r .pin_reason <<<"$output") == *"fixed by the user"* ]] ||
        die "no reason given" "$output"
    # No room without evicting the pinned blob: the new attach fails cleanly.
    run_xgm 1 -j attach vm2 --size 128M
    [[ $(jq -r .error.message <<<"$output") == *"every resident buffer is pinned"* ]] ||
        die "the refusal does not say why" "$output"
    check_clean
    run_xgm 0 -j show vm1:1
    [[ $(jq -r .placement <<<"$output") == vram ]] || die "the pinned blob moved" "$output"
    run_xgm 0 -j list
    [[ $(jq length <<<"$output") -eq 1 ]] || die "the failed attach left a blob" "$output"
}
