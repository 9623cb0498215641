#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# xgpumapd on the simulated host: protocol v1 (man 7 xgpumapd), the CLI
# through it, fd passing of sim buffers, hostile messages, disconnects, and
# 8 concurrent clients. tests/daemon/client.c sends what the library never
# would.

load helpers
load helpers.engine

setup() {
    basic_setup
    : "${XGPUMAPD:=$XGM_SRCDIR/build/xgpumapd}"
    : "${XGMD_CLIENT:=$XGM_SRCDIR/build/tests/xgmd-client}"
    SOCK=$XGM_TMP/d.sock
    run_xgm 0 sim init
}

teardown() {
    [[ -n ${HOLDER:-} ]] && kill "$HOLDER" 2>/dev/null
    [[ -n ${DPID:-} ]] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
    basic_teardown
}

# start_daemon [OPTIONS]: xgpumapd on $SOCK and the private state.
start_daemon() {
    "$XGPUMAPD" --socket "$SOCK" --sim-state "$SIM_STATE" "$@" 2>"$XGM_TMP/d.log" &
    DPID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -S $SOCK ]] && return 0
        sleep 0.05
    done
    die "xgpumapd did not create $SOCK" "$(cat "$XGM_TMP/d.log")"
}

# raw LINES...: the replies of the raw client to these lines, one each.
raw() {
    printf '%s\n' "$@" | "$XGMD_CLIENT" "$SOCK" raw
}

HELLO='{"op":"hello","id":0,"args":{"version":1}}'
HELLO2='{"op":"hello","id":0,"args":{"version":2}}'

# alive: the daemon still answers.
alive() {
    kill -0 "$DPID" || die "xgpumapd died" "$(cat "$XGM_TMP/d.log")"
    like "$(raw "$HELLO")" '"ok":true' "the daemon still answers"
}

@test "daemon: the handshake says the protocol and the backend; nothing before it" {
    start_daemon
    run raw '{"op":"list","id":5,"args":{}}' "$HELLO" '{"op":"hello","id":1,"args":{"version":3}}' \
        '{"op":"hello","id":2,"args":{"version":0}}' "$HELLO2"
    is "${lines[0]}" '{"id":5,"ok":false,"error":{"errno":71,"code":"EPROTO","message":"the first request must be hello"}}'
    is "${lines[1]}" '{"id":0,"ok":true,"result":{"version":1,"backend":"sim","uid":0}}'
    like "${lines[2]}" '"code":"EPROTONOSUPPORT"'
    like "${lines[3]}" '"code":"EPROTONOSUPPORT"'
    is "${lines[4]}" '{"id":0,"ok":true,"result":{"version":2,"backend":"sim","uid":0}}'
    contains "$(cat "$XGM_TMP/d.log")" "serving protocols 1 and 2 on $SOCK (sim backend)"
}

@test "daemon: a reply over 64 KiB: the same document through it (protocol 2), EMSGSIZE for protocol 1" {
    local i
    for ((i = 0; i < 64; i++)); do echo "attach vm1 --size 4K --strategy mmio"; done |
        run_xgm 0 batch -
    run_xgm 0 -j dump
    local local_dump=$output
    ((${#local_dump} > 65536)) || die "the dump has only ${#local_dump} bytes"
    start_daemon
    # Protocol 1 reads one packet: it gets the error, with its id.
    run raw "$HELLO" '{"op":"dump","id":3,"args":{}}'
    jq_is "${lines[1]}" '[.id,.error.code]' '[3,"EMSGSIZE"]'
    # Protocol 2: a packet that names the size, the reply in a sealed memfd.
    run raw "$HELLO2" '{"op":"dump","id":4,"args":{}}'
    like "${lines[1]}" '^\{"id":4,"large":[0-9]+\} <\+fd>$'
    export XGPUMAP_DAEMON=$SOCK
    run_xgm 0 -j dump
    # All of it but the time it was made (seconds: it may tick between).
    is "$(jq -c 'del(.created)' <<<"$output")" "$(jq -c 'del(.created)' <<<"$local_dump")" \
        "dump through the daemon"
    jq_is "$output" '.created | type' '"number"'
    is "${#output}" "${#local_dump}" "the dump's length through the daemon"
    run_xgm 0 -j list
    is_one_json "$output" "list"
    unset XGPUMAP_DAEMON
    is "$(find /proc/"$DPID"/fd -lname '/memfd:*' | wc -l)" 0 "memfds left open in the daemon"
    alive
}

@test "daemon: the CLI's document calls go through it and give the same documents" {
    local local_doc
    run_xgm 0 attach vm1 --size 16M
    local_doc=$(xgm_q show vm1:1)
    start_daemon
    export XGPUMAP_DAEMON=$SOCK
    is "$(xgm_q show vm1:1)" "$local_doc" "show through the daemon"
    run_xgm 0 -j attach vm2 --size 8M --strategy mmio
    jq_is "$output" '.id' '"vm2:1"'
    for c in "list" "list vm1" "check" "check vm1" "dump" "p2m vm1" "iommu vm1" \
             "gpu list" "gpu show card0" "domain list" "domain show vm1" \
             "fill vm1:1" "verify vm1:1" "recover"; do
        # shellcheck disable=SC2086
        run_xgm 0 -j $c
        is_one_json "$output" "$c"
    done
    run_xgm 0 -j migrate vm1:1 --to sys
    jq_is "$output" '.placement' '"sys"'
    local buf
    buf=$(xgm_q gpu alloc card0 --size 4M | jq -r .buffer)
    run_xgm 0 -j attach vm1 --buffer "$buf"
    jq_is "$output" '.id' '"vm1:2"'
    run_xgm 1 gpu free "$buf"
    run_xgm 0 detach vm1:2
    run_xgm 0 gpu free "$buf"
    run_xgm 0 detach vm1 --all
    run_xgm 0 detach vm2:1
    run_xgm 1 sim show
    contains "$stderr" "not available through the daemon"
    unset XGPUMAP_DAEMON
    check_clean
    jq_is "$(xgm_q list)" 'length' '0'
}

@test "daemon: typed map, move, unmap and the buffer requests" {
    start_daemon
    run raw "$HELLO" \
        '{"op":"buffer-create","id":1,"args":{"size":4194304,"placement":"sys"}}' \
        '{"op":"map","id":2,"args":{"domid":1,"buffer":1,"offset":2097152,"strategy":2}}' \
        '{"op":"buffer-free","id":3,"args":{"id":1}}' \
        '{"op":"map","id":4,"args":{"domid":1,"size":2097152}}' \
        '{"op":"move","id":5,"args":{"domid":1,"id":2,"to":1}}' \
        '{"op":"buffer-get","id":6,"args":{"id":1}}' \
        '{"op":"buffer-export","id":7,"args":{"id":1}}' \
        '{"op":"unmap","id":8,"args":{"domid":1,"id":1}}' \
        '{"op":"unmap","id":9,"args":{"domid":1,"id":2}}' \
        '{"op":"buffer-free","id":10,"args":{"id":1}}' \
        '{"op":"window","id":11,"args":{"domid":1}}'
    jq_is "${lines[1]}" '.result | [.id,.size,.placement]' '[1,4194304,"sys"]'
    jq_is "${lines[2]}" '.result | [.id,.strategy,.placement,.gfn - .window_gfn]' '[1,2,1,512]'
    jq_is "${lines[3]}" '.error.code' '"EBUSY"'
    jq_is "${lines[5]}" '.result | [.id,.placement]' '[2,1]'
    jq_is "${lines[6]}" '.result.id' '1'
    like "${lines[7]}" '"ok":true.* <\+fd>$'
    jq_is "${lines[8]}" '.ok' 'true'
    jq_is "${lines[10]}" '.ok' 'true'
    jq_is "${lines[11]}" '.result | type' '"object"'
    check_clean
    jq_is "$(xgm_q gpu show card0)" '.buffers' '[]'
}

@test "daemon: fd passing: a sim buffer's fd is accepted, forged ones are not" {
    run_xgm 0 gpu alloc card0 --size 4M
    start_daemon
    run raw "$HELLO" "@fd-sim $SIM_STATE 1" "@fd-forged $SIM_STATE 1" \
        "@fd-unsealed $SIM_STATE 1" @fd-null @fd-two @fd-extra \
        '{"op":"buffer-import","id":9,"args":{}}'
    jq_is "${lines[1]}" '.result | [.id,.card,.size]' '[1,"card0",4194304]'
    jq_is "${lines[2]}" '.error | [.code,.message]' '["EBADF","the buffer fd is not buffer 1'"'"'s"]'
    jq_is "${lines[3]}" '.error | [.code,.message]' '["EBADF","the buffer fd is not sealed"]'
    jq_is "${lines[4]}" '.error.code' '"EBADF"'
    contains "${lines[4]}" "stands for no buffer"
    jq_is "${lines[5]}" '.error.code' '"ETOOMANYREFS"'
    jq_is "${lines[6]}" '.error | [.code,.message]' '["EBADF","this request takes no fd"]'
    jq_is "${lines[7]}" '.error | [.code,.message]' '["EBADF","this request needs an fd (SCM_RIGHTS)"]'
    # The daemon kept none of them.
    is "$(find /proc/"$DPID"/fd -lname '/memfd:*' | wc -l)" 0 "memfds left open in the daemon"
    alive
}

@test "daemon: GEM handles: a sim DRM file's handle is accepted, forged and wrong ones are not" {
    run_xgm 0 gpu alloc card0 --size 4M
    start_daemon
    local before
    before=$(state_sum)
    run raw "$HELLO" "@fd-gem $SIM_STATE 1" "@fd-gem-card1 $SIM_STATE 1" \
        "@fd-gem-unsealed $SIM_STATE 1" "@fd-sim $SIM_STATE 1" \
        '{"op":"buffer-import-gem","id":9,"args":{"handle":1}}' \
        '{"op":"buffer-import-gem","id":9,"args":{}}' \
        '{"op":"buffer-import-gem","id":9,"args":{"handle":4294967296}}' \
        '{"op":"buffer-import-gem","id":9,"args":{"handle":"1"}}'
    jq_is "${lines[1]}" '.result | [.id,.card,.size]' '[1,"card0",4194304]'
    jq_is "${lines[2]}" '.error | [.code,.message]' '["ENODEV","the DRM fd is open on card1, which is not a GPU of this host"]'
    jq_is "${lines[3]}" '.error | [.code,.message]' '["EBADF","the simulated DRM file is not sealed"]'
    jq_is "${lines[4]}" '.result.id' '1'
    jq_is "${lines[5]}" '.error | [.code,.message]' '["EBADF","this request needs an fd (SCM_RIGHTS)"]'
    jq_is "${lines[6]}" '.error | [.code,.message]' '["EBADMSG","buffer-import-gem needs field '"'"'handle'"'"'"]'
    jq_is "${lines[7]}" '.error | [.code,.message]' '["EBADMSG","field handle: 4294967296 is outside 0..4294967295"]'
    jq_is "${lines[8]}" '.error | [.code,.message]' '["EBADMSG","field handle: wrong type"]'
    assert_unchanged "$SIM_STATE" "$before" "imports and refusals change nothing"
    is "$(find /proc/"$DPID"/fd -lname '/memfd:*' | wc -l)" 0 "memfds left open in the daemon"
    alive
}

@test "daemon: attach --gem through it: the DRM fd and the handle are passed on and validated there" {
    run_xgm 0 gpu alloc card0 --size 4M
    hold_buffer 1
    start_daemon
    export XGPUMAP_DAEMON=$SOCK
    assert_refused 1 EBADF "fd $PIPE_FD of pid $HOLDER is a pipe, not a buffer: a GEM handle needs a DRM device fd" \
        attach vm1 --gem "$HOLDER:$PIPE_FD:1"
    assert_refused 1 ENOENT "no GEM handle 7 on that DRM file of card0" attach vm1 --gem "$HOLDER:$GEM_FD:7"
    assert_refused 1 ENODEV "the DRM fd is open on card1" attach vm1 --gem "$HOLDER:$CARD1_FD:1"
    run_xgm 0 -j attach vm1 --gem "$HOLDER:$GEM_FD:1"
    jq_is "$output" '[.id,.size]' '["vm1:1",4194304]'
    run_xgm 0 detach vm1:1
    unset XGPUMAP_DAEMON
    is "$(find /proc/"$DPID"/fd -lname '/memfd:*' | wc -l)" 0 "memfds left open in the daemon"
    check_clean
}

@test "daemon: attach --dmabuf through it: the taken fd is passed on and validated there" {
    run_xgm 0 gpu alloc card0 --size 4M
    hold_buffer 1
    start_daemon
    export XGPUMAP_DAEMON=$SOCK
    local before
    before=$(state_sum)
    run_xgm 1 attach vm1 --dmabuf "$HOLDER:$PIPE_FD"
    contains "$stderr" "fd $PIPE_FD of pid $HOLDER is a pipe, not a buffer: the fd stands for no buffer"
    assert_unchanged "$SIM_STATE" "$before" "a pipe through the daemon"
    run_xgm 0 -j attach vm1 --dmabuf "$HOLDER:$BUF_FD"
    jq_is "$output" '[.id,.size]' '["vm1:1",4194304]'
    run_xgm 0 detach vm1:1
    unset XGPUMAP_DAEMON
    is "$(find /proc/"$DPID"/fd -lname '/memfd:*' | wc -l)" 0 "memfds left open in the daemon"
    check_clean
}

@test "daemon: malformed, oversized and hostile requests: an error reply each, state unchanged" {
    run_xgm 0 attach vm1 --size 16M
    start_daemon
    local before
    before=$(state_sum)
    run raw "$HELLO" garbage "@big 70000" "@big 65536" @empty '[1,2]' '{"op":1,"id":1,"args":{}}' \
        '{"op":"list","id":-1,"args":{}}' '{"op":"list","id":1}' \
        '{"op":"list","id":1,"args":{},"x":1}' '{"op":"list","id":1,"args":{"dom":"vm1","dom":"vm2"}}' \
        '{"op":"list","id":1,"args":{"":1}}' '{"op":"detach","id":1,"args":{"blob":7}}' \
        '{"op":"attach","id":1,"args":{"dom":"vm1","size":"1M"}}' \
        '{"op":"attach","id":1,"args":{"dom":"vm1","label":"'"$(printf 'x%.0s' {1..200})"'"}}' \
        '{"op":"map","id":1,"args":{"domid":99999,"size":4096}}' \
        '{"op":"map","id":1,"args":{"domid":1,"size":4096,"strategy":9}}' \
        '{"op":"map","id":1,"args":{"domid":1,"size":4096,"offset":-1}}' \
        '{"op":"unmap","id":1,"args":{"domid":1,"id":4294967296}}' \
        '{"op":"migrate","id":1,"args":{"blob":"vm1:1","to":"sys","repeat":100001}}' \
        '{"op":"shutdown","id":3,"args":{}}' '{"op":"detach","id":1,"args":{"blob":"vm1:1\u0000x"}}'
    local n=0 line
    for line in "${lines[@]:1}"; do
        n=$((n + 1))
        jq_is "$line" '.ok' 'false' "reply $n: $line"
    done
    is "$n" 21 "one error reply per request"
    jq_is "${lines[2]}" '.error.code' '"EMSGSIZE"'
    # 65536 bytes is the limit itself: read whole, refused as not JSON
    jq_is "${lines[3]}" '.error.code' '"EBADMSG"'
    jq_is "${lines[11]}" '.error.message' '"list takes no field '"''"'"'
    jq_is "${lines[20]}" '.error.code' '"EOPNOTSUPP"'
    assert_unchanged "$SIM_STATE" "$before" "hostile requests"
    alive
}

@test "daemon: a client gone mid-request: the operation completes, check clean" {
    start_daemon
    raw "$HELLO" '@send-close {"op":"attach","id":1,"args":{"dom":"vm1","size":16777216}}' >/dev/null
    alive
    jq_is "$(xgm_q list)" '[.[].id]' '["vm1:1"]'
    check_clean
    # Many at once, each gone before its reply.
    local i pids=()
    for ((i = 0; i < 10; i++)); do
        raw "$HELLO" '@send-close {"op":"detach","id":1,"args":{"blob":"vm1:1"}}' >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}" # not the daemon
    alive
    jq_is "$(xgm_q list)" 'length' '0'
    check_clean
}

@test "daemon: 8 concurrent clients x 100 operations: nothing lost, check clean" {
    start_daemon
    local i
    for ((i = 1; i <= 8; i++)); do
        "$XGMD_CLIENT" "$SOCK" load 100 $((i % 2 + 1)) >"$XGM_TMP/load$i" 2>&1 &
    done
    for ((i = 1; i <= 8; i++)); do
        wait -n || die "a client failed" "$(cat "$XGM_TMP"/load*)"
    done
    # Each kept 20 (40 maps, 20 unmaps): 160, every one listed once.
    is "$(cat "$XGM_TMP"/load* | sort -u | wc -l)" 160 "distinct blobs the clients kept"
    is "$(xgm_q list | jq -r '.[].id | sub("^vm"; "")' | sort)" \
       "$(cat "$XGM_TMP"/load* | sort)" "the host has exactly the blobs the clients kept"
    check_clean
    alive
}

@test "daemon: SIGTERM: a clean exit, the socket removed; a live one is not taken over" {
    start_daemon
    run "$XGPUMAPD" --socket "$SOCK" --sim-state "$SIM_STATE"
    is "$status" 1
    contains "$output" "another daemon serves $SOCK"
    kill -TERM "$DPID"
    wait "$DPID"
    is "$?" 0 "exit status after SIGTERM"
    DPID=
    [[ ! -e $SOCK ]] || die "the socket is still there"
    contains "$(cat "$XGM_TMP/d.log")" "exiting"
}

# term_during CLI-ARGS...: the CLI through the daemon in the background
# ($XGM_TMP/m.out, m.err); once its request is in the daemon, SIGTERM to the
# daemon; then the CLI must succeed and the daemon exit cleanly.
term_during() {
    XGPUMAP_DAEMON=$SOCK "$XGPUMAP" -j "$@" >"$XGM_TMP/m.out" 2>"$XGM_TMP/m.err" &
    local cpid=$! i
    for ((i = 0; i < 100; i++)); do
        grep -q "client pid $cpid uid 0 connected" "$XGM_TMP/d.log" && break
        sleep 0.05
    done
    sleep 0.4 # the request is under way
    kill -0 "$cpid" || die "the request ended before SIGTERM" "$(cat "$XGM_TMP/m.err")"
    kill -TERM "$DPID"
    wait "$cpid" || die "the client failed" "$(cat "$XGM_TMP/m.err")"
    wait "$DPID"
    is "$?" 0 "exit status after SIGTERM"
    DPID=
    [[ ! -e $SOCK ]] || die "the socket is still there"
    contains "$(cat "$XGM_TMP/d.log")" "exiting"
}

@test "daemon: SIGTERM during a long request: it completes, the client gets its reply, then a clean exit" {
    run_xgm 0 attach vm1 --size 64M
    start_daemon
    term_during migrate vm1:1 --to sys --repeat 100
    jq_is "$(cat "$XGM_TMP/m.out")" '[.migrations,.placement,.generation]' '[100,"sys",100]'
    jq_is "$(xgm_q show vm1:1)" '[.generation,.state]' '[100,"mapped"]'
    check_clean
}

@test "daemon: SIGTERM while a request waits for the host lock: it still completes, then a clean exit" {
    command -v flock >/dev/null || die "flock (util-linux) is needed"
    run_xgm 0 attach vm1 --size 16M
    start_daemon
    # Another process holds the host's lock: the daemon's request waits in
    # flock(2), which a signal would interrupt were it not blocked there.
    flock "$SIM_STATE.lock" sleep 2 &
    local holder=$!
    sleep 0.3
    term_during detach vm1:1
    jq_is "$(cat "$XGM_TMP/m.out")" '.id' '"vm1:1"'
    wait "$holder"
    jq_is "$(xgm_q list)" 'length' '0'
    check_clean
}

@test "daemon: a non-root client: refused unless allowed, then only its domains" {
    command -v setpriv >/dev/null || die "setpriv (util-linux) is needed"
    chmod 755 "$XGM_TMP"
    local dir=$XGM_TMP
    while [[ $dir != / ]]; do chmod o+x "$dir" 2>/dev/null || true; dir=$(dirname "$dir"); done
    start_daemon
    is "$(stat -c %a "$SOCK")" 600 "root-only socket mode"
    kill "$DPID"; wait "$DPID"
    start_daemon --allow 65534:vm1
    is "$(stat -c %a "$SOCK")" 666 "socket mode with grants"
    run_xgm 0 attach vm2 --size 4M
    run setpriv --reuid 65534 --regid 65534 --clear-groups "$XGMD_CLIENT" "$SOCK" raw <<<"$HELLO
{\"op\":\"map\",\"id\":1,\"args\":{\"domid\":1,\"size\":1048576}}
{\"op\":\"map\",\"id\":2,\"args\":{\"domid\":2,\"size\":1048576}}
{\"op\":\"detach\",\"id\":3,\"args\":{\"blob\":\"vm2:1\"}}
{\"op\":\"dump\",\"id\":4,\"args\":{}}
{\"op\":\"list\",\"id\":5,\"args\":{}}"
    jq_is "${lines[0]}" '.result.uid' '65534'
    jq_is "${lines[1]}" '.ok' 'true'
    jq_is "${lines[2]}" '.error.code' '"EACCES"'
    jq_is "${lines[3]}" '.error.code' '"EACCES"'
    jq_is "${lines[4]}" '.error | [.code,.message]' '["EACCES","dump is for root only"]'
    jq_is "${lines[5]}" '.error.code' '"EACCES"'
    kill "$DPID"; wait "$DPID"
    start_daemon
    run setpriv --reuid 65534 --regid 65534 --clear-groups "$XGMD_CLIENT" "$SOCK" raw <<<"$HELLO"
    not_contains "$output" '"ok":true'
    check_clean
}
