#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Placing a blob reads the spans of the domain's others
# (/xgpumap/span/DOMID/N = [gfn, frames], lib/core/span.c), not their
# records, and showing a list reads the records but not the costs of their
# operations (/xgpumap/cost/DOMID/N). Neither shortcut may ever place a
# blob over another: a record with no span (an earlier xgpumap wrote it)
# is read whole, and a span with no record keeps its range until recover
# drops it.

load helpers
load helpers.engine

# gfn_of BLOB: the blob's first gfn, in decimal.
gfn_of() {
    xgm_q show "$1" | jq -r .gfn
}

@test "every blob has its span and its costs beside its record; detach removes all three" {
    run_xgm 0 -j attach vm1 --size 2M
    run_xgm 0 -j attach vm1 --size 4M
    check_clean
    assert_json "$(store_get /xgpumap/span/1/2)" '.' "[$(gfn_of vm1:2),1024]"
    assert_json "$(store_get /xgpumap/cost/1/2)" '.attach.hypercalls' 2
    # The record itself keeps no costs.
    assert_json "$(store_get /xgpumap/blob/1/2)" 'has("ops")' false
    run_xgm 0 -j show vm1:2
    assert_json "$output" '.ops.attach.hypercalls' 2
    run_xgm 0 -j detach vm1:2
    check_clean
    is "$(store_keys /xgpumap/span/1/)" "1" "spans left after detach"
    is "$(store_keys /xgpumap/cost/1/)" "1" "costs left after detach"
    is "$(store_keys /xgpumap/blob/1/)" "1" "records left after detach"
}

@test "a record with no span, as an earlier xgpumap wrote it (costs inside), still keeps its range: the next attach goes past it" {
    local g1 g2 rec
    run_xgm 0 -j attach vm1 --size 2M
    run_xgm 0 -j attach vm1 --size 2M --strategy revoke-fault
    g1=$(gfn_of vm1:1)
    g2=$(gfn_of vm1:2)
    # vm1:2 as an earlier version stored it: no span, the costs inside.
    rec=$(store_get /xgpumap/blob/1/2 |
        jq -c --argjson c "$(store_get /xgpumap/cost/1/2)" '. + {ops: $c}')
    store_put /xgpumap/blob/1/2 "$rec"
    store_del /xgpumap/span/1/2
    store_del /xgpumap/cost/1/2
    # revoke-fault maps nothing until touched: only the record says the
    # range is taken, so the p2m cannot catch a wrong placement.
    run_xgm 0 -j attach vm1 --size 2M --strategy revoke-fault
    check_clean
    assert_json "$output" '.gfn' "$((g2 + 512))"
    run_xgm 0 -j show vm1:2
    assert_json "$output" '.ops.attach.hypercalls | . > 0' true
    assert_json "$output" '.gfn' "$g2"
    # Its next write moves the costs out of the record.
    run_xgm 0 -j migrate vm1:2 --to vram
    check_clean
    assert_json "$(store_get /xgpumap/blob/1/2)" 'has("ops")' false
    assert_json "$(store_get /xgpumap/cost/1/2)" 'has("attach") and has("migrate")' true
    [[ $g1 -lt $g2 ]] || die "vm1:1 at $g1 should come before vm1:2 at $g2"
}

@test "a span no record names keeps its range until recover drops it; then the range is used again" {
    local w
    run_xgm 0 -j attach vm1 --size 2M
    w=$(gfn_of vm1:1)
    # What an attach killed between its span and its record leaves.
    store_put /xgpumap/span/1/9 "[$((w + 512)),512]"
    run_xgm 0 -j attach vm1 --size 2M
    assert_json "$output" '.gfn' "$((w + 1024))"
    check_clean
    run_xgm 0 -j recover
    assert_json "$output" '[.[] | select(.op == "span")] | length' 1
    assert_json "$output" '[.[] | select(.op == "span")][0].blob' '"1:9"'
    is "$(store_get /xgpumap/span/1/9)" "" "the stale span after recover"
    run_xgm 0 -j attach vm1 --size 2M
    assert_json "$output" '.gfn' "$((w + 512))"
    check_clean
    # Nothing stale is left: recover has nothing to do.
    run_xgm 0 -j recover
    assert_json "$output" 'length' 0
}

@test "a malformed span is refused by the attach that reads it, naming the key, and the state is left as it was" {
    local before
    run_xgm 0 -j attach vm1 --size 2M
    store_put /xgpumap/span/1/1 '[1]'
    before=$(state_sum)
    run_xgm 1 attach vm1 --size 2M
    contains "$stderr" "/xgpumap/span/1/1 is not a span"
    assert_unchanged "$SIM_STATE" "$before"
    store_put /xgpumap/span/1/1 '{"gfn":1}'
    run_xgm 1 attach vm1 --size 2M
    contains "$stderr" "is not a span"
}
