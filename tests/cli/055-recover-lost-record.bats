#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# recover is safe by construction: it never frees a buffer whose frames a
# guest still maps. A blob record lost behind the engine's back (deleted
# from the store, as a test can do) leaves mappings nobody records: recover
# unmaps them first, the way detach would, and frees the buffer only then;
# where it cannot unmap, it frees nothing and says why. The mirror case, a
# record whose buffer is gone, loses its mapping. A malformed journal
# record is named, never printed as "(null)", and `recover --discard SEQ`
# drops it without leaving a guest mapped to what is freed.
#
# Every strategy the default simulated host supports, with the placement it
# maps: mmio (vram), grant (sys), ioreq (vram and sys), ram-mmio (sys),
# transfer (sys), revoke-fault (vram).

load helpers
load helpers.engine

STRATEGIES=("mmio vram" "grant sys" "ioreq vram" "ioreq sys" "ram-mmio sys"
    "transfer sys" "revoke-fault vram")

# ---- editing the state behind the engine's back -------------------------

# lose_record DOMID N: the blob record goes, nothing else.
lose_record() {
    store_del "/xgpumap/blob/$1/$2"
}

# lose_buffer BUF: the GPU buffer goes from card0 (as if the driver freed
# it), its blob record stays.
lose_buffer() {
    driver_free "$1"
}

# journal_edit SEQ JQ_FILTER: rewrites journal record SEQ (a JSON text in
# the store) with a jq filter applied to the parsed record.
journal_edit() {
    local v
    v=$(store_get "/xgpumap/journal/$1" | jq -c "$2") || { die "jq '$2' failed"; return 1; }
    store_put "/xgpumap/journal/$1" "$v"
}

# journal_seqs: the numbers of the open journal records, one a line.
journal_seqs() {
    store_keys /xgpumap/journal/
}

# ---- assertions ---------------------------------------------------------

# assert_no_entry_to_frames DOM BACKING: no entry of DOM's p2m maps a
# frame of BACKING ([{"mfn":..,"nr":..}], as show -j gives it). dom0's own
# view (its RAM, its identity map of the BAR) is how the driver reaches
# its buffers, not a mapping of them.
assert_no_entry_to_frames() {
    local dom=$1 backing=$2 j hits
    j=$(xgm_q p2m "$dom") || return 1
    hits=$(printf '%s' "$j" | jq -c --argjson b "$backing" --arg dom "$dom" '
        [.[] | select($dom != "Domain-0" or
                      ((.type | startswith("ram") | not) and
                       (.type != "mmio_direct" or .gfn != .mfn)))
             | . as $r
             | select(any($b[]; .mfn <= ($r.mfn + $r.gfn_last - $r.gfn) and
                                $r.mfn <= (.mfn + .nr - 1)))]') || return 1
    is "$hits" "[]" "p2m $dom: entries that map the freed frames $backing" || return 1
}

# assert_nothing_reaches BACKING FIRST LAST: after recover, no guest maps
# the frames, vm1 reads nothing of the old buffer over its old range, and
# the buffer is gone.
assert_nothing_reaches() {
    local backing=$1 first=$2 last=$3 dom j hits
    check_clean "after recover" || return 1
    assert_p2m_empty vm1 "$first" "$last" || return 1
    for dom in vm1 vm2 Domain-0; do
        # A PV dom0 has no p2m, only its own pfn list.
        j=$(xgm_q domain show "$dom") || return 1
        [[ $(jq_of "$j" .type) == pv ]] && continue
        assert_no_entry_to_frames "$dom" "$backing" || return 1
    done
    assert_guest_all_ones vm1 "$first" "$last" || return 1
    assert_gpu_buffers 0 "no buffer is left" || return 1
    # Nor does a device of vm1, where its IOMMU tables are its own (AMD).
    j=$(xgm_q iommu vm1) || return 1
    hits=$(printf '%s' "$j" | jq -c --argjson b "$backing" '
        [(.runs // [])[] | . as $r
         | select(any($b[]; .mfn <= ($r.mfn + $r.dfn_last - $r.dfn) and
                            $r.mfn <= (.mfn + .nr - 1)))]') || return 1
    is "$hits" "[]" "iommu vm1: runs that reach the freed frames $backing" || return 1
}

# attach_filled STRATEGY PLACEMENT: attaches a 4 MiB blob to vm1, fills it,
# makes the guest read it (which lets revoke-fault map what it touched).
# Sets ID, N, FIRST, LAST, BUF, BACKING.
attach_filled() {
    local j
    j=$(xgm_q attach vm1 --size 4M --placement "$2" --strategy "$1") || return 1
    ID=$(jq_of "$j" .id) && FIRST=$(jq_of "$j" .gfn) && LAST=$(jq_of "$j" .gfn_last) || return 1
    N=${ID#vm1:}
    j=$(xgm_q show "$ID") || return 1
    BACKING=$(jq_of "$j" '.backing | tojson') || return 1
    # The only buffer on card0 is the blob's.
    j=$(xgm_q gpu show card0) || return 1
    BUF=$(jq_of "$j" '.buffers | if length == 1 then .[0].id else error("not one buffer") end') || return 1
    xgm_q fill "$ID" >/dev/null || return 1
    assert_guest_sees "$ID" vm1 "$FIRST" "$LAST" || return 1
}

# findings_of: the check ids of `check -j`, sorted and unique (check exits
# 1 when it finds an error; that is expected here).
findings_of() {
    "$XGPUMAP" --sim-state "$SIM_STATE" -j check | jq -c '[.[].check] | unique'
}

# fresh_host [SIM INIT OPTIONS]: a new simulated host with the hypervisor
# extensions, so that every strategy, ram-mmio and transfer too, can map;
# with STOCK=1 the default host, stock Xen.
fresh_host() {
    rm -f -- "$SIM_STATE"
    if [[ ${STOCK:-} == 1 ]]; then
        run_xgm 0 -q sim init "$@"
    else
        run_xgm 0 -q sim init --extensions ram-mmio,transfer "$@"
    fi
}

# ---- a lost blob record -------------------------------------------------

lost_record_case() {
    local s=$1 p=$2 f rows
    fresh_host "${@:3}" || return 1
    attach_filled "$s" "$p" || return 1
    # auto: the strategy it chose.
    s=$(jq_of "$(xgm_q show "$ID")" .strategy) || return 1
    lose_record 1 "$N" || return 1
    # check sees what the lost record leaves: the buffer, and the mapping
    # (p2m entries, or the ioreq claim for ioreq).
    f=$(findings_of) || return 1
    contains "$f" '"orphan-buffer"' "$s: check before recover" || return 1
    if [[ $s == ioreq ]]; then
        contains "$f" '"orphan-ioreq-claim"' "$s: check before recover" || return 1
    else
        contains "$f" '"orphan-special-entry"' "$s: check before recover" || return 1
    fi
    run_xgm 0 -j recover || return 1
    rows=$output
    assert_nothing_reaches "$BACKING" "$FIRST" "$LAST" || return 1
    # The mapping went first, then the buffer.
    jq_is "$rows" '[.[] | select(.op == "orphan-mapping") | [.domain, .gfn, .gfn_last, .action]] | unique' \
        "[[\"vm1\",$FIRST,$LAST,\"unmapped\"]]" "$s: recover's orphan-mapping rows" || return 1
    jq_is "$rows" '[.[] | .op] | [index("orphan-mapping") < index("orphan-buffer")]' '[true]' \
        "$s: recover unmaps before it frees" || return 1
    jq_is "$rows" "[.[] | select(.op == \"orphan-buffer\") | [.buf, .action]]" "[[$BUF,\"freed\"]]" \
        "$s: recover's orphan-buffer row" || return 1
    # The frames go to someone else now; vm1 still reads none of them.
    xgm_q attach vm2 --size 4M --placement "$p" >/dev/null || return 1
    xgm_q fill vm2:1 >/dev/null || return 1
    assert_guest_all_ones vm1 "$FIRST" "$LAST" || return 1
    check_clean "after vm2 took the frames" || return 1
}

@test "lost blob record, every strategy: recover unmaps the orphaned mapping, then frees; check clean, no p2m entry to the frames, the guest reads nothing of them" {
    fault_loop_begin
    for sp in "${STRATEGIES[@]}"; do
        fault_case "lost record: $sp" lost_record_case $sp
    done
    # Separate IOMMU tables; a PV dom0 whose system RAM is scattered.
    fault_case "lost record, AMD IOMMU: grant sys" lost_record_case grant sys --iommu amd
    fault_case "lost record, AMD IOMMU: mmio vram" lost_record_case mmio vram --iommu amd
    fault_case "lost record, PV dom0: grant sys" lost_record_case grant sys --dom0 pv
    fault_case "lost record, PV dom0: ram-mmio sys" lost_record_case ram-mmio sys --dom0 pv
    fault_loop_end
}

@test "lost blob record on the default (stock Xen) host, every strategy it has: recover unmaps, then frees; the guest reads nothing" {
    local sp
    fault_loop_begin
    for sp in "mmio vram" "grant sys" "ioreq vram" "ioreq sys" "revoke-fault vram"; do
        STOCK=1 fault_case "lost record, stock host: $sp" lost_record_case $sp
    done
    # What auto picks there, for each placement.
    STOCK=1 fault_case "lost record, stock host: auto vram" lost_record_case auto vram
    STOCK=1 fault_case "lost record, stock host: auto sys" lost_record_case auto sys
    fault_loop_end
}

# ---- the mirror case: a record whose buffer is gone ---------------------

lost_buffer_case() {
    local s=$1 p=$2 rows
    fresh_host || return 1
    attach_filled "$s" "$p" || return 1
    lose_buffer "$BUF" || return 1
    contains "$(findings_of)" '"backing-current"' "$s: check sees the buffer gone" || return 1
    run_xgm 0 -j recover || return 1
    rows=$output
    assert_nothing_reaches "$BACKING" "$FIRST" "$LAST" || return 1
    assert_blob_ids vm1 "[]" || return 1
    jq_is "$rows" '[.[] | [.op, .blob, .action]]' \
        "[[\"buffer-gone\",\"$ID\",\"unmapped, record dropped\"]]" "$s: recover's rows" || return 1
}

@test "a record whose buffer is gone, every strategy: recover unmaps it and drops the record; check clean, the guest reads nothing" {
    fault_loop_begin
    for sp in "${STRATEGIES[@]}"; do
        fault_case "buffer gone: $sp" lost_buffer_case $sp
    done
    fault_loop_end
}

# ---- where the mapping cannot be undone, nothing is freed ---------------

refused_case() {
    local s=$1 p=$2 point=$3 before
    fresh_host || return 1
    attach_filled "$s" "$p" || return 1
    lose_record 1 "$N" || return 1
    before=$(state_sum)
    xgm_inject FAULT "$point" 1 recover || return 1
    contains "$stderr" "cannot unmap domain vm1's orphaned" "$s: the refusal" || return 1
    contains "$stderr" "$(printf 'gfn 0x%x-0x%x' "$FIRST" "$LAST")" "$s: the refusal names the gfns" || return 1
    contains "$stderr" "nothing is freed" "$s: the refusal" || return 1
    assert_unchanged "$SIM_STATE" "$before" "$s: a refused recover" || return 1
    assert_gpu_buffers 1 "$s: the buffer is still there" || return 1
    # Once the fault is gone, recover does it all.
    run_xgm 0 -j recover || return 1
    assert_nothing_reaches "$BACKING" "$FIRST" "$LAST" || return 1
}

@test "an orphaned mapping recover cannot unmap: exit 1 naming domain, gfns and frames, nothing freed, state unchanged" {
    fault_loop_begin
    fault_case "mmio" refused_case mmio vram memory_mapping:1
    fault_case "grant" refused_case grant sys grant_unmap:1
    fault_case "ram-mmio" refused_case ram-mmio sys ram_mmio_unmap:1
    fault_case "transfer" refused_case transfer sys transfer_back:1
    fault_case "ioreq" refused_case ioreq sys ioreq_map_range:1
    fault_loop_end
}

@test "a buffer still mapped where recover cannot see it (record and window lost) is never freed: recover refuses, naming domain, gfns and frames" {
    local mfn before
    attach_filled grant sys
    lose_record 1 "$N"
    store_del /xgpumap/window/1
    before=$(state_sum)
    run_xgm 1 recover
    mfn=$(jq -r '.[0].mfn' <<<"$BACKING")
    contains "$stderr" "GPU buffer $BUF is still mapped: domain vm1 maps its frames at gfn $(printf '0x%x-0x%x' "$FIRST" "$LAST")"
    contains "$stderr" "$(printf 'mfn 0x%x-0x%x, grant_map_rw' "$mfn" $((mfn + LAST - FIRST)))"
    assert_unchanged "$SIM_STATE" "$before" "a refused recover"
    assert_gpu_buffers 1
    # The guest still reads the buffer, which is still there: not freed.
    run_xgm 0 -j sim guest-read vm1 "$FIRST-$LAST"
    assert_json "$output" '[.runs[].reads] | unique' '["tag"]'
}

# ---- malformed journal records (issue 13) -------------------------------

@test "a malformed journal record: check and recover name what is wrong (never '(null)'), recover changes nothing, --discard drops it" {
    local before
    run_xgm 0 attach vm1 --size 4M
    # One record without a phase, one that is not even JSON.
    store_put /xgpumap/journal/7 '{"op":"attach","domid":1,"n":1}'
    store_put /xgpumap/journal/8 'garbage{'
    run_xgm 1 check
    not_contains "$output$stderr" "(null)"
    contains "$output" "journal record 7 is malformed: the attach names no phase"
    contains "$output" "journal record 8 is malformed: its text is not valid JSON"
    contains "$output" "recover --discard 7"
    # vm1:1 is named by record 7: detach is refused, and says why.
    run_xgm 1 detach vm1:1
    not_contains "$stderr" "(null)"
    contains "$stderr" "journal record 7 names vm1:1 but is malformed"
    before=$(state_sum)
    run_xgm 1 recover
    not_contains "$stderr" "(null)"
    contains "$stderr" "journal record 7 is malformed (the attach names no phase); nothing was recovered"
    contains "$stderr" "'xgpumap recover --discard 7'"
    assert_unchanged "$SIM_STATE" "$before" "recover with a malformed record"
    # Two bad records do not block each other's discard.
    run_xgm 0 -j recover --discard 7
    jq_is "$output" '[.[] | [.seq, .op]]' '[[7,"discard"],[8,"malformed"]]'
    is "$(journal_seqs)" "8"
    run_xgm 0 -j recover --discard 8
    is "$(journal_seqs)" ""
    check_clean "after both discards"
    # The blob was whole: it stays, and the guest still reads it.
    run_xgm 0 fill vm1:1
    run_xgm 0 sim guest-read vm1 0x80000-0x803ff --expect vm1:1
    run_xgm 0 detach vm1:1
    check_clean
}

@test "recover --discard: usage errors exit 2, an unknown record exits 1, state unchanged" {
    run_xgm 0 attach vm1 --size 4M
    assert_refused 2 EINVAL "--discard takes a journal record number" recover --discard x
    assert_refused 2 EINVAL "--discard takes a journal record number" recover --discard 0
    assert_refused 2 EINVAL "--discard takes a journal record number" recover --discard -1
    assert_refused 2 EINVAL "--discard takes a journal record number" recover --discard 0x10
    assert_refused 2 EINVAL "needs a value" recover --discard
    assert_refused 2 EINVAL "unexpected argument" recover 7
    assert_refused 1 ENOENT "there is no journal record 99" recover --discard 99
}

# discard_half_done_case STRATEGY PLACEMENT CRASH_POINT: an attach killed
# while mapping leaves a blob half mapped; its journal record is then
# corrupted. Discarding the record must not leave the guest mapped to the
# buffer recover frees.
discard_half_done_case() {
    local s=$1 p=$2 point=$3 seq j first last backing
    fresh_host || return 1
    # The window first, then a blob one page past its start: off 2M
    # alignment, so mmio takes 64 memory_mapping calls too.
    run_xgm 0 attach vm1 --size 4M || return 1
    run_xgm 0 detach vm1:1 || return 1
    xgm_inject CRASH "$point" 137 attach vm1 --size 16M --placement "$p" --strategy "$s" \
        --gfn "$(($(window_gfn vm1) + 1))" || return 1
    j=$(xgm_q show vm1:2) || return 1
    jq_is "$j" .state '"attaching"' "$s: the blob is half done" || return 1
    first=$(jq_of "$j" .gfn) && last=$(jq_of "$j" .gfn_last) || return 1
    backing=$(jq_of "$j" '.backing | tojson') || return 1
    # The guest reaches part of the buffer right now.
    j=$(xgm_q p2m vm1 --gfn "$first-$last") || return 1
    jq_is "$j" 'length > 0' true "$s: the guest maps part of the blob" || return 1
    seq=$(journal_seqs) || return 1
    journal_edit "$seq" '.phase = "bogus"' || return 1
    run_xgm 1 recover || return 1
    contains "$stderr" "phase 'bogus' is not one of attach's" || return 1
    run_xgm 0 -j recover --discard "$seq" || return 1
    jq_is "$output" '[.[] | select(.op == "discard") | [.seq, .blob]]' "[[$seq,\"vm1:2\"]]" || return 1
    contains "$output" "unmapped and freed" "$s: discard says what it undid" || return 1
    assert_blob_ids vm1 "[]" || return 1
    assert_nothing_reaches "$backing" "$first" "$last" || return 1
}

@test "recover --discard of a record whose blob is half mapped unmaps it before anything is freed" {
    fault_loop_begin
    fault_case "mmio" discard_half_done_case mmio vram memory_mapping:10
    fault_case "grant" discard_half_done_case grant sys grant_map:100
    fault_case "ram-mmio" discard_half_done_case ram-mmio sys ram_mmio_map:10
    fault_case "transfer" discard_half_done_case transfer sys transfer:10
    fault_loop_end
}

@test "recover --discard is in --help, the man page and the completion" {
    run_xgm 0 recover --help
    contains "$output" "--discard SEQ"
    grep -qF '.It Cm recover Op Fl -discard Ar SEQ' "$XGM_MAN1" || die "xgpumap.1 lacks recover --discard"
    run_xgm 0 __complete recover --
    contains "$output" "--discard"
}

@test "a migration that failed before the copy and was killed while rolling back: recover finishes it (its record has no new backing)" {
    run_xgm 0 attach vm1 --size 4M
    run_xgm 0 fill vm1:1
    run --separate-stderr env XGPUMAP_FAULT=buf_alloc:1 XGPUMAP_CRASH=migrate:rolling-back:1 \
        "$XGPUMAP" --sim-state "$SIM_STATE" migrate vm1:1 --to sys
    is "$status" 137 "the migration was killed while rolling back"
    run_xgm 0 -j recover
    jq_is "$output" '[.[] | [.op, .phase, .blob]]' '[["migrate","rolling-back","vm1:1"]]'
    check_clean "after recover"
    assert_gpu_buffers 1 "the blob's buffer, and no copy"
    run_xgm 0 sim guest-read vm1 0x80000-0x803ff --expect vm1:1
    # Not pinned by the interrupted copy any more: it can move.
    run_xgm 0 migrate vm1:1 --to sys
}

# dom0_grants: how many grants dom0's table holds.
dom0_grants() {
    local j
    j=$(xgm_q sim show) || return 1
    jq_of "$j" '.domains[] | select(.name == "Domain-0") | .grants'
}

@test "a grant made but never written down (kill -9 before its record): recover ends it before the buffer is freed" {
    # store_write 11 is the record after the first batch of grant_access
    # (a batch is 512 pages; 1M is 256; the blob's span is written before
    # its first record): the grants exist, no record names their
    # references.
    xgm_inject CRASH store_write:11 137 attach vm1 --size 1M --placement sys --strategy grant
    is "$(dom0_grants)" 256 "a batch of grants nobody recorded"
    contains "$(findings_of)" '"orphan-grant"' "check sees the grant nobody recorded"
    run_xgm 0 recover
    is "$(dom0_grants)" 0 "no grant is left to the freed frames"
    check_clean "after recover"
    assert_gpu_buffers 0
}
