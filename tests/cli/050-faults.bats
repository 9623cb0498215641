#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Failure injection at every step of attach, migrate and detach.
#
# The engine passes every backend call and every journal phase through a
# fault point (lib/core/hv.c, lib/core/journal.c, lib/core/store.c):
#
#   XGPUMAP_FAULT=NAME:N   the Nth call of NAME in the process fails with EIO
#   XGPUMAP_CRASH=NAME:N   at the Nth call of NAME: sync the state, _exit(137)
#                          (what kill -9 at that instant leaves)
#
# NAME is a backend call (iomem_permission, memory_mapping, buf_alloc,
# buf_free, buf_copy, buf_pin, grant_access, grant_map, grant_unmap,
# grant_end, store_write) or a journal phase (attach:intent,
# attach:allocated, migrate:intent, migrate:copied, migrate:switched,
# detach:intent).
#
# After an injected FAULT the command exits 1 and check holds: the
# operation is undone or finished, never left half done. After an injected
# CRASH the command exits 137, `recover` exits 0, check holds, and the blob
# is either fully mapped (the guest reads its data) or fully gone (nothing
# in the p2m, its buffer freed).
#
# Every case starts from the same saved state; all cases of a test run, and
# the test reports every failing case at the end.
#
# The blob is 16 MiB at one page past the window start: off 2M alignment,
# so 4096 order-0 entries, mapped in 64 memory_mapping calls of 64.

load helpers
load helpers.engine

# ---- per-case checks ----------------------------------------------------

# blob_whole_or_gone BLOB DOM FIRST LAST TYPE NR_OTHER_BUFFERS
#   After recover: either BLOB is mapped over all of FIRST..LAST with p2m
#   TYPE and the guest reads its data (after a fresh fill), or it is gone:
#   not listed, nothing in the p2m, the guest reads all-ones, its buffer
#   freed.
blob_whole_or_gone() {
    local blob=$1 dom=$2 first=$3 last=$4 type=$5 others=${6:-0} j
    j=$(xgm_q list "$dom") || return 1
    if [[ $j != "[]" ]]; then
        # Nothing but this blob, fully mapped where it was asked to be.
        jq_is "$j" '[.[] | [.id, .state, .gfn, .gfn_last]]' "[[\"$blob\",\"mapped\",$first,$last]]" \
            "list $dom after the operation: $blob fully mapped (or nothing)" || return 1
        assert_p2m_covers "$dom" "$first" "$last" "$type" || return 1
        assert_gpu_buffers "$((others + 1))" || return 1
        "$XGPUMAP" --sim-state "$SIM_STATE" -q fill "$blob" >/dev/null ||
            { die "fill $blob failed"; return 1; }
        check_clean "after fill $blob" || return 1
        assert_guest_sees "$blob" "$dom" "$first" "$last" || return 1
    else
        assert_p2m_empty "$dom" "$first" "$last" || return 1
        assert_guest_all_ones "$dom" "$first" "$last" || return 1
        assert_gpu_buffers "$others" "buffers left after $blob is gone" || return 1
    fi
}

# The blob, mapped and filled, survived: same gfns, the guest reads the
# same data, one buffer.
blob_intact() {
    local blob=$1 dom=$2 first=$3 last=$4 others=${5:-0} j
    j=$(xgm_q list "$dom") || return 1
    jq_is "$j" '[.[] | [.id, .state, .gfn, .gfn_last]]' "[[\"$blob\",\"mapped\",$first,$last]]" \
        "list $dom: $blob must still be mapped where it was" || return 1
    assert_guest_sees "$blob" "$dom" "$first" "$last" || return 1
    assert_gpu_buffers "$((others + 1))" "$blob: one buffer (no leaked copy)" || return 1
}

# ---- baselines ----------------------------------------------------------

# A host where vm1's window exists (attach + detach once), nothing attached.
# Sets W (window gfn), F and L (the test blob's first and last gfn).
baseline_window() {
    run_xgm 0 -j attach vm1 --size 16M
    check_clean
    W=$(window_gfn vm1)
    F=$((W + 1))
    L=$((W + PAGES_16M))
    run_xgm 0 detach vm1:1
    check_clean
}

# The plan of vm1:2, 16M of VRAM at W+1 from an attach's -j output: its
# backing is placed congruent to the gfn, so the 511 pages up to the first
# 2M boundary and the last page are 4K entries, the 7 chunks between 2M
# ones. Sets MM (its memory_mapping calls) and PERM (its iomem_permission
# calls, one per run of frames): where the fault points are.
test_blob_plan() {
    assert_json "$1" '[.id, .gfn, .gfn_last]' "[\"vm1:2\",$F,$L]"
    assert_json "$1" '.entries' '{"order0":512,"order9":7}'
    MM=$(jq_of "$1" .planned_hypercalls)
    PERM=$(($(jq_of "$1" .ops.attach.hypercalls) - MM))
    is "$((MM > 8 && PERM >= 1))" 1 "vm1:2: $MM memory_mapping and $PERM iomem_permission calls"
}

# ...and vm1:2 (test_blob_plan), filled.
baseline_mapped() {
    baseline_window
    run_xgm 0 -j attach vm1 --size 16M --gfn "$F"
    check_clean
    test_blob_plan "$output"
    run_xgm 0 fill vm1:2
    check_clean
    assert_guest_sees vm1:2 vm1 "$F" "$L"
}

# ---- attach -------------------------------------------------------------

attach_points() {
    ATTACH_POINTS=(
        attach:intent:1 buf_alloc:1 attach:allocated:1 iomem_permission:1
        memory_mapping:1 memory_mapping:2 "memory_mapping:$((MM / 2))"
        "memory_mapping:$MM"
        store_write:1 store_write:2 store_write:3 store_write:4 store_write:5
        store_write:6
    )
}

attach_fault_case() {
    restore_baseline attach
    xgm_inject FAULT "$1" 1 attach vm1 --size 16M --gfn "$F" || return 1
    check_clean "after FAULT $1" || return 1
    assert_blob_ids vm1 '[]' || return 1
    assert_p2m_empty vm1 "$W" "$L" || return 1
    assert_guest_all_ones vm1 "$F" "$L" || return 1
    assert_gpu_buffers 0 "buffers after a failed attach" || return 1
    # Nothing left in the way: the same attach now succeeds.
    run_xgm 0 -j attach vm1 --size 16M --gfn "$F" || return 1
    check_clean "after re-attach following FAULT $1" || return 1
}

attach_crash_case() {
    restore_baseline attach
    xgm_inject CRASH "$1" 137 attach vm1 --size 16M --gfn "$F" || return 1
    run_xgm 0 -j recover || return 1
    check_clean "after CRASH $1 + recover" || return 1
    blob_whole_or_gone vm1:2 vm1 "$F" "$L" mmio_direct 0 || return 1
}

@test "attach: an injected FAULT at every step exits 1 and leaves nothing: check clean, list and p2m window empty, no buffer" {
    baseline_window
    save_baseline attach
    run_xgm 0 -j attach vm1 --size 16M --gfn "$F"
    test_blob_plan "$output"
    attach_points
    restore_baseline attach
    # The boundary: the attach makes exactly MM memory_mapping calls, so a
    # fault at the next never fires.
    xgm_inject FAULT "memory_mapping:$((MM + 1))" 0 -j attach vm1 --size 16M --gfn "$F"
    assert_json "$output" '.ops.attach.hypercalls' "$((MM + PERM))"
    check_clean

    local p
    fault_loop_begin
    for p in "${ATTACH_POINTS[@]}"; do
        fault_case "attach FAULT $p" attach_fault_case "$p"
    done
    fault_loop_end
}

@test "attach: a CRASH (kill -9) at every step: exit 137, recover exits 0, check clean, blob fully mapped or fully gone" {
    baseline_window
    save_baseline attach
    run_xgm 0 -j attach vm1 --size 16M --gfn "$F"
    test_blob_plan "$output"
    attach_points
    restore_baseline attach
    local p
    fault_loop_begin
    for p in "${ATTACH_POINTS[@]}"; do
        fault_case "attach CRASH $p" attach_crash_case "$p"
    done
    fault_loop_end
}

# ---- migrate ------------------------------------------------------------
#
# vm1:2 moves within VRAM: unmap the old entries (memory_mapping calls
# 1..MM, iomem_permission 1..PERM revoke), map the new ones (calls from
# MM+1, iomem_permission from PERM+1 permit; the new backing is congruent
# to the gfn too). store_write: 1 journal-seq, 2 intent, 3 copied,
# 4 switched, 5 the blob record (1 is left out: like 2, nothing has
# happened yet).

migrate_points() {
    MIGRATE_POINTS=(
        migrate:intent:1 buf_alloc:1 buf_copy:1 migrate:copied:1
        iomem_permission:1 memory_mapping:1 "memory_mapping:$((MM / 2))"
        "memory_mapping:$MM" "iomem_permission:$((PERM + 1))"
        "memory_mapping:$((MM + 1))" "memory_mapping:$((MM + 2))"
        migrate:switched:1 buf_free:1
        store_write:2 store_write:3 store_write:4 store_write:5
    )
}

migrate_fault_case() {
    local point=$1 to=${2:-vram} base=${3:-migrate}
    restore_baseline "$base"
    xgm_inject FAULT "$point" 1 migrate vm1:2 --to "$to" || return 1
    check_clean "after FAULT $point" || return 1
    blob_intact vm1:2 vm1 "$F" "$L" || return 1
    run_xgm 0 verify vm1:2 || return 1
}

migrate_crash_case() {
    local point=$1 to=${2:-vram} base=${3:-migrate}
    restore_baseline "$base"
    xgm_inject CRASH "$point" 137 migrate vm1:2 --to "$to" || return 1
    run_xgm 0 -j recover || return 1
    check_clean "after CRASH $point + recover" || return 1
    blob_intact vm1:2 vm1 "$F" "$L" || return 1
    run_xgm 0 verify vm1:2 || return 1
}

# NOTE: needs the backend's buf_copy GPU op (without it every migrate
# fails before its copy with "this backend cannot copy GPU buffers").
@test "migrate: an injected FAULT at every step exits 1, check clean, the guest still reads the blob's data" {
    baseline_mapped
    save_baseline migrate
    migrate_points
    local p
    fault_loop_begin
    for p in "${MIGRATE_POINTS[@]}"; do
        fault_case "migrate FAULT $p" migrate_fault_case "$p"
    done
    fault_loop_end
}

@test "migrate: a CRASH (kill -9) at every step: exit 137, recover exits 0, check clean, the guest reads the blob's data" {
    baseline_mapped
    save_baseline migrate
    migrate_points
    local p
    fault_loop_begin
    for p in "${MIGRATE_POINTS[@]}"; do
        fault_case "migrate CRASH $p" migrate_crash_case "$p"
    done
    fault_loop_end
}

# A move between two backings the ioreq server answers for keeps the claim
# (released, the range would read all-ones) and revokes, copies and
# switches under it: permit the new frames, unmap what first touch mapped,
# copy, switch, record, revoke the old frames' permission, free.
@test "migrate a revoke-fault blob (revoke, copy, switch; the claim stays): FAULT and CRASH at every step" {
    baseline_window
    run_xgm 0 -j attach vm1 --size 16M --gfn "$F" --strategy revoke-fault
    check_clean
    run_xgm 0 fill vm1:2
    # The guest's reads map the chunks they touch.
    assert_guest_sees vm1:2 vm1 "$F" "$L"
    save_baseline rf
    # The claim is never released nor made again: a fault there cannot
    # hit the move.
    xgm_inject FAULT ioreq_map_range:1 0 migrate vm1:2 --to vram
    check_clean
    assert_guest_sees vm1:2 vm1 "$F" "$L"
    local p
    fault_loop_begin
    for p in migrate:intent:1 buf_alloc:1 iomem_permission:1 memory_mapping:1 \
        buf_copy:1 migrate:copied:1 migrate:switched:1 iomem_permission:2 \
        buf_free:1; do
        fault_case "revoke-fault migrate FAULT $p" migrate_fault_case "$p" vram rf
        fault_case "revoke-fault migrate CRASH $p" migrate_crash_case "$p" vram rf
    done
    fault_loop_end
}

@test "migrate to sys and back (auto switches strategy): FAULT and CRASH while mapping and unmapping system RAM" {
    baseline_mapped
    save_baseline migrate
    # Which strategy auto picks for system RAM depends on what the engine
    # implements; find out with one real migration, then inject at the
    # steps of that strategy.
    run_xgm 0 -j migrate vm1:2 --to sys
    check_clean
    local strat n
    strat=$(jq_of "$output" .strategy)
    n=$(jq_of "$output" .planned_hypercalls)
    save_baseline in-sys
    local -a to_sys back
    case $strat in
    grant)
        to_sys=(grant_access:1 grant_access:4096 grant_map:1 grant_map:2048 grant_map:4096)
        back=() # pinned: it cannot move back (tested in 040-engine.bats)
        ;;
    ioreq)
        # out of VRAM: unmap the mmio entries, revoke, claim the range;
        # back: release the range, permit, map again
        to_sys=(memory_mapping:1 "memory_mapping:$MM" iomem_permission:1 ioreq_map_range:1)
        back=(ioreq_map_range:1 iomem_permission:1 memory_mapping:1 memory_mapping:2)
        ;;
    ram-mmio)
        to_sys=(ram_mmio_map:1 "ram_mmio_map:$((n / 2 + 1))" "ram_mmio_map:$n")
        back=(ram_mmio_unmap:1)
        ;;
    *)
        die "auto picked strategy '$strat' for system RAM: add its fault points to this test"
        ;;
    esac
    local p
    fault_loop_begin
    for p in "${to_sys[@]}"; do
        fault_case "migrate --to sys ($strat) FAULT $p" migrate_fault_case "$p" sys migrate
        fault_case "migrate --to sys ($strat) CRASH $p" migrate_crash_case "$p" sys migrate
    done
    for p in "${back[@]}"; do
        fault_case "migrate --to vram from sys ($strat) FAULT $p" migrate_fault_case "$p" vram in-sys
        fault_case "migrate --to vram from sys ($strat) CRASH $p" migrate_crash_case "$p" vram in-sys
    done
    fault_loop_end
}

# ---- detach -------------------------------------------------------------
#
# store_write: 1 journal-seq, 2 intent, 3 the blob record (detaching).

detach_points() {
    DETACH_POINTS=(
        detach:intent:1 memory_mapping:1 "memory_mapping:$((MM / 2))"
        "memory_mapping:$MM" iomem_permission:1 buf_free:1 store_write:1
        store_write:2 store_write:3
    )
}

detach_fault_case() {
    restore_baseline detach
    xgm_inject FAULT "$1" 1 detach vm1:2 || return 1
    check_clean "after FAULT $1" || return 1
    blob_whole_or_gone vm1:2 vm1 "$F" "$L" mmio_direct 0 || return 1
}

detach_crash_case() {
    restore_baseline detach
    xgm_inject CRASH "$1" 137 detach vm1:2 || return 1
    run_xgm 0 -j recover || return 1
    check_clean "after CRASH $1 + recover" || return 1
    blob_whole_or_gone vm1:2 vm1 "$F" "$L" mmio_direct 0 || return 1
}

@test "detach: an injected FAULT at every step exits 1 and check holds: the blob fully mapped or fully gone" {
    baseline_mapped
    save_baseline detach
    detach_points
    local p
    fault_loop_begin
    for p in "${DETACH_POINTS[@]}"; do
        fault_case "detach FAULT $p" detach_fault_case "$p"
    done
    fault_loop_end
}

@test "detach: a CRASH (kill -9) at every step: exit 137, recover exits 0, check clean, the blob fully mapped or fully gone" {
    baseline_mapped
    save_baseline detach
    detach_points
    local p
    fault_loop_begin
    for p in "${DETACH_POINTS[@]}"; do
        fault_case "detach CRASH $p" detach_crash_case "$p"
    done
    fault_loop_end
}

# ---- grant: attach and detach of a pinned system-RAM blob -------------

grant_attach_case() {
    local mode=$1 point=$2
    restore_baseline grant-empty
    if [[ $mode == FAULT ]]; then
        xgm_inject FAULT "$point" 1 attach vm1 --size 16M --placement sys --strategy grant --gfn "$F" || return 1
        check_clean "after FAULT $point" || return 1
        assert_blob_ids vm1 '[]' || return 1
    else
        xgm_inject CRASH "$point" 137 attach vm1 --size 16M --placement sys --strategy grant --gfn "$F" || return 1
        run_xgm 0 -j recover || return 1
        check_clean "after CRASH $point + recover" || return 1
    fi
    blob_whole_or_gone vm1:2 vm1 "$F" "$L" grant_map_rw 0 || return 1
}

grant_detach_case() {
    local mode=$1 point=$2
    restore_baseline grant-mapped
    if [[ $mode == FAULT ]]; then
        xgm_inject FAULT "$point" 1 detach vm1:2 || return 1
    else
        xgm_inject CRASH "$point" 137 detach vm1:2 || return 1
        run_xgm 0 -j recover || return 1
    fi
    check_clean "after $mode $point" || return 1
    blob_whole_or_gone vm1:2 vm1 "$F" "$L" grant_map_rw 0 || return 1
}

@test "grant blob (sys, pinned): FAULT and CRASH at every grant step of attach and detach" {
    baseline_window
    save_baseline grant-empty
    run_xgm 0 -j attach vm1 --size 16M --placement sys --strategy grant --gfn "$F"
    check_clean
    assert_json "$output" '[.id, .pinned, .entries.order0]' '["vm1:2",true,4096]'
    run_xgm 0 fill vm1:2
    check_clean
    save_baseline grant-mapped

    local p mode
    fault_loop_begin
    for mode in FAULT CRASH; do
        for p in grant_access:1 grant_map:1 grant_map:4096 buf_pin:1; do
            fault_case "grant attach $mode $p" grant_attach_case "$mode" "$p"
        done
        for p in grant_unmap:1 grant_unmap:2000 grant_end:4096 buf_pin:1 buf_free:1; do
            fault_case "grant detach $mode $p" grant_detach_case "$mode" "$p"
        done
    done
    fault_loop_end
}

# ---- a real kill -9 in the middle of migrations ------------------------

@test "kill -9 during migrate --repeat 200 of a 64M blob: recover, check clean, the guest reads the blob's data" {
    baseline_window
    local f=$W l=$((W + 16384 - 1))
    run_xgm 0 -j attach vm1 --size 64M --gfn "$((W + 1))"
    check_clean
    f=$(jq_of "$output" .gfn)
    l=$(jq_of "$output" .gfn_last)
    is "$((l - f + 1))" 16384 "64M blob frames"
    run_xgm 0 fill vm1:2 --seed 3
    check_clean
    assert_guest_sees vm1:2 vm1 "$f" "$l"

    local before pid rc=0 i
    before=$(state_sum)
    "$XGPUMAP" --sim-state "$SIM_STATE" -q migrate vm1:2 --to vram --repeat 200 \
        >"$XGM_TMP/mig.out" 2>"$XGM_TMP/mig.err" &
    pid=$!
    # Wait until the migration has written its first journal record (the
    # state file is replaced on every sync), then let it run a little.
    for ((i = 0; i < 400; i++)); do
        [[ $(state_sum) != "$before" ]] && break
        sleep 0.025
    done
    sleep 0.3
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    # 137 = killed by SIGKILL: the migrations were still running.
    is "$rc" 137 "exit status of the killed migrate --repeat 200 (stderr: $(cat "$XGM_TMP/mig.err"))"

    run_xgm 0 -j recover
    check_clean "after kill -9 + recover"
    run_xgm 0 -j list vm1
    assert_json "$output" '[.[] | [.id, .state, .gfn, .gfn_last]]' "[[\"vm1:2\",\"mapped\",$f,$l]]"
    assert_p2m_covers vm1 "$f" "$l" mmio_direct
    assert_guest_sees vm1:2 vm1 "$f" "$l"
    run_xgm 0 verify vm1:2
    # And it can still move.
    run_xgm 0 -j migrate vm1:2 --to vram
    check_clean
    assert_guest_sees vm1:2 vm1 "$f" "$l"
}
