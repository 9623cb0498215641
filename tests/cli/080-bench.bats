#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# bench runs on private simulated hosts: counts first, times labelled
# measured or modeled, ratios against the baseline of the same run. Small
# sizes keep it quick; no test asserts on a wall-clock time.

load helpers

@test "bench alignment: 2M entries when aligned, 4K when not, and the ratios" {
    run_xgm 0 -j bench alignment --size 4M
    local a
    a=$(jq -c '.alignment | [.aligned.entries.order9, .aligned.entries.order0,
        .unaligned.entries.order9, .unaligned.entries.order0,
        .unaligned_vs_aligned.p2m_entries]' <<<"$output")
    [[ $a == "[2,0,0,1024,512]" ]] || die "unexpected entries" "$a"
    jq -e '.alignment.unaligned_vs_aligned.hypercalls > 1 and
           .alignment.unaligned_vs_aligned.modeled_us > 1' <<<"$output" >/dev/null ||
        die "unaligned should cost more" "$output"
    jq -e '.labels.measured and .labels.modeled' <<<"$output" >/dev/null ||
        die "times are not labelled" "$output"
    # The user's state is never touched.
    [[ ! -e $SIM_STATE ]] || die "bench wrote the user's state"
}

@test "bench strategies: every strategy attaches, is read by the guest, and detaches" {
    run_xgm 0 -j bench strategies --size 4M
    local names
    names=$(jq -c '[.strategies.rows[].strategy]' <<<"$output")
    [[ $names == '["mmio","revoke-fault","ioreq","ram-mmio","transfer","grant"]' ]] ||
        die "strategies missing" "$names"
    jq -e '.strategies.baseline == "mmio" and
           (.strategies.rows[0].attach_vs_mmio.modeled_us == 1) and
           ([.strategies.rows[] | select(.strategy == "ioreq") | .first_read.ioreqs][0] >= 1024) and
           ([.strategies.rows[] | select(.strategy == "mmio") | .first_read.ioreqs][0] == 0) and
           ([.strategies.rows[] | select(.strategy == "grant") | .migrate][0] == null)' \
        <<<"$output" >/dev/null || die "unexpected strategy rows" "$output"
}

@test "bench remap and persist report distributions and sizes" {
    run_xgm 0 -j bench remap --size 4M --repeat 3
    jq -e '.remap.migrations == 3 and .remap.blackout_us.p50 >= .remap.blackout_us.min
           and .remap.blackout_us.max >= .remap.blackout_us.p99' <<<"$output" >/dev/null ||
        die "no remap distribution" "$output"
    run_xgm 0 -j bench persist --guests 4 --blobs 4
    jq -e '.persist.guests == 4 and .persist.blobs_per_guest == 4 and
           .persist.state_bytes > 0 and .persist.save_ms > 0 and .persist.load_ms > 0' \
        <<<"$output" >/dev/null || die "no persist figures" "$output"
}

@test "bench refuses an unknown scenario and bad sizes (exit 2)" {
    run_xgm 2 bench frobnicate
    run_xgm 2 bench alignment --size 4097
    run_xgm 2 bench remap --repeat 0
}

@test "a blob whose strategy the user fixed still moves within VRAM, keeping its pin" {
    run_xgm 0 -q sim init
    run_xgm 0 -j attach vm1 --size 8M --strategy mmio
    local g
    g=$(jq .gfn <<<"$output")
    run_xgm 0 fill vm1:1
    run_xgm 0 -j migrate vm1:1 --to vram
    jq -e '.pinned == true and .generation == 1 and .placement == "vram"' \
        <<<"$output" >/dev/null || die "not moved, or the pin was lost" "$output"
    run_xgm 0 -j sim show
    [[ $(jq '.gpus[0].buffers' <<<"$output") -eq 1 ]] || die "the old buffer leaked" "$output"
    run_xgm 0 -j sim guest-read vm1 "$g-$((g + 2047))" --expect vm1:1
    [[ $(jq -r .result <<<"$output") == ok ]] || die "the guest lost its data" "$output"
    run_xgm 0 -j check
    [[ $(jq length <<<"$output") -eq 0 ]] || die "check not clean" "$output"
}
