#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# The engine through the CLI: attach plans (entry orders, hypercalls), the
# full life of a blob (attach, fill, migrate, detach) as the guest sees it,
# migration policy, dump/check, and refusals of bad input.
#
# After every state-changing operation `check` must hold (check_clean).
# Every test runs on its own fresh simulated host (helpers.bash): PVH dom0,
# vm1 (pvh, 2 GiB), vm2 (hvm, 4 GiB), vm3 (pv), card0 with 16 GiB VRAM,
# Intel IOMMU sharing the EPT.

load helpers
load helpers.engine

# Pages in 1 GiB / 2 MiB / 16 MiB / 32 MiB.
PAGES_1G=262144
PAGES_32M=8192

# ---- attach plans -------------------------------------------------------

@test "attach: 1 GiB of VRAM with --strategy mmio, 2M-aligned: 512 order-9 entries in 8 memory_mapping calls; a --gfn off 2M alignment gets a backing congruent to it: 511 order-9 entries between 512 order-0 ones" {
    # --- aligned: the engine places it at the window start (1 GiB aligned),
    # congruent with the VRAM backing, so every entry can be 2M.
    run_xgm 0 -j attach vm1 --size 1G --strategy mmio
    check_clean
    local a=$output w
    w=$(window_gfn vm1)
    # vm1's window lies above its 2 GiB of RAM and is 1 GiB aligned.
    is "$((w % PAGES_1G))" 0 "vm1 blob window gfn $w must be 1 GiB aligned"
    is "$((w >= 524288))" 1 "vm1 blob window gfn $w must lie above vm1's 2 GiB of RAM (gfn 0x80000)"
    # Xen's memory_mapping does at most 64 entries a call: 512 / 64 = 8
    # planned calls. What the sim counted for the attach is 9: those 8
    # memory_mapping calls plus the one iomem_permission that lets vm1 map
    # the VRAM range.
    jq_is "$a" '{id, gfn, frames, strategy, strategy_choice,
                 order9: .entries.order9, order0: .entries.order0,
                 planned_hypercalls, hypercalls: .ops.attach.hypercalls,
                 p2m_entries: .ops.attach.p2m_entries, splits: .ops.attach.splits}' \
        "{\"id\":\"vm1:1\",\"gfn\":$w,\"frames\":$PAGES_1G,\"strategy\":\"mmio\",\"strategy_choice\":\"user\",\"order9\":512,\"order0\":0,\"planned_hypercalls\":8,\"hypercalls\":9,\"p2m_entries\":512,\"splits\":0}" \
        "attach vm1 --size 1G --strategy mmio"
    assert_json "$a" '.entries' '{"order0":0,"order9":512}'

    # The live p2m agrees: 512 leaves of order 9, mmio_direct, UC.
    run_xgm 0 -j p2m vm1 --gfn "$w-$((w + PAGES_1G - 1))"
    jq_is "$output" '{orders: ([.[].order] | unique), types: ([.[].type] | unique), emt: ([.[].emt] | unique), entries: ([.[].entries] | add), first: .[0].gfn, last: .[-1].gfn_last}' \
        "{\"orders\":[9],\"types\":[\"mmio_direct\"],\"emt\":[\"UC\"],\"entries\":512,\"first\":$w,\"last\":$((w + PAGES_1G - 1))}" \
        "p2m vm1 over the 1G blob"

    # show: the same numbers, as -j and as text.
    run_xgm 0 -j show vm1:1
    jq_is "$output" '[.entries, .planned_hypercalls, .ops.attach.hypercalls]' '[{"order0":0,"order9":512},8,9]' \
        "show vm1:1 -j: [entries, planned_hypercalls, ops.attach.hypercalls]"
    run_xgm 0 show vm1:1
    like "$output" $'(^|\n)entries *: 512 x 2M \\(planned 512 x 2M in 8 hypercalls\\)(\n|$)' \
        "show vm1:1 (text): entries by order, planned hypercalls"
    like "$output" $'(^|\n)gfn *: 0x'"$(printf '%x' "$w")"'-0x' "show vm1:1 (text): gfn range in hex"

    run_xgm 0 detach vm1:1
    check_clean
    assert_p2m_empty vm1 "$w" "$((w + PAGES_1G - 1))"

    # --- one page off 2M alignment: the allocator places the backing
    # congruent to the forced gfn modulo 2M, so only the 511 pages up to
    # the first 2M boundary and the last page are 4K entries; the 511 2M
    # chunks between are 2M entries (before, 262144 4K entries).
    run_xgm 0 -j attach vm1 --size 1G --strategy mmio --gfn "$((w + 1))"
    check_clean
    a=$output
    jq_is "$a" '{id, gfn, gfn_last, order0: .entries.order0, order9: .entries.order9,
                 p2m_entries: .ops.attach.p2m_entries}' \
        "{\"id\":\"vm1:2\",\"gfn\":$((w + 1)),\"gfn_last\":$((w + PAGES_1G)),\"order0\":512,\"order9\":511,\"p2m_entries\":1023}" \
        "attach vm1 --size 1G --strategy mmio --gfn window+1"
    assert_json "$a" '.planned_entries' '{"order0":512,"order9":511}'

    run_xgm 0 -j p2m vm1 --gfn "$((w + 1))-$((w + PAGES_1G))"
    jq_is "$output" '{orders: ([.[].order] | unique), types: ([.[].type] | unique), frames: ([.[] | .entries * (if .order == 9 then 512 else 1 end)] | add)}' \
        '{"orders":[0,9],"types":["mmio_direct"],"frames":262144}' "p2m vm1 over the unaligned 1G blob"
    assert_p2m_covers vm1 "$((w + 1))" "$((w + PAGES_1G))" mmio_direct

    run_xgm 0 -j show vm1:2
    jq_is "$output" '.entries' '{"order0":512,"order9":511}' "show vm1:2 -j: entries"
    run_xgm 0 show vm1:2
    like "$output" $'(^|\n)entries *: 511 x 2M \\+ 512 x 4K \\(planned 511 x 2M \\+ 512 x 4K' \
        "show vm1:2 (text): entries by order"

    run_xgm 0 detach vm1:2
    check_clean
    assert_p2m_empty vm1 "$w" "$((w + PAGES_1G))"
    assert_gpu_buffers 0
}

# congruent BLOB_JSON: every extent of the backing starts at a frame
# congruent to its gfn modulo 2M (true or false).
congruent() {
    jq_of "$1" '[.gfn as $g | foreach .backing[] as $e ({at: $g};
        {at: (.at + $e.nr), ok: ((($e.mfn - .at) % 512) == 0)}; .ok)] | all'
}

# sys_blob_off_2m: vm1:2, 16M of system RAM with grant at a --gfn 3 pages
# past a 2M boundary in vm1's window; sets $g and $a (its attach -j), and
# checks that the guest reads what dom0 wrote there.
sys_blob_off_2m() {
    run_xgm 0 attach vm1 --size 2M --strategy mmio
    g=$(($(window_gfn vm1) + 4096 + 3))
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy grant --gfn "$g"
    check_clean
    a=$output
    # grant maps 4K entries whatever the frames (GNTTABOP_map_grant_ref).
    assert_json "$a" '[.gfn, .frames, .entries]' "[$g,4096,{\"order0\":4096,\"order9\":0}]"
    run_xgm 0 fill vm1:2 --seed 3
    assert_guest_sees vm1:2 vm1 "$g" "$((g + 4095))"
}

@test "attach --placement sys --gfn off 2M alignment: on a PVH dom0 the RAM backing is congruent to the gfn; on a PV dom0 (scattered frames: no congruent place) it goes anywhere, mapped right" {
    local g a
    sys_blob_off_2m
    is "$(congruent "$a")" true "vm1:2's RAM backing congruent to gfn $g modulo 2M"

    # A PV dom0's RAM is scattered 4K frames: nothing is congruent for
    # long; the allocator falls back to any place and the mapping is as
    # correct as ever.
    run_xgm 0 sim init --force --dom0 pv
    sys_blob_off_2m
    is "$(congruent "$a")" false "vm1:2's RAM backing on a PV dom0"
    run_xgm 0 detach vm1:2
    check_clean
    assert_p2m_empty vm1 "$g" "$((g + 4095))"
}

@test "grant: a blob dom0's grant table cannot hold (256M on stock Xen: 65536 entries of 32768) is refused before its first grant, naming gnttab_max_frames, exit 1, state unchanged; sim init --gnttab-max-frames sizes the table" {
    # vm2 has no window yet: the refusal must not leave one behind either.
    run_xgm 0 sim init
    assert_refused 1 ENOSPC "grant table of Domain-0 full: 32768 entries (gnttab_max_frames 64), 8 in use or kept by Linux; 32760 free; a 256 MiB grant blob needs 65536" \
        attach vm2 --size 256M --placement sys --strategy grant
    run_xgm 0 -j domain show vm2
    assert_json "$output" '.blob_window' null

    # One frame: 512 entries, 8 of them Linux's. 1M (256 grants) fits
    # once, not twice; a detach gives the entries back.
    run_xgm 0 -j sim init --force --gnttab-max-frames 1
    assert_json "$output" '.host.gnttab_max_frames' 1
    run_xgm 0 sim show
    like "$output" $'(^|\n)grants +: 512 entries in dom0\'s table \\(gnttab_max_frames 1\\)\n'
    run_xgm 0 attach vm1 --size 1M --placement sys --strategy grant
    check_clean
    assert_refused 1 ENOSPC "grant table of Domain-0 full: 512 entries (gnttab_max_frames 1), 264 in use or kept by Linux; 248 free; a 1 MiB grant blob needs 256" \
        attach vm1 --size 1M --placement sys --strategy grant
    run_xgm 0 detach vm1:1
    run_xgm 0 attach vm1 --size 1M --placement sys --strategy grant
    check_clean
    for n in 0 -1 x 4294967296; do
        run_xgm 2 sim init --force --gnttab-max-frames "$n"
        contains "$stderr" "--gnttab-max-frames"
    done
    run_xgm 2 sim init --force --gnttab-max-frames 65537
    contains "$stderr" "gnttab_max_frames must be 1 to 65536"
}

# ---- the whole life of a blob -----------------------------------------

# NOTE: migrate needs the backend's buf_copy GPU op; without it every
# migrate fails with "this backend cannot copy GPU buffers" and this test
# fails there. The move back from sys also needs `auto` to pick a strategy
# for system RAM that does not pin the buffer (a pinned blob cannot move).
@test "round trip: attach, list, show, fill, guest reads it, migrate to sys, to vram, to a new place in vram, p2m, iommu, check, detach leaves nothing" {
    run_xgm 0 -j attach vm1 --size 32M --label roundtrip
    check_clean
    local id g l
    id=$(jq_of "$output" .id)
    is "$id" vm1:1 "attach: the first blob of vm1"
    g=$(jq_of "$output" .gfn)
    l=$(jq_of "$output" .gfn_last)
    is "$((l - g + 1))" "$PAGES_32M" "attach: gfn range of 32M"
    assert_json "$output" '.strategy' mmio
    assert_json "$output" '.strategy_choice' auto
    assert_json "$output" '.placement' vram
    assert_json "$output" '.state' mapped
    assert_json "$output" '.label' roundtrip
    # Placed congruent with its backing: 32M = 16 entries of 2M.
    assert_json "$output" '.entries' '{"order0":0,"order9":16}'

    run_xgm 0 -j list
    assert_json "$output" '[.[].id]' '["vm1:1"]'
    assert_json "$output" '.[0] | [.size, .placement, .strategy, .gfn, .gfn_last, .state, .label]' \
        "[33554432,\"vram\",\"mmio\",$g,$l,\"mapped\",\"roundtrip\"]"
    run_xgm 0 -j list vm1
    assert_json "$output" '[.[].id]' '["vm1:1"]'
    run_xgm 0 -j list vm2
    assert_json "$output" 'length' 0

    run_xgm 0 -j show vm1:1
    assert_json "$output" '[.id, .domain, .size, .frames, .gfn, .gfn_last, .state, .generation]' \
        "[\"vm1:1\",\"vm1\",33554432,$PAGES_32M,$g,$l,\"mapped\",0]"

    run_xgm 0 -j fill vm1:1 --seed 7
    check_clean
    assert_json "$output" '.pages' "$PAGES_32M"
    run_xgm 0 verify vm1:1
    assert_guest_sees vm1:1 vm1 "$g" "$l"

    # --- to system RAM
    run_xgm 0 -j migrate vm1:1 --to sys
    check_clean
    assert_json "$output" '.placement' sys
    assert_json "$output" '.migrations' 1
    assert_json "$output" '.generation' 1
    assert_json "$output" '.time' measured
    assert_json "$output" '[.gfn, .gfn_last]' "[$g,$l]"
    run_xgm 0 verify vm1:1
    assert_guest_sees vm1:1 vm1 "$g" "$l"

    # --- back to VRAM
    run_xgm 0 -j migrate vm1:1 --to vram
    check_clean
    assert_json "$output" '.placement' vram
    assert_json "$output" '.generation' 2
    assert_json "$output" '[.gfn, .gfn_last]' "[$g,$l]"
    local b2
    b2=$(jq -c .backing <<<"$output")
    assert_guest_sees vm1:1 vm1 "$g" "$l"

    # --- to VRAM again: the same placement means a new place in it.
    run_xgm 0 -j migrate vm1:1 --to vram
    check_clean
    assert_json "$output" '.placement' vram
    assert_json "$output" '.generation' 3
    local b3
    b3=$(jq -c .backing <<<"$output")
    if [[ $b3 == "$b2" ]]; then
        die "migrate --to vram (already in vram) must move to new frames" "backing before: $b2" "backing after:  $b3"
    fi
    assert_guest_sees vm1:1 vm1 "$g" "$l"
    run_xgm 0 verify vm1:1

    # The p2m maps the whole range to the new backing.
    assert_p2m_covers vm1 "$g" "$l" mmio_direct
    run_xgm 0 -j p2m vm1 --gfn "$g-$l"
    assert_json "$output" ".[0].mfn" "$(jq '.[0].mfn' <<<"$b3")"

    # vm1 was created without passthrough: no IOMMU context, no IOMMU work.
    run_xgm 0 -j iommu vm1
    assert_json "$output" '.mode' none
    assert_json "$output" '.domain' vm1

    run_xgm 0 -j check
    assert_json "$output" '.' '[]'

    # --- detach: nothing left for the guest to reach.
    run_xgm 0 -j detach vm1:1
    check_clean
    assert_json "$output" '[.id, .gfn, .frames]' "[\"vm1:1\",$g,$PAGES_32M]"
    run_xgm 0 -j p2m vm1 --gfn "$g-$l"
    assert_json "$output" '.' '[]'
    run_xgm 0 -j sim guest-read vm1 "$g-$l"
    assert_json "$output" '.runs[0].reads' all-ones
    assert_guest_all_ones vm1 "$g" "$l"
    assert_blob_ids vm1 '[]'
    assert_gpu_buffers 0
}

@test "migrate --repeat 5 reports blackout_us and total_us as min/p50/p90/p99/max, measured; one migration the same keys" {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    local g l
    g=$(jq_of "$output" .gfn)
    l=$(jq_of "$output" .gfn_last)
    run_xgm 0 fill vm1:1
    check_clean

    run_xgm 0 -j migrate vm1:1 --to vram --repeat 5
    check_clean
    local m=$output
    assert_json "$m" '.migrations' 5
    assert_json "$m" '.generation' 5
    assert_json "$m" '.time' measured
    local k
    for k in blackout_us total_us; do
        assert_json "$m" ".$k | keys" '["max","min","p50","p90","p99"]'
        assert_json "$m" "[.$k[] | type] | unique" '["number"]'
        assert_json "$m" ".$k | .min >= 0 and .min <= .p50 and .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max" true \
            "$k: 0 <= min <= p50 <= p90 <= p99 <= max"
    done
    # Each migration's blackout is part of its total, so every order
    # statistic of the totals is at least the blackouts' one.
    assert_json "$m" '[.total_us.min >= .blackout_us.min, .total_us.p50 >= .blackout_us.p50, .total_us.max >= .blackout_us.max]' \
        '[true,true,true]'
    assert_json "$m" '.total_us.max > 0' true
    assert_guest_sees vm1:1 vm1 "$g" "$l"

    # One migration: the same keys of the same types (every statistic is
    # its one sample), still measured; the text says the one number.
    run_xgm 0 -j migrate vm1:1 --to vram
    check_clean
    assert_json "$output" '[(.blackout_us | type), (.total_us | type), .time, .migrations]' \
        '["object","object","measured",1]'
    assert_json "$output" '[.blackout_us, .total_us | .min == .max and .p50 == .max] | all' true
    run_xgm 0 migrate vm1:1 --to vram
    contains "$output" "blackout"
    not_contains "$output" "p50" "one migration's text"
}

# ---- migration policy -------------------------------------------------

@test "migrate: a blob attached with auto switches strategy when moved to sys (mmio cannot map RAM)" {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    assert_json "$output" '[.strategy, .strategy_choice]' '["mmio","auto"]'
    local g l
    g=$(jq_of "$output" .gfn)
    l=$(jq_of "$output" .gfn_last)
    run_xgm 0 fill vm1:1
    check_clean

    run_xgm 0 -j migrate vm1:1 --to sys
    check_clean
    assert_json "$output" '.placement' sys
    assert_json "$output" '.strategy_choice' auto
    assert_json "$output" '.strategy != "mmio"' true "migrate --to sys: strategy must have switched away from mmio"
    # A pinning strategy (grant) must pin the buffer, as attach does.
    assert_json "$output" '.pinned == (.strategy == "grant")' true \
        "migrate --to sys: pinned must be true exactly when the new strategy (grant) pins"
    run_xgm 0 -j show vm1:1
    assert_json "$output" '[.placement, .strategy != "mmio", .state]' '["sys",true,"mapped"]'
    assert_guest_sees vm1:1 vm1 "$g" "$l"
}

@test "stock Xen by default: ram-mmio and transfer exist only on a host made with sim init --extensions; auto still prefers ioreq for system RAM" {
    run_xgm 0 -j sim show
    assert_json "$output" '.host.extensions' '[]'
    assert_refused 1 EOPNOTSUPP "stock Xen" attach vm1 --size 16M --placement sys --strategy ram-mmio
    assert_refused 1 EOPNOTSUPP "--extensions" attach vm1 --size 16M --placement sys --strategy transfer
    run_xgm 0 -j attach vm1 --size 16M --placement sys
    assert_json "$output" '[.strategy, .pinned]' '["ioreq",false]'
    check_clean

    run_xgm 0 -q sim init --force --extensions ram-mmio,transfer
    run_xgm 0 -j sim show
    assert_json "$output" '.host.extensions' '["ram-mmio","transfer"]'
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy ram-mmio
    check_clean
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy transfer
    check_clean
    # writing nothing into the p2m still wins for a RAM phase
    run_xgm 0 -j attach vm1 --size 16M --placement sys
    assert_json "$output" '.strategy' ioreq

    run_xgm 0 -q sim init --force --extensions transfer
    run_xgm 0 -j sim show
    assert_json "$output" '.host.extensions' '["transfer"]'
    run_xgm 0 -q sim init --force --extensions none
    run_xgm 0 -j sim show
    assert_json "$output" '.host.extensions' '[]'
    local before
    before=$(state_sum)
    for bad in bogus ram-mmio,ram-mmio ram-mmio, ,transfer ""; do
        run_xgm 2 sim init --force --extensions "$bad"
        contains "$stderr" "--extensions"
    done
    assert_unchanged "$SIM_STATE" "$before" "sim init --extensions BAD"
}

@test "auto blob to sys and back: the RAM phase writes nothing into the p2m, so back in VRAM it has its 2M entries again" {
    run_xgm 0 -j attach vm1 --size 16M
    assert_json "$output" '.entries' '{"order0":0,"order9":8}'
    run_xgm 0 -j migrate vm1:1 --to sys
    assert_json "$output" '.strategy' ioreq
    run_xgm 0 -j migrate vm1:1 --to vram
    assert_json "$output" '.strategy' mmio
    run_xgm 0 -j show vm1:1
    assert_json "$output" '[.entries, has("superpages_lost")]' '[{"order0":0,"order9":8},false]'
    check_clean
}

@test "lost superpages across commands: a grant blob, detached, leaves 4K tables; an mmio blob at its gfn gets 4096 4K entries, show says so, check warns with the cost" {
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy grant
    local g
    g=$(jq_of "$output" .gfn)
    run_xgm 0 -j detach vm1:1
    # a fresh, 2M-aligned range beside it for comparison
    run_xgm 0 -j attach vm1 --size 16M --gfn "$((g + 0x10000))"
    assert_json "$output" '.entries' '{"order0":0,"order9":8}'
    run_xgm 0 -j attach vm1 --size 16M --gfn "$g"
    assert_json "$output" '[.planned_entries, .entries]' '[{"order0":0,"order9":8},{"order0":4096,"order9":0}]'
    run_xgm 0 -j show vm1:3
    assert_json "$output" '.superpages_lost.extra_entries' 4088
    # The text says it too: what the p2m holds beside what was planned.
    run_xgm 0 -q show vm1:3
    contains "$output" "4096 x 4K (planned 8 x 2M"
    run_xgm 0 -j check
    assert_json "$output" '[.[] | [.severity, .check, .objects.blob]]' '[["warning","entries-exceed-plan","vm1:3"]]'
    assert_json "$output" '.[0].message | test("4088 more entries and [0-9]+ more hypercalls, ~[0-9]+ us modeled")' true
}

@test "migrate: a blob with --strategy mmio refuses --to sys (exit 1, names the fixed strategy), state byte-for-byte unchanged" {
    run_xgm 0 -j attach vm1 --size 16M --strategy mmio
    check_clean
    assert_json "$output" '.strategy_choice' user
    local before
    before=$(state_sum)

    run_xgm 1 migrate vm1:1 --to sys
    contains "$stderr" "strategy mmio"
    contains "$stderr" "vm1:1"
    is "$output" "" "migrate refused: nothing on stdout"
    assert_unchanged "$SIM_STATE" "$before"

    run_xgm 1 -j migrate vm1:1 --to sys
    assert_error_doc "$output" EPERM 1
    contains "$(jq -r .error.message <<<"$output")" "strategy mmio"
    assert_unchanged "$SIM_STATE" "$before"
    check_clean

    run_xgm 0 -j show vm1:1
    assert_json "$output" '[.placement, .strategy, .generation, .state]' '["vram","mmio",0,"mapped"]'
}

@test "migrate: a --placement sys --strategy grant blob is pinned: migrate refused with exit 1 (EBUSY: trying again cannot help), state unchanged" {
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy grant
    check_clean
    assert_json "$output" '[.placement, .strategy, .pinned]' '["sys","grant",true]'
    local before to
    before=$(state_sum)
    for to in vram sys; do
        run_xgm 1 migrate vm1:1 --to "$to"
        contains "$stderr" "pinned"
        contains "$stderr" "vm1:1"
        assert_unchanged "$SIM_STATE" "$before"
        run_xgm 1 -j migrate vm1:1 --to "$to"
        assert_error_doc "$output" EBUSY 16
        assert_unchanged "$SIM_STATE" "$before"
    done
    check_clean
}

# ---- detach --all, list, show, dump -----------------------------------

@test "detach DOM --all detaches every blob of DOM and only those; show of a detached blob exits 1" {
    local w
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    run_xgm 0 -j attach vm1 --size 32M --gfn "$(($(window_gfn vm1) + 0x10000 + 1))"
    check_clean
    run_xgm 0 -j attach vm2 --size 16M
    check_clean
    w=$(window_gfn vm1)
    assert_blob_ids vm1 '["vm1:1","vm1:2"]'
    assert_gpu_buffers 3

    run_xgm 0 -j detach vm1 --all
    check_clean
    assert_json "$output" '[.[].id]' '["vm1:1","vm1:2"]'
    assert_json "$output" '[.[].frames]' "[$PAGES_16M,$PAGES_32M]"

    run_xgm 0 -j list vm1
    assert_json "$output" '.' '[]'
    run_xgm 0 list vm1
    not_contains "$output" "vm1:" "list vm1 (text) after detach --all"
    run_xgm 0 -j list
    assert_json "$output" '[.[].id]' '["vm2:1"]'
    assert_p2m_empty vm1 "$w" "$((w + 0x10000 + PAGES_32M))"
    assert_gpu_buffers 1

    local before
    before=$(state_sum)
    run_xgm 1 show vm1:1
    contains "$stderr" "no blob vm1:1"
    run_xgm 1 -j show vm1:2
    assert_error_doc "$output" ENOENT 2
    # A detached blob cannot be detached again either.
    run_xgm 1 detach vm1:1
    contains "$stderr" "no blob vm1:1"
    assert_unchanged "$SIM_STATE" "$before"

    # --all on a domain with nothing attached: nothing to do.
    run_xgm 0 -j detach vm1 --all
    assert_json "$output" '.' '[]'
    check_clean
}

@test "dump -o FILE writes the whole state; check --input FILE finds it clean" {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    run_xgm 0 -j attach vm2 --size 32M --strategy mmio
    check_clean
    run_xgm 0 -j attach vm2 --size 16M --placement sys --strategy grant
    check_clean
    run_xgm 0 fill vm2:1
    check_clean

    local before
    before=$(state_sum)
    run_xgm 0 -j dump -o "$XGM_TMP/dump.json"
    assert_unchanged "$SIM_STATE" "$before" "dump must not change the state"
    [[ -s $XGM_TMP/dump.json ]] || die "dump -o did not write $XGM_TMP/dump.json"
    local d
    d=$(cat "$XGM_TMP/dump.json")
    is_one_json "$d" "dump file"
    assert_json "$d" '.schema' xgpumap-dump
    assert_json "$d" '[.blobs[] | .id] | sort' '["vm1:1","vm2:1","vm2:2"]'
    assert_json "$d" '.journal | length' 0

    run_xgm 0 -j check --input "$XGM_TMP/dump.json"
    assert_json "$output" '.' '[]'
    run_xgm 0 check --input "$XGM_TMP/dump.json"

    # Without -o, -j prints the same document on stdout.
    run_xgm 0 -j dump
    is_one_json "$output" "dump -j"
    assert_json "$output" '.schema' xgpumap-dump
    assert_json "$output" '[.blobs[] | .id] | sort' '["vm1:1","vm2:1","vm2:2"]'
}

@test "check --input: a file that is not a dump ({} or a sim state file) is a clear error, exit 1" {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    local before
    before=$(state_sum)

    printf '{}\n' >"$XGM_TMP/empty.json"
    run_xgm 1 check --input "$XGM_TMP/empty.json"
    contains "$stderr" "is not an xgpumap dump"
    run_xgm 1 -j check --input "$XGM_TMP/empty.json"
    assert_error_doc "$output" EBADMSG
    contains "$(jq -r .error.message <<<"$output")" "not an xgpumap dump"

    cp "$SIM_STATE" "$XGM_TMP/state-copy.json"
    run_xgm 1 check --input "$XGM_TMP/state-copy.json"
    contains "$stderr" "is not an xgpumap dump"
    contains "$stderr" "a simulated host's state"
    run_xgm 1 -j check --input "$XGM_TMP/state-copy.json"
    assert_error_doc "$output" EBADMSG

    printf 'not json at all\n' >"$XGM_TMP/garbage.json"
    run_xgm 1 check --input "$XGM_TMP/garbage.json"
    contains "$stderr" "cannot read dump"

    run_xgm 1 check --input "$XGM_TMP/does-not-exist.json"
    contains "$stderr" "does-not-exist.json"

    assert_unchanged "$SIM_STATE" "$before"
}

# ---- bad input: refused, clearly, and nothing changes ------------------
#
# Exit 2 for a usage error, 1 for well-formed input that is refused; every
# case also in -j (the JSON error document); the state file byte-for-byte
# unchanged. Each test first attaches vm1:1 so that a window and a blob
# exist to be disturbed. (A crashed target is not tested: no CLI command can
# crash a domain of the simulated host.)

attach_first() {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    W=$(window_gfn vm1)
    G1=$(jq_of "$output" .gfn)
}

@test "attach refuses an unknown domain (exit 1)" {
    attach_first
    assert_refused 1 ENOENT "no domain 'nosuch'" attach nosuch --size 16M
    assert_refused 1 ENOENT "no domain '99'" attach 99 --size 16M
    check_clean
}

@test "attach refuses dom0 as a target, by name Domain-0 and by id 0 (exit 1)" {
    attach_first
    assert_refused 1 EPERM "refusing to map into dom0" attach Domain-0 --size 16M
    assert_refused 1 EPERM "refusing to map into dom0" attach 0 --size 16M
    check_clean
}

@test "attach refuses vm3, a PV guest without a p2m (exit 1)" {
    attach_first
    assert_refused 1 EOPNOTSUPP "vm3 is a PV guest" attach vm3 --size 16M
    check_clean
}

@test "attach refuses size 0, 4097 (not a page multiple) and 65G (larger than the window) as usage errors (exit 2)" {
    attach_first
    assert_refused 2 EINVAL "--size" attach vm1 --size 0
    assert_refused 2 EINVAL "not a multiple of the 4 KiB page" attach vm1 --size 4097
    assert_refused 2 EINVAL "65 GiB does not fit the 64 GiB blob window" attach vm1 --size 65G
    check_clean
}

@test "attach refuses 17G, more than card0's 16G of VRAM (exit 1), leaving no trace" {
    attach_first
    local before
    before=$(state_sum)
    run_xgm 1 attach vm1 --size 17G
    contains "$stderr" "card0"
    like "$stderr" "no room|cannot fit" "attach --size 17G: the message says it does not fit"
    is "$output" "" "nothing on stdout"
    # check first: when something is left behind, its findings say what.
    check_clean
    assert_gpu_buffers 1
    assert_blob_ids vm1 '["vm1:1"]'
    assert_unchanged "$SIM_STATE" "$before"
    assert_refused 1 ENOSPC "card0" attach vm1 --size 17G
    check_clean
}

@test "attach --gfn refuses RAM (0x1000), another blob, and a range leaving the window" {
    attach_first
    # Over vm1's RAM: below the window.
    assert_refused 2 EINVAL "is outside vm1's blob window" attach vm1 --size 16M --gfn 0x1000
    # Over vm1:1, at its start and in its middle.
    assert_refused 1 EEXIST "overlaps blob vm1:1" attach vm1 --size 16M --gfn "$G1"
    assert_refused 1 EEXIST "overlaps blob vm1:1" attach vm1 --size 16M --gfn "$((G1 + 100))"
    # The window is 64 GiB = 0x1000000 frames: starting inside, ending out.
    assert_refused 2 EINVAL "is outside vm1's blob window" attach vm1 --size 16M --gfn "$((W + 0x1000000 - 10))"
    # Entirely past it.
    assert_refused 2 EINVAL "is outside vm1's blob window" attach vm1 --size 16M --gfn "$((W + 0x1000000))"
    check_clean
}

@test "attach refuses an unknown strategy, grant for VRAM and mmio for system RAM (exit 2)" {
    attach_first
    assert_refused 2 EINVAL "unknown strategy 'nosuch'" attach vm1 --size 16M --strategy nosuch
    assert_refused 2 EINVAL "strategy grant cannot map VRAM" attach vm1 --size 16M --strategy grant --placement vram
    assert_refused 2 EINVAL "strategy mmio cannot map system RAM" attach vm1 --size 16M --strategy mmio --placement sys
    check_clean
}

@test "malformed BLOB ids are usage errors (exit 2); an unknown domain in a well-formed id exits 1" {
    attach_first
    local id cmd
    for id in vm1 vm1: :1 vm1:x; do
        for cmd in show detach; do
            assert_refused 2 EINVAL "'$id' is not a blob id" "$cmd" "$id"
        done
    done
    # Every command taking a BLOB parses it the same way.
    assert_refused 2 EINVAL "'vm1:' is not a blob id" fill vm1:
    assert_refused 2 EINVAL "':1' is not a blob id" verify :1
    assert_refused 2 EINVAL "'vm1:x' is not a blob id" migrate vm1:x --to vram
    # BLOB is DOM:N split at the LAST colon (a domain name may hold ':');
    # with no domain "vm1:1", vm1:1:2 is malformed (issue 13).
    assert_refused 2 EINVAL "'vm1:1:2' is not a blob id" show vm1:1:2
    assert_refused 2 EINVAL "'vm1:1:2' is not a blob id" detach vm1:1:2
    assert_refused 1 ENOENT "no domain 'nosuch'" show nosuch:1
    assert_refused 1 ENOENT "no domain 'nosuch'" detach nosuch:1
    assert_refused 1 ENOENT "no domain 'nosuch'" migrate nosuch:1 --to vram
    # Well-formed, the domain exists, the blob does not.
    assert_refused 1 ENOENT "no blob vm1:99" show vm1:99
    assert_refused 1 ENOENT "no blob vm1:99" detach vm1:99
    check_clean
    assert_blob_ids vm1 '["vm1:1"]'
}
