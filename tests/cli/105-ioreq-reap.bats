#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# An ioreq server outlives the daemon that made it when the daemon is
# killed without its teardown (kill -9), as on Xen: the guest's next
# access there would wait for ever. The sim records each server's owner as
# the xen backend does (lib/sim/ioowner.c, lib/xen/ioreap.c); recover, the
# next daemon as it starts (it recovers before its first request), or a
# daemon started with --no-recover at its first claim, destroys a dead
# process's server, and recover serves again the blobs whose buffer
# remains.

load helpers
load helpers.engine

setup() {
    basic_setup
    : "${XGPUMAPD:=$XGM_SRCDIR/build/xgpumapd}"
    SOCK=$XGM_TMP/d.sock
    run_xgm 0 sim init
}

teardown() {
    [[ -n ${DPID:-} ]] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    basic_teardown
}

# start_daemon [OPTION...]
start_daemon() {
    "$XGPUMAPD" --socket "$SOCK" --sim-state "$SIM_STATE" "$@" 2>>"$XGM_TMP/d.log" &
    DPID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "serving protocols" "$XGM_TMP/d.log" 2>/dev/null && return 0
        sleep 0.05
    done
    die "xgpumapd did not start" "$(cat "$XGM_TMP/d.log")"
}

kill_daemon() {
    kill -KILL "$DPID"
    wait "$DPID" 2>/dev/null || true
    DPID=
    : > "$XGM_TMP/d.log"
}

# attach_served SIZE: an ioreq blob on vm1 through the daemon, filled;
# sets BLOB, GFN and LAST.
attach_served() {
    local j
    j=$(XGPUMAP_DAEMON=$SOCK xgm_q attach vm1 --size "$1" --placement sys --strategy ioreq) ||
        return 1
    BLOB=$(jq -r .id <<<"$j")
    GFN=$(jq .gfn <<<"$j")
    LAST=$(jq .gfn_last <<<"$j")
    XGPUMAP_DAEMON=$SOCK xgm_q fill "$BLOB" > /dev/null
}

# server_record DOMID: the sim's record of the domain's server (its store
# row: the engine's documents show only /xgpumap).
server_record() {
    sqlite3 "$SIM_STATE" "SELECT value FROM store WHERE path = '/xgpumap-hv/ioreq/$1'"
}

# assert_guest_waits FIRST: an access there would wait on a dead server.
assert_guest_waits() {
    run_xgm 1 sim guest-read vm1 "$1"
    contains "$stderr" "whose process"
    contains "$stderr" "would wait for ever"
}

@test "ioreq reap: after kill -9 of xgpumapd its server stays and the guest would wait; recover destroys it and serves the blob again" {
    start_daemon
    attach_served 2M
    assert_guest_sees "$BLOB" vm1 "$GFN" "$LAST"
    local domid
    domid=$(jq .domid <<<"$(xgm_q show "$BLOB")")
    # The record of the server names the daemon.
    like "$(server_record "$domid")" "^0 $DPID [0-9]+$" "the record of vm1's server"
    kill_daemon
    assert_guest_waits "$GFN"
    run_xgm 0 -j recover
    jq_is "$output" "[.[] | select(.op == \"ioreq-server\") | [.domid, .server]]" "[[$domid,0]]" \
        "recover destroyed vm1's server 0"
    jq_is "$output" "[.[] | select(.op == \"unserved\") | .blob]" "[\"$BLOB\"]" \
        "recover served $BLOB again"
    assert_guest_sees "$BLOB" vm1 "$GFN" "$LAST"
    is "$(server_record "$domid")" "" "the dead server's record is gone"
    # Nothing is left to reap.
    run_xgm 0 -j recover
    jq_is "$output" '[.[] | select(.op == "ioreq-server" or .op == "unserved")] | length' 0
    check_clean
}

@test "ioreq reap: a daemon started again recovers before its first request: the stale server destroyed, the old blob served, each action logged" {
    start_daemon
    attach_served 2M
    local old=$BLOB old_gfn=$GFN old_last=$LAST domid
    domid=$(jq .domid <<<"$(xgm_q show "$BLOB")")
    kill_daemon
    assert_guest_waits "$old_gfn"
    start_daemon
    contains "$(cat "$XGM_TMP/d.log")" "recover at start: op=ioreq-server domid=$domid server=0"
    contains "$(cat "$XGM_TMP/d.log")" "recover at start: op=unserved blob=$old"
    assert_guest_sees "$old" vm1 "$old_gfn" "$old_last"
    like "$(server_record "$domid")" "^[0-9]+ $DPID [0-9]+$" \
        "the old blob's server is the new daemon's"
    XGPUMAP_DAEMON=$SOCK run_xgm 0 -j recover
    jq_is "$output" '[.[] | select(.op == "ioreq-server" or .op == "unserved")] | length' 0 \
        "nothing was left for recover"
    check_clean
}

@test "ioreq reap: a daemon started again with --no-recover destroys its predecessor's server at its first claim; recover then serves the old blob" {
    start_daemon
    attach_served 2M
    local old=$BLOB old_gfn=$GFN old_last=$LAST
    kill_daemon
    start_daemon --no-recover
    ! grep -q "recover at start" "$XGM_TMP/d.log"
    attach_served 2M
    assert_guest_sees "$BLOB" vm1 "$GFN" "$LAST"
    # The old blob's claim went with the dead server: Xen's null handler.
    assert_guest_all_ones vm1 "$old_gfn" "$old_last"
    XGPUMAP_DAEMON=$SOCK run_xgm 0 -j recover
    jq_is "$output" "[.[] | select(.op == \"unserved\") | .blob]" "[\"$old\"]"
    assert_guest_sees "$old" vm1 "$old_gfn" "$old_last"
    assert_guest_sees "$BLOB" vm1 "$GFN" "$LAST"
    check_clean
}

@test "ioreq reap: a server of a command run without the daemon is the host's own: recover leaves it" {
    run_xgm 0 -j attach vm1 --size 2M --placement sys --strategy ioreq
    local blob gfn last
    blob=$(jq -r .id <<<"$output")
    gfn=$(jq .gfn <<<"$output")
    last=$(jq .gfn_last <<<"$output")
    run_xgm 0 fill "$blob"
    run_xgm 0 -j recover
    jq_is "$output" '[.[] | select(.op == "ioreq-server" or .op == "unserved")] | length' 0
    assert_guest_sees "$blob" vm1 "$gfn" "$last"
    check_clean
}

@test "ioreq reap: a live daemon's server is left alone by a recover run beside it" {
    start_daemon
    attach_served 2M
    run_xgm 0 -j recover
    jq_is "$output" '[.[] | select(.op == "ioreq-server" or .op == "unserved")] | length' 0
    assert_guest_sees "$BLOB" vm1 "$GFN" "$LAST"
    check_clean
}
