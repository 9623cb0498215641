#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# What a new user hit (issue 13): errors that say what happened; check and
# dump for support engineers; batch, shell and completion. Each test names
# the rough edge it covers and failed before it was smoothed.

load helpers

setup() {
    basic_setup
    run_xgm 0 -q sim init
}

# as_user CMD...: runs CMD subject to file permissions even as root (the
# tests often run as root, which chmod alone cannot stop).
as_user() {
    if ((EUID == 0)); then
        setpriv --bounding-set=-dac_override,-dac_read_search -- "$@"
    else
        "$@"
    fi
}

# ---- errors that say what happened ----------------------------------------

@test "dump -o an unwritable path, a directory or '': a message, no dump on stdout" {
    local sum
    sum=$(file_sum "$SIM_STATE")
    mkdir "$XGM_TMP/dir"
    run_xgm 1 dump -o /nonexistent/x.json
    is "$output" "" "no dump on stdout"
    contains "$stderr" "cannot write /nonexistent/x.json: No such file or directory"
    run_xgm 1 -j dump -o /nonexistent/x.json
    assert_error_doc "$output" ENOENT
    run_xgm 1 dump -o "$XGM_TMP/dir"
    is "$output" ""
    contains "$stderr" "Is a directory"
    run_xgm 1 -j dump -o "$XGM_TMP/dir"
    assert_error_doc "$output" EISDIR
    run_xgm 2 -j dump -o ''
    assert_error_doc "$output" EINVAL
    run_xgm 2 dump -o ''
    is "$output" ""
    contains "$stderr" "-o needs a file name"
    # Nothing is left behind: no temporary beside the target.
    is "$(ls -A "$XGM_TMP/dir")" "" "no temporary in the directory"
    is "$(ls -A "$XGM_TMP" | grep -c tmp || true)" 0 "no temporary beside it"
    assert_unchanged "$SIM_STATE" "$sum"
    # And a good path still works.
    run_xgm 0 -j dump -o "$XGM_TMP/host.json"
    assert_json "$output" .written "$XGM_TMP/host.json"
    assert_json "$(cat "$XGM_TMP/host.json")" .schema xgpumap-dump
}

@test "a failed attach leaves the state byte-identical and names the blob it could not evict" {
    run_xgm 0 -q attach vm1 --size 16G
    local sum
    sum=$(file_sum "$SIM_STATE")
    run_xgm 1 attach vm1 --size 8G
    contains "$stderr" "VRAM of card0 is full; evicting vm1:1 (16 GiB) needs more dom0 RAM than is free"
    not_contains "$stderr" "KiB"
    assert_unchanged "$SIM_STATE" "$sum"
    # No number was burnt: the next blob of vm1 is vm1:2.
    run_xgm 0 -q detach vm1:1
    run_xgm 0 -j attach vm1 --size 4M
    assert_json "$output" .id vm1:2
}

@test "a failed migrate leaves the state byte-identical" {
    run_xgm 0 -q attach vm1 --size 8G
    local sum
    sum=$(file_sum "$SIM_STATE")
    # 8 GiB cannot go to dom0's 4 GiB.
    run_xgm 1 migrate vm1:1 --to sys
    contains "$stderr" "too little for a 8 GiB buffer"
    assert_unchanged "$SIM_STATE" "$sum"
    run_xgm 0 check
}

@test "an unreadable state or a directory at the state path is reported as such, not as corrupt" {
    local sum
    sum=$(file_sum "$SIM_STATE")
    chmod 000 "$SIM_STATE"
    run as_user "$XGPUMAP" --sim-state "$SIM_STATE" list
    is "$status" 1 "exit status of list on an unreadable state"
    contains "$output" "Permission denied"
    not_contains "$output" "corrupt"
    not_contains "$output" "sim reset"
    chmod 600 "$SIM_STATE"
    assert_unchanged "$SIM_STATE" "$sum"

    mkdir "$XGM_TMP/dir.json"
    run_xgm_raw 1 --sim-state "$XGM_TMP/dir.json" -j list
    assert_error_doc "$output" EISDIR
    not_contains "$output" "corrupt"
}

@test "read-only commands work on a state in a read-only directory" {
    mkdir "$XGM_TMP/ro"
    cp "$SIM_STATE" "$XGM_TMP/ro/sim.db"
    chmod 555 "$XGM_TMP/ro"
    local c
    for c in list "domain list" check dump "sim show"; do
        # shellcheck disable=SC2086
        run as_user "$XGPUMAP" --sim-state "$XGM_TMP/ro/sim.db" -j $c
        is "$status" 0 "'$c' in a read-only directory: $output"
        is_one_json "$output"
    done
    # Writing still fails, and says why.
    run as_user "$XGPUMAP" --sim-state "$XGM_TMP/ro/sim.db" attach vm1 --size 4M
    is "$status" 1 "attach in a read-only directory"
    contains "$output" "Permission denied"
    is "$(ls -A "$XGM_TMP/ro")" sim.db "nothing written into the directory"
    chmod 755 "$XGM_TMP/ro"
}

@test "--sim-state '' and --card '' are usage errors; batch DIR is an error" {
    run_xgm_raw 2 --sim-state '' list
    contains "$stderr" "--sim-state needs a path"
    run_xgm_raw 2 -j --sim-state= list
    assert_error_doc "$output" EINVAL
    [[ ! -e $HOME/.local/state/xgpumap/sim.db && ! -e $XDG_STATE_HOME/xgpumap/sim.db ]] ||
        die "--sim-state '' created the default state"

    local sum
    sum=$(file_sum "$SIM_STATE")
    run_xgm 2 attach vm1 --size 4M --card ''
    contains "$stderr" "card name is empty"
    assert_unchanged "$SIM_STATE" "$sum"

    mkdir "$XGM_TMP/cmds"
    run_xgm 1 batch "$XGM_TMP/cmds"
    contains "$stderr" "Is a directory"
    run_xgm 1 -j batch "$XGM_TMP/cmds"
    assert_error_doc "$output" EISDIR
}

@test "a --gfn that wraps past the last frame says so, not a wrapped range" {
    run_xgm 2 attach vm1 --size 4M --gfn 0xffffffffffffffff
    contains "$stderr" "runs past the last frame number"
    not_contains "$stderr" "..0x3fe"
}

@test "attach '' is a usage error that says the name is empty" {
    run_xgm 2 attach '' --size 4M
    contains "$stderr" "domain name is empty"
    not_contains "$stderr" "attach failed"
}

@test "show vm1:1:2 is a malformed blob id (exit 2)" {
    run_xgm 2 show vm1:1:2
    contains "$stderr" "'vm1:1:2' is not a blob id"
    run_xgm 2 -j show vm1:1:2
    assert_error_doc "$output" EINVAL
}

@test "sizes in messages are in human units: --dom0-mem 4K, a buffer too big for VRAM" {
    run_xgm 2 sim init --force --dom0-mem 4K
    contains "$stderr" "memory 4 KiB is below the minimum of 512 MiB"
    run_xgm 1 attach vm1 --size 32G
    contains "$stderr" "32 GiB cannot fit in the 16 GiB of VRAM"
    run_xgm 2 attach vm1 --size 128G --placement sys
    contains "$stderr" "128 GiB does not fit the 64 GiB blob window"
    not_contains "$stderr" "-byte"
}

@test "no 'Try xgpumap help' after a message that already points at help" {
    run_xgm 2 attach
    contains "$stderr" "see 'xgpumap help attach'"
    not_contains "$stderr" "Try 'xgpumap help'"
    run_xgm 2 frobnicate
    contains "$stderr" "Try 'xgpumap help' for usage."
}

@test "bench states one limit per option, the one it enforces" {
    run_xgm 2 bench persist --guests 1000
    contains "$stderr" "--guests must be 1..64"
    run_xgm 2 bench persist --blobs 5000
    contains "$stderr" "--blobs must be 1..64"
    not_contains "$stderr" "100000"
}

@test "README's hypercall count for attach --size 1G is what attach reports" {
    run_xgm 0 -j attach vm1 --size 1G
    local n
    n=$(jq .ops.attach.hypercalls <<<"$output")
    grep -qF "512 2M entries, $n hypercalls" "$XGM_SRCDIR/README.md" ||
        die "README.md does not say '512 2M entries, $n hypercalls'"
}

@test "a half-made STATE.new of a killed sim reset is removed by the next writer, and the state is whole" {
    run_xgm 0 -q attach vm1 --size 4M
    printf 'partial' >"$SIM_STATE.new"
    printf 'partial' >"$SIM_STATE.new-journal"
    printf 'keep' >"$SIM_STATE.newer"
    # A reader leaves them (it holds no exclusive lock).
    run_xgm 0 list
    [[ -e $SIM_STATE.new ]] || die "a reader removed a half-made state"
    run_xgm 0 -q attach vm1 --size 4M
    [[ ! -e $SIM_STATE.new && ! -e $SIM_STATE.new-journal ]] ||
        die "half-made state left: $(ls -A "$XGM_TMP")"
    [[ -e $SIM_STATE.newer ]] || die "removed a file that is not ours"
    run_xgm 0 -j list
    assert_json "$output" 'length' 2
    # A reset makes its own, whatever half-made one is there.
    printf 'partial' >"$SIM_STATE.new"
    run_xgm 0 -q sim reset
    run_xgm 0 -j list
    assert_json "$output" 'length' 0
}

# ---- check and dump, for support engineers --------------------------------

@test "check reports orphaned runs with their size, the first 16, then '... and N more' with totals" {
    # ram-mmio (an extension) maps system RAM as special entries; auto
    # would pick ioreq, which writes nothing into the p2m.
    run_xgm 0 -q sim init --force --dom0 pv --extensions ram-mmio,transfer
    run_xgm 0 -q attach vm1 --size 16M --placement sys --strategy ram-mmio
    run_xgm 0 -q attach vm2 --size 4M
    run_xgm 0 -j dump -o "$XGM_TMP/host.json"
    # Two records deleted: every entry of both blobs is an orphan.
    jq 'del(.store["/xgpumap/blob/1/1"], .store["/xgpumap/blob/2/1"])' \
        "$XGM_TMP/host.json" >"$XGM_TMP/cut.json"
    run_xgm 1 -j check --input "$XGM_TMP/cut.json"
    is_one_json "$output"
    local orph
    orph=$(jq -c '[.[] | select(.check == "orphan-special-entry")]' <<<"$output")
    # vm1's 4096 scattered frames: 16 runs listed, then the total.
    assert_json "$orph" '[.[] | select(.objects.domid == 1 and .objects.runs == null)] | length' 16
    assert_json "$orph" '[.[] | select(.objects.domid == 1 and .objects.runs != null)][0].objects' \
        '{"domid":1,"runs":4096,"frames":4096,"runs_not_listed":4080}'
    # vm2's 4M of VRAM is one run of 1024 frames, said with its size.
    assert_json "$orph" '[.[] | select(.objects.domid == 2)] | length' 1
    assert_json "$orph" '[.[] | select(.objects.domid == 2)][0].objects.frames' 1024
    run_xgm 1 check --input "$XGM_TMP/cut.json"
    contains "$output" "and 4080 more orphaned runs; 4096 runs, 4096 frames (16 MiB) in all"
    contains "$output" "1024 mmio_direct frames (4 MiB) at gfn 0x140000..0x1403ff"
}

@test "check --input finds what live check finds: a ram-mmio frame without its page reference" {
    run_xgm 0 -q sim init --force --extensions ram-mmio,transfer
    run_xgm 0 -q attach vm1 --size 4M --strategy ram-mmio
    # Drop ten page references behind xgpumap's back.
    state_row_edit host "id = 1" '.refs = .refs[10:]'
    run_xgm 1 -j check
    local live
    live=$(jq -c '[.[] | {check, message}]' <<<"$output")
    assert_json "$live" '[.[].check]' '["frame-owner"]'
    run_xgm 0 -j dump -o "$XGM_TMP/host.json"
    run_xgm 1 -j check --input "$XGM_TMP/host.json"
    is "$(jq -c '[.[] | {check, message}]' <<<"$output")" "$live" "offline findings = live findings"
}

@test "check --input reports a dump whose sections disagree" {
    run_xgm 0 -q attach vm1 --size 4M
    run_xgm 0 -q attach vm2 --size 4M
    run_xgm 0 -j dump -o "$XGM_TMP/host.json"
    run_xgm 0 check --input "$XGM_TMP/host.json"
    local edit
    for edit in 'del(.blobs)' '.blobs[0].gfn=1' '.blobs=5' '.blobs += [.blobs[0] | .id = "vm1:7"]'; do
        jq "$edit" "$XGM_TMP/host.json" >"$XGM_TMP/edited.json"
        run_xgm 1 -j check --input "$XGM_TMP/edited.json"
        assert_json "$output" '[.[].check] | index("dump-sections") != null' true "$edit"
    done
    # A blob's domain removed from the domains section.
    jq 'del(.domains[] | select(.name == "vm1"))' "$XGM_TMP/host.json" >"$XGM_TMP/edited.json"
    run_xgm 1 check --input "$XGM_TMP/edited.json"
    contains "$output" "blob vm1:1 belongs to domain 1 (vm1), which the host does not have"
}

@test "migrate --pause: paused from before the copy to after the switch, as the man page says; the time is reported" {
    run_xgm 0 -q attach vm1 --size 16M
    # Killed during the copy: the guest is already paused.
    XGPUMAP_CRASH=buf_copy:1 run "$XGPUMAP" --sim-state "$SIM_STATE" \
        migrate vm1:1 --to sys --pause
    is "$status" 137 "exit status of the killed migrate"
    run_xgm 0 -j domain show vm1
    assert_json "$output" .state paused
    run_xgm 0 -q recover
    run_xgm 0 -j migrate vm1:1 --to sys --pause
    assert_json "$output" '.paused_us | keys' '["max","min","p50","p90","p99"]'
    assert_json "$output" '.paused_us.max >= .blackout_us.max' true
    run_xgm 0 -j migrate vm1:1 --to vram --pause --repeat 3
    assert_json "$output" '.paused_us | keys' '["max","min","p50","p90","p99"]'
    awk '/^\.It Fl -pause/ {on = 1; next} on && /^\.(It|El)/ {on = 0} on' "$XGM_MAN1" | tr '\n' ' ' |
        grep -q "before the copy" || die "xgpumap.1 --pause does not say the copy is paused"
}

# ---- batch, shell, completion ---------------------------------------------

@test "global options at the start of a batch or shell line apply to that line" {
    printf '%s\n' '-j domain show vm1' '-q list' 'domain show vm1' >"$XGM_TMP/cmds"
    run_xgm 0 batch "$XGM_TMP/cmds"
    is_one_json "${lines[0]}" "the -j line"
    contains "$output" "name"
    run_xgm 0 -j batch "$XGM_TMP/cmds"
    is_one_json "$output"
    assert_json "$output" '[.[].output | if type == "object" then .name else length end]' \
        '["vm1",0,"vm1"]'
    # --sim-state on a line names another host for that line only.
    run_xgm_raw 0 --sim-state "$XGM_TMP/other.json" -q sim init
    run_xgm_raw 0 --sim-state "$XGM_TMP/other.json" -q attach vm2 --size 4M
    printf '%s\n' "--sim-state $XGM_TMP/other.json -j list" '-j list' >"$XGM_TMP/cmds"
    run_xgm 0 -j batch "$XGM_TMP/cmds"
    assert_json "$output" '[.[].output | length]' '[1,0]'
    run_xgm 0 shell < <(printf -- '-j domain show vm1\n')
    assert_json "$output" .name vm1
    # An unknown one is a usage error naming it.
    printf '%s\n' '-x list' >"$XGM_TMP/cmds"
    run_xgm 2 batch "$XGM_TMP/cmds"
    contains "$stderr" "unknown option '-x'"
}

@test "-j shell is refused with one error document; batch - gives one document" {
    run_xgm 2 -j shell < <(printf 'version\nfrobnicate\n')
    assert_error_doc "$output" EINVAL
    contains "$output" "batch -"
    run_xgm 2 -j batch --keep-going - < <(printf 'version\nfrobnicate\n')
    is_one_json "$output"
}

@test "completion offers bench scenarios and subcommands after an abbreviated group" {
    run_xgm 0 __complete bench ''
    is "$(sort <<<"$output")" "$(printf '%s\n' all attach migrate persist scale strategies)"
    run_xgm 0 __complete bench mi
    is "$output" migrate
    run_xgm 0 __complete dom ''
    is "$(sort <<<"$output")" "$(printf '%s\n' list show)"
    run_xgm 0 __complete dom s ''
    contains "$output" vm1
    run_xgm 0 __complete s ''
    is "$output" "" "'s' is ambiguous (show, shell, sim): nothing"
    # The bash script offers them too, instead of falling back to files.
    touch "$XGM_TMP/migrate.txt"
    run bash --norc --noprofile -c '
        complete() { :; }
        source "$1" || exit 99
        cd "$2" || exit 97
        COMP_WORDS=(xgpumap bench mi) COMP_CWORD=2
        _xgpumap || exit 98
        printf "%s\n" "${COMPREPLY[@]}"' bash "$XGM_BASH_COMPLETION" "$XGM_TMP"
    is "$output" migrate "bash: xgpumap bench mi<TAB>"
}

@test "completion offers only domains the command can work on: attach guests, p2m translated ones" {
    run_xgm 0 -q sim init --force --dom0 pv
    run_xgm 0 __complete attach ''
    is "$(sort <<<"$output")" "$(printf '%s\n' vm1 vm2)" "attach: no Domain-0, no PV vm3"
    run_xgm 0 __complete p2m ''
    is "$(sort <<<"$output")" "$(printf '%s\n' vm1 vm2)" "p2m on a PV dom0: translated guests only"
    run_xgm 0 __complete domain show ''
    is "$(sort <<<"$output")" "$(printf '%s\n' Domain-0 vm1 vm2 vm3)" "domain show: every domain"
    # What the shell's Tab offers is this same list.
    run_xgm 0 -q sim init --force
    run_xgm 0 __complete p2m ''
    contains "$output" Domain-0 "a PVH dom0 has a p2m"
}

# shell_on_tty KEYS...: runs the shell on a terminal, typing each KEYS
# argument a second apart; the terminal's output is in $XGM_TMP/tty.out.
shell_on_tty() {
    local cmd k
    cmd="$(printf '%q ' "$XGPUMAP" --sim-state "$SIM_STATE" shell)"
    for k in "$@"; do
        sleep 1
        printf '%s' "$k"
    done | { sleep 0; timeout 30 script -qfc "$cmd" /dev/null >"$XGM_TMP/tty.out" 2>&1 || true; }
}

@test "shell on a terminal: a hint at start; a line with a quoting error stays in the history" {
    command -v script >/dev/null || die "script(1) (util-linux) is needed"
    shell_on_tty $'help "version\r' $'exit\r' ''
    contains "$(cat "$XGM_TMP/tty.out")" "'help' lists the commands" "the hint at start"
    contains "$(cat "$XGM_TMP/tty.out")" "unterminated quote"
    local hist=$XDG_STATE_HOME/xgpumap/history
    [[ -s $hist ]] || die "no shell history at $hist"
    contains "$(cat "$hist")" 'help "version' "the line with the quoting error"
    # Piped, there is no hint.
    run_xgm 0 shell < <(printf 'version\n')
    not_contains "$stderr" "Tab completes"
}

# The synopsis of one command in xgpumap(1), rendered as text: the line
# mandoc prints for its ".It Cm" entry.
man_synopsis() {
    MANWIDTH=400 mandoc -Tascii -O width=400 "$XGM_MAN1" | sed "s/.\x08//g" |
        awk -v c="$1" '{ sub(/^ +/, "") }
            # The entry, not a line of prose that happens to start with
            # the word: after the name comes an argument, an option, the
            # gap before the text of a short tag, or nothing.
            (index($0, c " ") == 1 && substr($0, length(c) + 2, 1) ~ /[A-Z[| -]/) ||
            $0 == c {
                # A short tag shares its line with the text: cut that off.
                sub(/(  |\t).*/, ""); print; exit
            }'
}

@test "one grammar: help prints required options unbracketed, as xgpumap(1) does, for every command" {
    local name help man problems=()
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        help=$("$XGPUMAP" -j help $name | jq -r .usage)
        help=${help#xgpumap }
        man=$(man_synopsis "$name")
        # mandoc spaces the bars of "vram | sys": compare without them.
        [[ ${help// | /|} == "${man// | /|}" ]] ||
            problems+=("'$name': help '$help', man '$man'")
    done < <(xgm_commands)
    ((${#problems[@]} == 0)) || die "${problems[@]}"
    run_xgm 0 help gpu alloc
    contains "${lines[0]}" "gpu alloc CARD --size SIZE [--placement"
    run_xgm 0 help detach
    is "${lines[0]}" "Usage: xgpumap detach BLOB | DOM --all"
    run_xgm 0 -j help migrate
    assert_json "$output" .usage "xgpumap migrate BLOB --to vram|sys [--repeat N] [--pause]"
}

@test "required options are refused by the dispatcher (exit 2) before anything opens" {
    run_xgm 2 gpu alloc card0
    contains "$stderr" "gpu alloc: --size SIZE is required"
    run_xgm 2 -j migrate vm1:1
    assert_error_doc "$output" EINVAL
    contains "$output" "--to vram|sys is required"
    rm -f "$SIM_STATE"
    run_xgm 2 gpu alloc card0
    [[ ! -e $SIM_STATE ]] || die "a usage error created the state"
}

@test "help text fits 78 columns; batch's help says how comments really work" {
    local name long=()
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        while IFS= read -r line; do
            ((${#line} <= 78)) || long+=("$name: $line")
        done < <("$XGPUMAP" help $name)
    done < <(xgm_commands; xgm_groups; echo)
    ((${#long[@]} == 0)) || die "lines over 78 columns:" "${long[@]}"
    run_xgm 0 help batch
    contains "$(tr '\n' ' ' <<<"$output")" "'#' at the start of a word starts a comment"
    not_contains "$output" "lines starting with # are skipped"
}

@test "attach --strategy grant implies --placement sys; dom0 names Domain-0" {
    run_xgm 0 -j attach vm1 --size 4M --strategy grant
    assert_json "$output" '[.placement, .strategy]' '["sys","grant"]'
    run_xgm 2 attach vm1 --size 4M --strategy grant --placement vram
    contains "$stderr" "cannot map VRAM"
    run_xgm 0 -j domain show dom0
    assert_json "$output" .name Domain-0
    run_xgm 1 attach dom0 --size 4M
    contains "$stderr" "refusing to map into dom0 (Domain-0)"
    not_contains "$stderr" "no domain 'dom0'"
}
