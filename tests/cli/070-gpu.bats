#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# gpu list / gpu show on the simulated host, and migrate --pause.

load helpers

@test "gpu list: one line per card, and -j gives every detail" {
    run_xgm 0 gpu list
    like "${lines[0]}" '^CARD +DRIVER +PCI +VRAM +BUFFERS +CAN$'
    like "${lines[1]}" '^card0 +sim +0000:03:00\.0 +16 GiB +0 +place_vram, locate_frames, pin$'
    run_xgm 0 -j gpu list
    is_one_json "$output"
    assert_json "$output" 'length' 1
    assert_json "$output" '.[0] | keys' \
        '["bars","buffers","capabilities","card","driver","pci","vram_bytes","vram_free_bytes"]'
    assert_json "$output" '.[0].capabilities | keys' '["locate_frames","note","pin","place_vram"]'
    assert_json "$output" '.[0].bars' \
        '[{"index":0,"bus_addr":274877906944,"size":17179869184,"prefetchable":true,"vram":true}]'
    assert_json "$output" '.[0].buffers' '[]'
}

@test "gpu show card0: driver, PCI address, BAR, VRAM, capabilities as key : value" {
    run_xgm 0 gpu show card0
    like "$output" $'(^|\n)driver +: sim\n'
    like "$output" $'(^|\n)pci +: 0000:03:00\\.0\n'
    like "$output" $'(^|\n)vram +: 16 GiB\n'
    like "$output" $'\n +0 +0x4000000000 +16 GiB +yes +yes\n'
    like "$output" $'\ncan +: place in VRAM: yes, locate frames: yes, pin: yes\n'
    run_xgm 0 -j gpu show card0
    assert_json "$output" '.card' card0
    assert_json "$output" '.vram_free_bytes == .vram_bytes' true
    # A prefix is not a card name.
    run_xgm 1 gpu show card
}

@test "gpu show: an unknown card is exit 1 naming the cards there are" {
    run_xgm 1 gpu show card7
    is "$output" ""
    contains "$stderr" "no GPU 'card7' (this host has: card0)"
    run_xgm 1 -j gpu show card7
    assert_error_doc "$output" ENODEV 19
    run_xgm 2 gpu show
    run_xgm 2 gpu show card0 card1
}

@test "gpu show: buffers carry the blob that maps them, their placement and pin" {
    run_xgm 0 -j attach vm1 --size 16M
    run_xgm 0 -j attach vm2 --size 4M --placement sys --strategy grant
    run_xgm 0 -j gpu show card0
    assert_json "$output" '[.buffers[] | {blob, placement, size, pinned, extents}]' \
        '[{"blob":"vm1:1","placement":"vram","size":16777216,"pinned":false,"extents":1},
          {"blob":"vm2:1","placement":"sys","size":4194304,"pinned":true,"extents":1}]'
    assert_json "$output" '.vram_bytes - .vram_free_bytes' 16777216
    # The buffer's first frame is the blob's.
    local mfn
    mfn=$(jq '.buffers[0].mfn' <<<"$output")
    run_xgm 0 -j show vm1:1
    assert_json "$output" '.backing[0].mfn' "$mfn"
    run_xgm 0 gpu show card0
    like "$output" $'\n +ID +SIZE +PLACEMENT +FIRST_MFN +EXTENTS +PINNED +BLOB +HANDED_OVER_AS\n'
    # Made by xgpumap, not a client's dma-buf.
    like "$output" $'\n +1 +16 MiB +vram +0x[0-9a-f]+ +1 +no +vm1:1 +-\n'
    run_xgm 0 gpu list
    like "${lines[1]}" '^card0 .* 2 +place_vram'
    # Gone with the blob.
    run_xgm 0 detach vm1:1
    run_xgm 0 -j gpu show card0
    assert_json "$output" '[.buffers[].blob]' '["vm2:1"]'
}

@test "gpu: completion offers card names, from an existing state only" {
    run_xgm 0 __complete gpu show ''
    is "$output" ""
    [[ ! -e $SIM_STATE ]] || die "__complete created the state"
    run_xgm 0 sim init
    run_xgm 0 __complete gpu show c
    is "$output" card0
    run_xgm 0 __complete attach vm1 --card ''
    is "$output" card0
    run_xgm 0 __complete gpu ''
    is "$(sort <<<"$output")" "$(printf '%s\n' alloc free list show)"
}

@test "migrate --pause: the guest is paused for the copy and switch, counted as two hypercalls" {
    run_xgm 0 attach vm1 --size 16M
    run_xgm 0 fill vm1:1 --seed 3
    run_xgm 0 -j migrate vm1:1 --to vram
    local plain
    plain=$(jq '.last.hypercalls' <<<"$output")
    assert_json "$output" 'has("paused")' false
    run_xgm 0 -j migrate vm1:1 --to vram --pause
    assert_json "$output" '.paused' true
    assert_json "$output" '.last.hypercalls' "$((plain + 2))"
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' running
    run_xgm 0 verify vm1:1
    run_xgm 0 -j sim guest-read vm1 0x80000-0x80fff --expect vm1:1
    assert_json "$output" '.result' ok
    run_xgm 0 -j migrate vm1:1 --to vram --pause --repeat 3
    assert_json "$output" '[.paused, .migrations]' '[true, 3]'
    run_xgm 0 check
}

@test "migrate --pause killed while the guest is paused: recover lets it run again" {
    run_xgm 0 attach vm1 --size 16M
    run_xgm 0 fill vm1:1
    # Kill the migration inside the switch: the guest is left paused, as a
    # kill -9 on Xen would leave it; recover releases the pause it took and
    # goes back to the old backing (the copy may be stale).
    XGPUMAP_CRASH=memory_mapping:2 run "$XGPUMAP" --sim-state "$SIM_STATE" \
        migrate vm1:1 --to vram --pause
    is "$status" 137 "exit status of the killed migrate"
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' paused
    run_xgm 0 recover
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' running
    run_xgm 0 check
    run_xgm 0 verify vm1:1
    run_xgm 0 -j migrate vm1:1 --to vram --pause
    assert_json "$output" '.paused' true
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' running
}

@test "migrate --pause: a failed pause or unpause leaves the blob as it was, running" {
    run_xgm 0 attach vm1 --size 16M
    XGPUMAP_FAULT=pause:1 run_xgm 1 migrate vm1:1 --to vram --pause
    contains "$stderr" "injected fault at pause"
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' running
    run_xgm 0 check
    run_xgm 0 -j show vm1:1
    assert_json "$output" '.generation' 0
    # The unpause after the switch fails: the switch is undone while the
    # guest is still paused, then the second unpause lets it run.
    XGPUMAP_FAULT=unpause:1 run_xgm 1 migrate vm1:1 --to vram --pause
    contains "$stderr" "injected fault at unpause"
    run_xgm 0 -j domain show vm1
    assert_json "$output" '.state' running
    run_xgm 0 check
    run_xgm 0 -j show vm1:1
    assert_json "$output" '.generation' 0
}
