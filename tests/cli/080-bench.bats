#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# bench runs on private simulated hosts, through the public API only: counts
# first, times labelled measured or modelled, and in every scenario a naive
# baseline of the same run with the ratio ours/naive. Small sizes keep it
# quick; no test asserts on a wall-clock time, only on counts, on the shape
# of the document and on what must hold between measured numbers.

load helpers

# The document without what the clock decides: what a seed must repeat.
counts_only() {
    jq -S 'walk(if type == "object" then
                  with_entries(select(.key | test("measured|^blackout_us$|^total_us$|histogram|persistence|^(fewest|most|per_blob)_us$|verdict|^naive_us$|^ours_us$|^load_us$|state_bytes|^ours_vs_naive$") | not))
                else . end)' <<<"$1"
}

@test "bench attach: the planner's 2M entries against the naive plan's 4K, each size, each strategy" {
    run_xgm 0 -j bench attach --size 4M
    is_one_json "$output"
    assert_json "$output" '[.attach.rows[] | select(.strategy == "mmio") | .size]' '[2097152,4194304]'
    assert_json "$output" '[.attach.rows[].strategy] | unique' \
        '["grant","ioreq","mmio","ram-mmio","revoke-fault","transfer"]'
    local mmio='.attach.rows[] | select(.strategy == "mmio" and .size == 4194304)'
    assert_json "$output" "$mmio | [.ours.entries.order9, .ours.entries.order0]" '[2,0]'
    assert_json "$output" "$mmio | [.naive.entries.order9, .naive.entries.order0]" '[0,1024]'
    assert_json "$output" "$mmio | .naive.gfn - .ours.gfn" 1
    assert_json "$output" "$mmio | .ours_vs_naive.p2m_entries" 0.002
    assert_json_true "$output" "$mmio | .ours_vs_naive.hypercalls < 1 and .ours_vs_naive.modeled_us < 1"
    # The planner changes nothing for grants: 4K either way, ratio 1.
    assert_json "$output" '.attach.rows[] | select(.strategy == "grant" and .size == 2097152) |
        .ours_vs_naive.p2m_entries' 1
    assert_json_true "$output" '.labels.measured and (.labels.modeled | test("modelled")) and .labels.naive'
    # The user's state is never touched.
    [[ ! -e $SIM_STATE ]] || die "bench wrote the user's state"
}

@test "bench attach --size 4M text: one row per strategy and size, ratios, no JSON in cells" {
    run_xgm 0 bench attach --size 4M
    no_json_in_text "$output" "bench attach"
    like "$output" $'(^|\n) +STRATEGY +SIZE +ENTRIES +NAIVE +CALLS +NAIVE +MODELLED +NAIVE +RATIO +MEASURED\n'
    like "$output" $'(^|\n) +mmio +2 MiB +1 x 2M +512 x 4K +2 +9 '
    like "$output" $'(^|\n) +grant +4 MiB +1024 x 4K +1024 x 4K +1024 +1024 .* 1\\.00x '
    contains "$output" "modelled"
}

@test "bench strategies: every phase of every strategy, with every counter, and the naive plan" {
    run_xgm 0 -j bench strategies --size 4M
    assert_json "$output" '[.strategies.rows[].strategy]' \
        '["mmio","revoke-fault","ioreq","ram-mmio","transfer","grant"]'
    assert_json "$output" '[.strategies.rows[] | (.attach, .first_read, .detach) | keys] | unique' \
        '[["hypercalls","iommu_entries","ioreqs","ipis","measured_us","modeled_us","p2m_entries","pages_copied","splits","tlb_flushes"]]'
    local row='.strategies.rows[] | select(.strategy == '
    assert_json "$output" "$row \"ioreq\") | .first_read.ioreqs" 1024
    assert_json "$output" "$row \"mmio\") | .first_read.ioreqs" 0
    assert_json "$output" "$row \"grant\") | .migrate" null
    assert_json "$output" "$row \"mmio\") | .migrate.pages_copied" 1024
    assert_json_true "$output" "$row \"mmio\") | .naive_attach.p2m_entries == 1024 and .ours_vs_naive.p2m_entries < 1"
    assert_json_true "$output" "$row \"ram-mmio\") | .attach.splits > 0"
}

@test "bench strategies: a grant blob beyond stock Xen's grant table is not run, and says why" {
    run_xgm 0 -j bench strategies --size 132M
    assert_json "$output" '.strategies.rows[] | select(.strategy == "grant") | .not_run | test("32768 entries")' true
    assert_json "$output" '.strategies.rows[] | select(.strategy == "mmio") | .attach.p2m_entries' 66
}

@test "bench migrate: blackout and total distributions, ours against the naive remap, a histogram, samples" {
    local samples=$XGM_TMP/moves.csv
    run_xgm 0 -j bench migrate --size 4M --repeat 5 --samples "$samples"
    is_one_json "$output"
    local m=.migrate
    assert_json "$output" "$m.moves" 5
    assert_json "$output" "$m.samples" "$samples"
    assert_json_true "$output" "[$m.ours, $m.naive | .blackout_us, .total_us, .modeled_blackout_us |
        .min <= .p50 and .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max] | all"
    # The naive remap's blackout holds the copy: ours is shorter, measured and modelled.
    assert_json_true "$output" "$m.ours.blackout_us.p50 < $m.naive.blackout_us.p50"
    assert_json_true "$output" "$m.ours.modeled_blackout_us.p50 < $m.naive.modeled_blackout_us.p50"
    assert_json_true "$output" "$m.ours_vs_naive_p50.modeled_blackout_us < 1"
    assert_json_true "$output" "$m.naive.modeled_blackout_per_map.p50 > $m.ours.modeled_blackout_per_map.p50"
    assert_json "$output" "[$m.ours.histogram[].count] | add" 5
    [[ -f $samples ]] || die "no samples file"
    is "$(head -1 "$samples")" "kind,move,blackout_us,total_us,modeled_blackout_us,blackout_per_map"
    is "$(grep -c '^ours,' "$samples")" 5 "one line per move of ours"
    is "$(grep -c '^naive,' "$samples")" 5 "one line per naive move"
    run_xgm 0 bench migrate --size 4M --repeat 3
    like "$output" $'(^|\n) +naive blackout, modelled +'
    like "$output" $'(^|\n) +ours blackout/one map, modelled +[0-9.]+x +'
    like "$output" '#'
    no_json_in_text "$output" "bench migrate"
}

@test "bench scale: one of each operation on every host size, growth per blob from the numbers" {
    run_xgm 0 -j bench scale --guests 2 --blobs 2
    assert_json "$output" '[.scale.rows[] | [.guests, .blobs_per_guest]]' '[[1,1],[1,2],[2,1],[2,2]]'
    assert_json "$output" '[.scale.rows[0].measured_us | keys[]] | sort' \
        '["attach","attach_all_per_blob","check","detach","dump","list","migrate","show"]'
    assert_json "$output" '[.scale.rows[0].persistence_us | keys[]] | length' 7
    assert_json "$output" '[.scale.growth[].op] | length' 8
    assert_json_true "$output" '[.scale.growth[].verdict] | all(. == "constant" or . == "linear" or . == "grows faster than linear")'
    assert_json_true "$output" '[.scale.rows[].state_bytes] | .[1] >= .[0]'
    run_xgm 0 bench scale --guests 2 --blobs 2
    like "$output" $'(^|\n) +GUESTS +BLOBS +ATTACH +SHOW +LIST +CHECK +DUMP +MIGRATE +DETACH +ALL/BLOB\n'
    like "$output" $'(^|\n) +OPERATION +BLOBS +TIME +BLOBS +TIME +PER_BLOB +VS_1x1 +EXP +GROWTH\n'
    no_json_in_text "$output" "bench scale"
}

@test "bench persist: the save per operation against the state's size and a whole-state rewrite" {
    run_xgm 0 -j bench persist --guests 2 --blobs 2
    assert_json "$output" '[.persist.rows[].blobs]' '[2,4]'
    assert_json_true "$output" '[.persist.rows[] | .attach, .migrate, .detach |
        (.ours_us >= 0) and (.naive_us >= 0) and has("ours_vs_naive")] | all'
    assert_json_true "$output" '.persist.rows[1].state_bytes >= .persist.rows[0].state_bytes'
    run_xgm 0 bench persist --guests 2 --blobs 2
    like "$output" $'(^|\n) +BLOBS +STATE +ATTACH +NAIVE +RATIO +MIGRATE +NAIVE +RATIO +DETACH +NAIVE +RATIO +LOAD\n'
}

@test "bench hosts: sim init's default (pvh, intel) unless --dom0 and --iommu say otherwise" {
    run_xgm 0 -q sim init
    run_xgm 0 -j sim show
    local dom0 iommu
    dom0=$(jq -r .host.dom0_type <<<"$output")
    iommu=$(jq -r .host.iommu <<<"$output")
    run_xgm 0 -j bench attach --size 2M
    assert_json "$output" '[.host.dom0, .host.iommu]' "[\"$dom0\",\"$iommu\"]"
    assert_json "$output" '.attach.rows[] | select(.strategy == "ram-mmio") | .ours.hypercalls' 8
    # A PV dom0's RAM is scattered: ram-mmio needs a call per 4K frame.
    run_xgm 0 -j bench attach --size 2M --dom0 pv --iommu amd
    assert_json "$output" '[.host.dom0, .host.iommu]' '["pv","amd"]'
    assert_json "$output" '.attach.rows[] | select(.strategy == "ram-mmio") | .ours.hypercalls' 512
}

@test "bench counts are the same in two runs with one seed" {
    local a b
    run_xgm 0 -j bench attach --size 4M --dom0 pv --seed 7
    a=$(counts_only "$output")
    run_xgm 0 -j bench attach --size 4M --dom0 pv --seed 7
    b=$(counts_only "$output")
    is "$b" "$a" "bench attach counts, seed 7"
    run_xgm 0 -j bench strategies --size 4M --seed 3
    a=$(counts_only "$output")
    run_xgm 0 -j bench strategies --size 4M --seed 3
    b=$(counts_only "$output")
    is "$b" "$a" "bench strategies counts, seed 3"
    run_xgm 0 -j bench migrate --size 4M --repeat 2
    a=$(counts_only "$output")
    run_xgm 0 -j bench migrate --size 4M --repeat 2
    b=$(counts_only "$output")
    is "$b" "$a" "bench migrate counts"
    assert_json_true "$a" '.migrate.ours.modeled_blackout_us.p50 > 0'
}

@test "bench --csv writes every table of the run, one block per table" {
    local csv=$XGM_TMP/bench.csv
    run_xgm 0 -j bench attach --size 2M --csv "$csv"
    [[ -f $csv ]] || die "no CSV file"
    like "$(head -1 "$csv")" '^table,'
    is "$(grep -c '^attach,' "$csv")" 6 "one line per attach row"
    contains "$(head -1 "$csv")" "ours.hypercalls"
    not_contains "$(cat "$csv")" "{"
    run_xgm 0 -q bench migrate --size 2M --repeat 2 --csv "$csv"
    is "$(grep -c '^migrate,' "$csv")" 2 "ours and naive"
}

@test "bench progress goes to a terminal's stderr, never with -j or -q" {
    run script -qec "$XGPUMAP --sim-state $SIM_STATE bench attach --size 2M" /dev/null
    ((status == 0)) || die "bench under a terminal failed" "$output"
    contains "$output" $'\r'
    run script -qec "$XGPUMAP --sim-state $SIM_STATE -j bench attach --size 2M" /dev/null
    not_contains "$output" $'\r\033'
    run script -qec "$XGPUMAP --sim-state $SIM_STATE -q bench attach --size 2M" /dev/null
    not_contains "$output" $'\r\033'
}

@test "bench refuses bad input with exit 2 and a clear message, the user's state untouched" {
    run_xgm 0 -q sim init
    local sum
    sum=$(file_sum "$SIM_STATE")
    run_xgm 2 bench frobnicate
    contains "$stderr" "frobnicate"
    run_xgm 2 bench attach --size 4097
    contains "$stderr" "--size must be a multiple of 4K up to 16G"
    run_xgm 2 bench attach --size 32G
    contains "$stderr" "--size must be"
    run_xgm 2 bench migrate --repeat 0
    contains "$stderr" "--repeat must be 1..100000"
    run_xgm 2 bench scale --guests 65
    contains "$stderr" "--guests must be 1..64"
    run_xgm 2 bench scale --blobs 0
    contains "$stderr" "--blobs must be 1..64"
    run_xgm 2 bench attach --dom0 hvm
    contains "$stderr" "--dom0 must be pv or pvh"
    run_xgm 2 bench attach --iommu arm
    contains "$stderr" "--iommu must be intel or amd"
    run_xgm 2 bench attach --seed 0
    contains "$stderr" "--seed must be a positive number"
    run_xgm 2 bench attach --csv ''
    contains "$stderr" "--csv needs a file name"
    run_xgm 2 bench attach migrate
    run_xgm 2 -j bench attach --size 4097
    assert_error_doc "$output" EINVAL
    run_xgm 1 bench attach --size 2M --csv "$XGM_TMP/no/such/dir/x.csv"
    contains "$stderr" "cannot write"
    assert_unchanged "$SIM_STATE" "$sum"
}

@test "bench is a client of the public API: it includes nothing of the engine or the sim" {
    local inc
    inc=$(grep -ho '^#include "[^"]*"' "$XGM_SRCDIR"/lib/bench/*.[ch] | sort -u)
    [[ -n $inc ]] || die "no includes found in lib/bench"
    local bad
    bad=$(grep -vE '"(bench\.h|util/[a-z]+\.h|xgpumap(-doc|-sim)?\.h)"' <<<"$inc" || true)
    [[ -z $bad ]] || die "lib/bench includes internals" "$bad"
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
