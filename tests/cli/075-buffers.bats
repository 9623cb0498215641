#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Existing buffers (issue 9): gpu alloc / gpu free, attach --buffer, and an
# adopted buffer that no detach, rollback or recover ever frees.

load helpers
load helpers.engine

# gpu_buffer_ids: the ids of card0's buffers, one line, by id.
gpu_buffer_ids() {
    xgm_q gpu show card0 | jq -c '[.buffers[].id] | sort'
}

@test "gpu alloc: a buffer of no blob, text and -j; check clean, recover leaves it" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M
    like "$output" $'(^|\n)buffer +: card0:1\n'
    like "$output" $'\nplacement +: vram'
    run_xgm 0 -j gpu alloc card0 --size 8M --placement sys
    is_one_json "$output"
    jq_is "$output" '[.buffer,.id,.card,.size,.placement]' '["card0:2",2,"card0",8388608,"sys"]'
    check_clean
    run_xgm 0 -j recover
    is "$(gpu_buffer_ids)" "[1,2]" "recover frees no existing buffer"
    jq_is "$(xgm_q gpu show card0)" '[.buffers[].blob]' '[null,null]'
}

@test "gpu alloc and gpu free refuse bad input, state unchanged" {
    run_xgm 0 sim init
    assert_refused 2 EINVAL "--size SIZE is required" gpu alloc card0
    assert_refused 2 EINVAL "not a size" gpu alloc card0 --size 12x
    assert_refused 2 EINVAL "not a positive multiple of 4096" gpu alloc card0 --size 5000
    assert_refused 2 EINVAL "vram or sys" gpu alloc card0 --size 4M --placement gtt
    assert_refused 1 ENODEV "card7" gpu alloc card7 --size 4M
    assert_refused 2 EINVAL "is not a buffer" gpu free card0
    assert_refused 2 EINVAL "is not a buffer" gpu free card0:x
    assert_refused 1 ENOENT "no buffer card0:9" gpu free card0:9
}

@test "attach --buffer adopts it: detach releases it, gpu free then frees it" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M
    run_xgm 0 -j attach vm1 --buffer card0:1
    jq_is "$output" '[.id,.size,.placement,.buffer]' '["vm1:1",16777216,"vram","card0:1"]'
    run_xgm 0 show vm1:1
    contains "$output" "vram on card0, buffer card0:1 (its creator's"
    check_clean
    jq_is "$(xgm_q gpu show card0)" '[.buffers[] | [.id,.blob]]' '[[1,"vm1:1"]]'
    assert_refused 1 EBUSY "mapped by blob vm1:1" gpu free card0:1
    assert_refused 1 EBUSY "moves with its creator" migrate vm1:1 --to sys
    assert_refused 1 EBUSY "mapped by blob vm1:1" attach vm2 --buffer card0:1
    run_xgm 0 detach vm1:1
    check_clean
    is "$(gpu_buffer_ids)" "[1]" "detach released, did not free"
    run_xgm 0 -j gpu free card0:1
    jq_is "$output" '[.buffer,.freed]' '["card0:1",true]'
    is "$(gpu_buffer_ids)" "[]"
    check_clean
}

@test "attach --buffer: what the buffer says must match, state unchanged" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M --placement sys
    assert_refused 2 EINVAL "has 16777216 bytes, not 8388608" attach vm1 --buffer card0:1 --size 8M
    assert_refused 2 EINVAL "is in sys, not vram" attach vm1 --buffer card0:1 --placement vram
    assert_refused 2 EINVAL "but --buffer is on card0" attach vm1 --buffer card0:1 --card card1
    assert_refused 1 ENOENT "no buffer 5" attach vm1 --buffer card0:5
    assert_refused 2 EINVAL "is not a buffer" attach vm1 --buffer 5
    run_xgm 0 -j attach vm1 --buffer card0:1 --strategy grant
    jq_is "$output" '[.placement,.strategy]' '["sys","grant"]'
    check_clean
}

@test "an adopted buffer survives every failed attach step and every crash" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M
    save_baseline adopt
    local point
    fault_loop_begin
    for point in memory_mapping:1 iomem_permission:1 store_write:3; do
        fault_case "fault $point" adopt_fault "$point"
    done
    for point in attach:intent:1 memory_mapping:1 attach:mapping:1; do
        fault_case "crash $point" adopt_crash "$point"
    done
    fault_loop_end
}

adopt_fault() {
    restore_baseline adopt
    xgm_inject FAULT "$1" 1 attach vm1 --buffer card0:1 || return 1
    check_clean "after the fault at $1" || return 1
    is "$(gpu_buffer_ids)" "[1]" "the rollback of $1 released, did not free"
}

adopt_crash() {
    restore_baseline adopt
    xgm_inject CRASH "$1" 137 attach vm1 --buffer card0:1 || return 1
    run_xgm 0 recover || return 1
    check_clean "after the crash at $1 and recover" || return 1
    is "$(gpu_buffer_ids)" "[1]" "recover after $1 released, did not free"
}

@test "a lost blob record: recover unmaps, and the adopted buffer stays" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M
    run_xgm 0 attach vm1 --buffer card0:1
    # The record goes behind the engine's back (xenstore-rm on a real host).
    store_del /xgpumap/blob/1/1
    run_xgm 0 recover
    check_clean
    is "$(gpu_buffer_ids)" "[1]"
    jq_is "$(xgm_q p2m vm1)" '[.[] | select(.type == "mmio_direct")] | length' '0'
}

teardown() {
    [[ -n ${HOLDER:-} ]] && kill "$HOLDER" 2>/dev/null
    basic_teardown
}

@test "attach --dmabuf PID:FD: the buffer another process holds is adopted, as with --buffer" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M --placement sys
    hold_buffer 1
    run_xgm 0 -j attach vm1 --dmabuf "$HOLDER:$BUF_FD" --strategy grant
    jq_is "$output" '[.id,.size,.placement,.strategy,.buffer]' '["vm1:1",16777216,"sys","grant","card0:1"]'
    jq_is "$(xgm_q gpu show card0)" '[.buffers[] | [.id,.blob]]' '[[1,"vm1:1"]]'
    check_clean
    # A failed attach of a buffer that existed before does not free it.
    assert_refused 1 EBUSY "mapped by blob vm1:1" attach vm2 --dmabuf "$HOLDER:$BUF_FD" --strategy grant
    is "$(gpu_buffer_ids)" "[1]" "the refused attach left the buffer"
    run_xgm 0 detach vm1:1
    is "$(gpu_buffer_ids)" "[1]" "detach released the adopted buffer, did not free it"
    check_clean
}

@test "attach --dmabuf and --gem refuse bad input, other processes' fds that are not buffers, state unchanged" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 4M
    hold_buffer 1
    local a
    for a in "" 12 x:1 1:x 0:3 -1:3 1:-3 1:2:3 "1:99999999999" 1: :1; do
        assert_refused 2 EINVAL "is not PID:FD" attach vm1 --dmabuf "$a"
    done
    for a in 1:2 1:2:0 1:2:x 1:2:3:4 1:2:4294967296; do
        assert_refused 2 EINVAL "is not PID:FD:HANDLE" attach vm1 --gem "$a"
    done
    assert_refused 2 EINVAL "give one" attach vm1 --dmabuf "$HOLDER:$BUF_FD" --buffer card0:1
    assert_refused 2 EINVAL "give one" attach vm1 --dmabuf "$HOLDER:$BUF_FD" --gem "$HOLDER:$BUF_FD:1"
    assert_refused 2 EINVAL "but --dmabuf is on card0" attach vm1 --dmabuf "$HOLDER:$BUF_FD" --card card1
    # No such process, no such fd: named with the errno's text.
    local gone
    gone=$(sh -c 'echo $$')
    assert_refused 1 ESRCH "cannot take fd 3 of pid $gone: No such process" attach vm1 --dmabuf "$gone:3"
    assert_refused 1 EBADF "cannot take fd 999 of pid $HOLDER: Bad file descriptor" attach vm1 --dmabuf "$HOLDER:999"
    # Held, but not buffers.
    assert_refused 1 EBADF "fd $PIPE_FD of pid $HOLDER is a pipe, not a buffer: the fd stands for no buffer" \
        attach vm1 --dmabuf "$HOLDER:$PIPE_FD"
    assert_refused 1 EBADF "fd $FILE_FD of pid $HOLDER is a file, not a buffer" \
        attach vm1 --dmabuf "$HOLDER:$FILE_FD"
    assert_refused 1 EBADF "is a file, not a buffer: a GEM handle needs a DRM device fd" \
        attach vm1 --gem "$HOLDER:$BUF_FD:1"
    jq_is "$(xgm_q list)" 'length' '0'
}

@test "attach --gem PID:FD:HANDLE: the buffer a DRM file's GEM handle is, adopted as with --buffer" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 16M
    hold_buffer 1
    run_xgm 0 -j attach vm1 --gem "$HOLDER:$GEM_FD:1"
    jq_is "$output" '[.id,.size,.placement]' '["vm1:1",16777216,"vram"]'
    jq_is "$(xgm_q gpu show card0)" '[.buffers[] | [.id,.blob]]' '[[1,"vm1:1"]]'
    check_clean
    assert_refused 1 EBUSY "mapped by blob vm1:1" attach vm2 --gem "$HOLDER:$GEM_FD:1"
    run_xgm 0 detach vm1:1
    is "$(gpu_buffer_ids)" "[1]" "detach released the adopted buffer, did not free it"
    check_clean
}

@test "attach --gem refuses a bad handle, fds that are no DRM file, another card's, bad pids, state unchanged" {
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 4M
    hold_buffer 1
    # A handle the file has not: the kernel's ENOENT.
    assert_refused 1 ENOENT "fd $GEM_FD of pid $HOLDER (a file): no GEM handle 2 on that DRM file of card0" \
        attach vm1 --gem "$HOLDER:$GEM_FD:2"
    # Not DRM files: named by what they are.
    local fd
    for fd in "$PIPE_FD:a pipe" "$FILE_FD:a file" "$BUF_FD:a file"; do
        assert_refused 1 EBADF "fd ${fd%%:*} of pid $HOLDER is ${fd#*:}, not a buffer: a GEM handle needs a DRM device fd (a character device of major 226)" \
            attach vm1 --gem "$HOLDER:${fd%%:*}:1"
    done
    # A DRM file of a card this host has not, whatever it says of its handle.
    assert_refused 1 ENODEV "the DRM fd is open on card1, which is not a GPU of this host" \
        attach vm1 --gem "$HOLDER:$CARD1_FD:1"
    # A DRM file is no dma-buf, and the other way round.
    assert_refused 1 EBADF "fd $GEM_FD of pid $HOLDER is a file, not a buffer: the fd stands for no buffer" \
        attach vm1 --dmabuf "$HOLDER:$GEM_FD"
    assert_refused 2 EINVAL "but --gem is on card0" attach vm1 --gem "$HOLDER:$GEM_FD:1" --card card1
    local gone
    gone=$(sh -c 'echo $$')
    assert_refused 1 ESRCH "cannot take fd 3 of pid $gone: No such process" attach vm1 --gem "$gone:3:1"
    assert_refused 1 EBADF "cannot take fd 999 of pid $HOLDER: Bad file descriptor" attach vm1 --gem "$HOLDER:999:1"
    jq_is "$(xgm_q list)" 'length' '0'
    is "$(gpu_buffer_ids)" "[1]"
    check_clean
}

@test "attach --dmabuf: a process this user may not ptrace: EPERM, named" {
    command -v setpriv >/dev/null || die "setpriv (util-linux) is needed"
    run_xgm 0 sim init
    run_xgm 0 gpu alloc card0 --size 4M
    hold_buffer 1
    chmod -R a+rwX "$XGM_TMP"
    local dir=$XGM_TMP
    while [[ $dir != / ]]; do chmod o+x "$dir" 2>/dev/null || true; dir=$(dirname "$dir"); done
    local before
    before=$(state_sum)
    run --separate-stderr setpriv --reuid 65534 --regid 65534 --clear-groups \
        "$XGPUMAP" --sim-state "$SIM_STATE" attach vm1 --dmabuf "$HOLDER:$BUF_FD"
    is "$status" 1 "exit status"
    contains "$stderr" "cannot take fd $BUF_FD of pid $HOLDER: Operation not permitted (pidfd_getfd needs ptrace access"
    assert_unchanged "$SIM_STATE" "$before" "attach as another user"
}
