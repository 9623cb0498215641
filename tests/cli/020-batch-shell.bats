#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# batch FILE and shell: many commands through one dispatcher.
#
# A command that fails with exit status 1 without needing the simulated
# host's model: any command that reads a corrupt state file (the state file
# layer refuses it, EBADMSG). make_failing_state sets that up.

load helpers

make_failing_state() {
    printf 'this is not json\n' >"$SIM_STATE"
}

# batch_file LINE...: writes the lines to $XGM_TMP/cmds and prints the path.
batch_file() {
    printf '%s\n' "$@" >"$XGM_TMP/cmds"
    echo "$XGM_TMP/cmds"
}

@test "batch FILE runs every line, in order" {
    local f
    f=$(batch_file "version" "help version")
    run_xgm 0 batch "$f"
    like "${lines[0]}" '^version +: ' "first line: version's output"
    contains "$output" "Usage: xgpumap version" "help version's output"
    is "$stderr" "" "stderr"

    run_xgm 0 -j batch "$f"
    is_one_json "$output"
    assert_json "$output" 'length' 2
    assert_json "$output" '[.[].command]' '[["version"],["help","version"]]'
    assert_json "$output" '.[0].output.features.backend_sim' true
    assert_json "$output" '.[1].output.command' version
}

@test "batch - reads standard input" {
    run_xgm 0 -j batch - < <(printf 'version\nhelp\n')
    assert_json "$output" '[.[].command[0]]' '["version","help"]'
}

@test "batch: blank lines, blanks-only lines and # comments are skipped" {
    local f
    f=$(batch_file "" "# a comment" "   " $'\t' "   # an indented comment" \
                   "version   # a trailing comment" "" "help  #")
    run_xgm 0 -j batch "$f"
    assert_json "$output" '[.[].command]' '[["version"],["help"]]'
}

@test "batch: words are split as by sh, with quotes and backslashes" {
    # An unknown command echoes its words back in the -j entry.
    local f
    f=$(batch_file \
        "frob 'a b' \"c \\\"d\\\" e\" f\\ g '' \"\" 'it'\\''s' \$HOME *" \
        "version")
    run_xgm 2 -j batch --keep-going "$f"
    is_one_json "$output"
    assert_json "$output" '.[0].command' \
        '["frob","a b","c \"d\" e","f g","","","it'"'"'s","$HOME","*"]'
    assert_json "$output" '.[0].error.code' EINVAL
    assert_json "$output" '.[1].command' '["version"]'
    assert_json "$output" '.[1].output | has("version")' true
}

@test "batch: a quoted word is an argument like any other" {
    local f
    f=$(batch_file "help 'version'" 'help "sim" init')
    run_xgm 0 -j batch "$f"
    assert_json "$output" '[.[].output.command]' '["version","sim init"]'
}

@test "batch: an unterminated quote is a usage error naming the line" {
    local f
    f=$(batch_file "version" "help 'version")
    run_xgm 2 batch "$f"
    contains "$stderr" "line 2"
    contains "$stderr" "quote"

    run_xgm 2 -j batch "$f"
    is_one_json "$output"
    assert_json "$output" 'length' 2
    assert_json "$output" '.[1].error.code' EINVAL
}

@test "batch: stops at the first failure and exits with its status (usage: 2)" {
    local f
    f=$(batch_file "version" "frobnicate" "help")
    run_xgm 2 batch "$f"
    like "${lines[0]}" '^version +: ' "the line before the failure ran"
    not_contains "$output" "Usage: xgpumap" "the line after the failure must not run"
    contains "$stderr" "frobnicate"
    contains "$stderr" "line 2"

    run_xgm 2 -j batch "$f"
    assert_json "$output" '[.[].command[0]]' '["version","frobnicate"]'
    assert_json "$output" '.[1] | keys' '["command","error"]'
    assert_json "$output" '.[1].error.code' EINVAL
}

@test "batch: stops at the first failure and exits with its status (failed: 1)" {
    make_failing_state
    local sum
    sum=$(file_sum "$SIM_STATE")
    local f
    f=$(batch_file "version" "domain list" "frobnicate" "help")
    run_xgm 1 batch "$f"
    like "${lines[0]}" '^version +: ' "the line before the failure ran"
    not_contains "$stderr" "frobnicate" "the lines after the failure must not run"

    run_xgm 1 -j batch "$f"
    assert_json "$output" 'length' 2
    assert_json "$output" '.[1].command' '["domain","list"]'
    assert_json "$output" '.[1].error.code' EBADMSG
    assert_unchanged "$SIM_STATE" "$sum"
}

@test "batch --keep-going runs every line and exits with the first failure's status" {
    make_failing_state
    local f
    f=$(batch_file "domain list" "version" "frobnicate" "help")
    run_xgm 1 batch --keep-going "$f"
    like "${lines[0]}" '^version +: ' "version ran after the failure"
    contains "$output" "Usage: xgpumap" "help ran after two failures"
    contains "$stderr" "frobnicate"

    run_xgm 1 -j batch -k "$f"
    is_one_json "$output"
    assert_json "$output" '[.[].command[0]]' '["domain","version","frobnicate","help"]'
    assert_json "$output" '[.[] | has("error")]' '[true,false,true,false]'
    assert_json "$output" '[.[] | has("output")]' '[false,true,false,true]'

    # The first failure's status, not the last one's.
    f=$(batch_file "frobnicate" "domain list")
    run_xgm 2 batch -k "$f"
}

@test "batch -j: one JSON array of {command, output} and {command, error}" {
    make_failing_state
    local f
    f=$(batch_file "version" "domain list" "help version")
    run_xgm 1 -j batch --keep-going "$f"
    is_one_json "$output"
    is "$stderr" "" "stderr in JSON mode"
    assert_json "$output" 'type' '"array"'
    assert_json "$output" '[.[] | keys]' \
        '[["command","output"],["command","error"],["command","output"]]'
    assert_json "$output" '[.[].command | type]' '["array","array","array"]'
    assert_json "$output" '.[1].error | keys' '["code","errno","message"]'
}

@test "batch: per-line global flags apply to that line only" {
    local f
    f=$(batch_file "version -j" "version")
    run_xgm 0 batch "$f"
    is_one_json "${lines[0]}" "first line (version -j)"
    like "${lines[1]}" '^version +: ' "second line (version, text)"
}

@test "batch inside batch is refused" {
    local f
    f=$(batch_file "version" "batch -" "help")
    run_xgm 2 batch "$f" </dev/null
    contains "$stderr" "batch"
    not_contains "$output" "Usage: xgpumap" "the line after the refusal must not run"

    run_xgm 2 -j batch "$f" </dev/null
    assert_json "$output" '.[1].command' '["batch","-"]'
    assert_json "$output" '.[1].error.code' EINVAL
}

@test "shell inside batch is refused" {
    local f
    f=$(batch_file "shell")
    run_xgm 2 batch "$f" </dev/null
    contains "$stderr" "shell"
}

@test "batch: a missing file fails with exit 1, no file is a usage error" {
    run_xgm 1 batch "$XGM_TMP/no-such-file"
    contains "$stderr" "no-such-file"
    run_xgm 1 -j batch "$XGM_TMP/no-such-file"
    assert_error_doc "$output" ENOENT 2

    run_xgm 2 batch
    run_xgm 2 batch a b
}

@test "batch of an empty file succeeds and prints an empty array with -j" {
    : >"$XGM_TMP/empty"
    run_xgm 0 batch "$XGM_TMP/empty"
    is "$output" "" "stdout"
    run_xgm 0 -j batch "$XGM_TMP/empty"
    assert_json "$output" '.' '[]'
}

# ---- shell ----------------------------------------------------------------

@test "shell: runs the commands read from stdin and exits 0 at end of input" {
    run_xgm 0 shell < <(printf 'version\nhelp version\n')
    contains "$output" "0." "version's output"
    contains "$output" "Usage: xgpumap version" "help's output"
}

@test "shell: a failing command prints its error and the shell goes on" {
    run_xgm 0 shell < <(printf 'frobnicate\nhelp version\n')
    contains "$stderr" "frobnicate"
    contains "$output" "Usage: xgpumap version"
}

@test "shell: exit and quit leave" {
    run_xgm 0 shell < <(printf 'help version\nexit\nfrobnicate\n')
    contains "$output" "Usage: xgpumap version"
    not_contains "$stderr" "frobnicate" "a line after exit ran"

    run_xgm 0 shell < <(printf 'quit\nfrobnicate\n')
    not_contains "$stderr" "frobnicate" "a line after quit ran"
}

@test "shell: quoting as in batch, blank lines and comments are skipped" {
    run_xgm 0 shell < <(printf '\n# comment\n  \nhelp "version"\n')
    contains "$output" "Usage: xgpumap version"
    is "$stderr" "" "stderr"
}

@test "shell inside shell is refused, the outer shell goes on" {
    run_xgm 0 shell < <(printf 'shell\nhelp version\n')
    contains "$stderr" "shell"
    contains "$output" "Usage: xgpumap version"
}

@test "shell: piped input is not echoed, -j on a line prints pure JSON" {
    run_xgm 0 shell < <(printf -- '-j version\nhelp -j version\n')
    local line n=0
    for line in "${lines[@]}"; do
        [[ -z $line ]] && continue
        n=$((n + 1))
        is_one_json "$line" "shell output line '$line'"
    done
    is "$n" 2 "number of JSON documents printed by the shell"
}

@test "shell: flags of one line do not leak into the next" {
    run_xgm 0 shell < <(printf 'version -j\nversion\n')
    local json_lines
    json_lines=$(grep -c '^{' <<<"$output" || true)
    is "$json_lines" 1 "JSON documents (only 'version -j' prints one)"
    contains "$output" "version " "text output of the second version"
}

@test "shell: extra arguments are a usage error" {
    run_xgm 2 shell extra </dev/null
    contains "$stderr" "extra"
}

@test "shell: on a terminal, the history goes to \$XDG_STATE_HOME/xgpumap/history" {
    command -v script >/dev/null || die "script(1) (util-linux) is needed to give the shell a terminal"
    # The state lives elsewhere: nothing else creates $XDG_STATE_HOME/xgpumap.
    local cmd
    cmd="$(printf '%q ' "$XGPUMAP" --sim-state "$SIM_STATE" shell)"
    (sleep 1; printf 'help version\r'; sleep 1; printf 'exit\r'; sleep 1) |
        timeout 20 script -qfc "$cmd" /dev/null >"$XGM_TMP/tty.out" 2>&1 || true
    contains "$(cat "$XGM_TMP/tty.out")" "Usage: xgpumap version" "the shell ran on the terminal"
    local hist=$XDG_STATE_HOME/xgpumap/history
    [[ -s $hist ]] || die "no shell history at $hist"
    contains "$(cat "$hist")" "help version" "the history"
    [[ ! -e $HOME/.local/state/xgpumap/history ]] || die "history written under HOME too"
}
