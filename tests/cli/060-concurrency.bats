#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Separate invocations on one state file compose as they would on a real
# host: each command holds the lock for its whole run and replaces the file
# atomically, so parallel writers lose no update and readers never see a
# partial file.

load helpers

setup() {
    basic_setup
    run_xgm 0 -q sim init
}

@test "parallel attaches on one state file lose no update" {
    local pids=() i rc=0
    for i in $(seq 1 8); do
        "$XGPUMAP" -q --sim-state "$SIM_STATE" attach vm1 --size 2M --label "p$i" \
            >"$XGM_TMP/out.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { rc=$?; cat "$XGM_TMP/out.$((i + 1))" >&2; }
    done
    [[ $rc -eq 0 ]] || die "an attach failed (rc $rc)"

    run_xgm 0 -j list vm1
    local n ids labels
    n=$(jq length <<<"$output")
    ids=$(jq -r '.[].id' <<<"$output" | sort -u | wc -l)
    labels=$(jq -r '.[].label' <<<"$output" | sort -u | wc -l)
    [[ $n -eq 8 && $ids -eq 8 && $labels -eq 8 ]] ||
        die "expected 8 blobs with distinct ids and labels, got n=$n ids=$ids labels=$labels" \
            "$output"
    run_xgm 0 -j check
    [[ $(jq length <<<"$output") -eq 0 ]] || die "check not clean" "$output"
}

@test "readers running beside writers always read a whole state" {
    local writer i rc=0
    (
        for i in $(seq 1 6); do
            "$XGPUMAP" -q --sim-state "$SIM_STATE" attach vm2 --size 2M >/dev/null || exit 1
            "$XGPUMAP" -q --sim-state "$SIM_STATE" detach "vm2:$i" >/dev/null || exit 1
        done
    ) &
    writer=$!
    for i in $(seq 1 30); do
        "$XGPUMAP" -q --sim-state "$SIM_STATE" -j domain list >"$XGM_TMP/r" 2>&1 ||
            { rc=1; cat "$XGM_TMP/r" >&2; break; }
        jq -e 'length == 4' "$XGM_TMP/r" >/dev/null ||
            { rc=1; cat "$XGM_TMP/r" >&2; break; }
    done
    wait "$writer" || die "the writer failed"
    [[ $rc -eq 0 ]] || die "a reader saw a broken state"
    run_xgm 0 -j list vm2
    [[ $(jq length <<<"$output") -eq 0 ]] || die "vm2 should have no blob left" "$output"
}
