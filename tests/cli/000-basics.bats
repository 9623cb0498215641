#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Fail-fast basics: help, version, usage errors, the JSON error document,
# exit statuses, command-name prefixes. Nothing here needs the simulated host.

load helpers

@test "--help: exits 0, usage on stdout, nothing on stderr" {
    run_xgm 0 --help
    like "${lines[0]}" '^Usage: xgpumap ' "first line of --help"
    contains "$output" "Commands:"
    contains "$output" "Exit status:"
    is "$stderr" "" "stderr of --help"

    run_xgm 0 -h
    like "${lines[0]}" '^Usage: xgpumap ' "first line of -h"
}

@test "help: the same text as --help" {
    run_xgm 0 --help
    local want=$output
    run_xgm 0 help
    is "$output" "$want" "'help' vs '--help'"
}

@test "help -j: one document listing every visible command" {
    run_xgm 0 -j help
    is_one_json "$output"
    assert_json "$output" '.commands | length > 0' true
    assert_json "$output" '[.commands[] | (.command|type) == "string" and (.summary|type) == "string"] | all' true
    assert_json "$output" '[.commands[].command | select(startswith("__"))] | length' 0 \
        "hidden commands are not listed"
}

@test "no command: usage error on stderr, exit 2" {
    run_xgm 2
    is "$output" "" "stdout"
    contains "$stderr" "no command"
}

@test "unknown command: exit 2, message on stderr, nothing on stdout" {
    run_xgm 2 frobnicate
    is "$output" "" "stdout of an unknown command"
    contains "$stderr" "frobnicate"
    like "${stderr_lines[0]}" '^xgpumap: ' "error line prefix"
}

@test "-j unknown command: exactly the JSON error document on stdout, exit 2" {
    run_xgm 2 -j frobnicate
    assert_error_doc "$output" EINVAL 22
    assert_json "$output" '.error.message | contains("frobnicate")' true
    is "${#lines[@]}" 1 "number of stdout lines"
    is "$stderr" "" "stderr in JSON mode"
}

@test "-p: indented JSON, the same document as -j" {
    run_xgm 0 -j version
    local compact=$output
    run_xgm 0 -p version
    is_one_json "$output"
    ((${#lines[@]} > 1)) || die "-p printed a single line: $output"
    is "$(jq -cS . <<<"$output")" "$(jq -cS . <<<"$compact")" "-p vs -j"

    run_xgm 2 -p frobnicate
    assert_error_doc "$output" EINVAL 22
}

@test "-j version: version strings and a features object with backend_sim" {
    run_xgm 0 -j version
    is_one_json "$output"
    assert_json "$output" '.features | type' '"object"'
    assert_json "$output" '.features.backend_sim' true
    assert_json "$output" '[.features[] | type == "boolean"] | all' true "features are booleans"
    like "$(jq -r .version <<<"$output")" '^[0-9]+\.[0-9]+\.[0-9]+' "version"
    like "$(jq -r .library <<<"$output")" '^[0-9]+\.[0-9]+\.[0-9]+' "library version"
}

@test "-V / --version: 'xgpumap VERSION', the version of 'version -j'" {
    run_xgm 0 -j version
    local v
    v=$(jq -r .version <<<"$output")

    run_xgm 0 -V
    is "$output" "xgpumap $v"
    is "$stderr" "" "stderr of -V"

    run_xgm 0 --version
    is "$output" "xgpumap $v"

    run_xgm 0 -j -V
    assert_json "$output" '.version' "$v"
}

@test "version: text output is aligned key : value" {
    run_xgm 0 version
    like "${lines[0]}" '^version +: [0-9]' "first line"
    run_xgm 2 version extra
    contains "$stderr" "extra"
    run_xgm 2 version --frobnicate
    contains "$stderr" "--frobnicate"
}

@test "unknown global option: exit 2, message on stderr" {
    run_xgm 2 --frobnicate version
    is "$output" "" "stdout"
    contains "$stderr" "--frobnicate"

    run_xgm 2 -Z version
    is "$output" "" "stdout"
    contains "$stderr" "-Z"

    run_xgm 2 -j --frobnicate version
    assert_error_doc "$output" EINVAL 22
}

@test "global option without its value: exit 2" {
    run_xgm_raw 2 --sim-state
    contains "$stderr" "--sim-state"
    run_xgm 2 -b
    contains "$stderr" "-b"
}

@test "-b and XGPUMAP_BACKEND accept only auto, xen, sim" {
    run_xgm 2 -b bogus version
    contains "$stderr" "bogus"
    run_xgm 0 -b sim version
    run_xgm 0 --backend=auto version

    XGPUMAP_BACKEND=bogus run_xgm 2 version
    contains "$stderr" "XGPUMAP_BACKEND"
}

@test "global flags may follow the command" {
    run_xgm 0 version -j
    is_one_json "$output"
    assert_json "$output" '.features.backend_sim' true
    run_xgm 0 version --json
    is_one_json "$output"
}

@test "batch - reads commands from stdin" {
    run_xgm 0 batch - <<<"version"
    like "${lines[0]}" '^version +: ' "output of the batched version"

    run_xgm 0 -j batch - <<<"version"
    is_one_json "$output"
    assert_json "$output" '.[0].command' '["version"]'
    assert_json "$output" '.[0].output.features.backend_sim' true
}

@test "an ambiguous prefix lists the candidates, exit 2" {
    # Pick a prefix shared by two top-level words of the current table.
    local -a words
    mapfile -t words < <(xgm_top_words)
    local prefix="" a b
    for a in "${words[@]}"; do
        for b in "${words[@]}"; do
            [[ $a == "$b" ]] && continue
            if [[ ${a:0:1} == "${b:0:1}" ]]; then
                prefix=${a:0:1}
                break 2
            fi
        done
    done
    [[ -n $prefix ]] || die "no two commands share a first letter: ${words[*]}"

    run_xgm 2 "$prefix"
    is "$output" "" "stdout"
    contains "$stderr" "ambiguous"
    local w
    for w in "${words[@]}"; do
        if [[ $w == "$prefix"* ]]; then
            contains "$stderr" "$w" "candidate '$w' listed for prefix '$prefix'"
        fi
    done

    run_xgm 2 -j "$prefix"
    assert_error_doc "$output" EINVAL 22
    assert_json "$output" '.error.message | contains("ambiguous")' true
}

@test "a unique prefix runs the command" {
    local -a words
    mapfile -t words < <(xgm_top_words)
    # The shortest prefix of "version" that no other word shares.
    local name=version n p w unique
    for ((n = 1; n <= ${#name}; n++)); do
        p=${name:0:n}
        unique=1
        for w in "${words[@]}"; do
            [[ $w != version && $w == "$p"* ]] && unique=0
        done
        ((unique)) && break
    done
    run_xgm 0 -j version
    local want=$output
    run_xgm 0 -j "$p"
    is "$output" "$want" "'$p' runs version"

    # Prefixes work for subcommands too, and in help.
    run_xgm 0 -j help "$p"
    assert_json "$output" '.command' version
}

@test "an exact name wins" {
    local -a words
    mapfile -t words < <(xgm_top_words)
    local w
    for w in "${words[@]}"; do
        run_xgm 0 -j help "$w"
        assert_json "$output" '.command' "$w" "help $w"
    done
    # A name that is a prefix of another name still means itself.
    local a b
    for a in "${words[@]}"; do
        for b in "${words[@]}"; do
            if [[ $a != "$b" && $b == "$a"* ]]; then
                run_xgm 0 -j help "$a"
                assert_json "$output" '.command' "$a" "exact '$a' vs longer '$b'"
            fi
        done
    done
    # Within a group.
    local g s
    while read -r g s; do
        run_xgm 0 -j help "$g" "$s"
        assert_json "$output" '.command' "$g $s"
    done < <(xgm_commands | awk 'NF == 2')
}

@test "a group without a subcommand is a usage error" {
    local g
    for g in $(xgm_groups); do
        run_xgm 2 "$g"
        is "$output" "" "stdout of '$g'"
        contains "$stderr" "subcommand" "stderr of '$g'"
        run_xgm 2 "$g" frobnicate
        contains "$stderr" "frobnicate"
    done
}

@test "help of an unknown command: exit 2" {
    run_xgm 2 help frobnicate
    contains "$stderr" "frobnicate"
    run_xgm 2 -j help frobnicate
    assert_error_doc "$output" EINVAL 22
}

@test "control characters are escaped in human error messages" {
    run_xgm 2 $'\e[31mred\x01'
    no_control_chars "$stderr" "stderr"
    contains "$stderr" '\x1b[31mred\x01'

    # JSON keeps them, escaped as JSON does.
    run_xgm 2 -j $'\e[31mred'
    is_one_json "$output"
    assert_json "$output" '.error.message | contains("\u001b[31mred")' true
    no_control_chars "$output" "JSON output"
}

@test "a write error on stdout is a failure" {
    run bash -c '"$XGPUMAP" --sim-state "$1" version >/dev/full' _ "$SIM_STATE"
    is "$status" 1 "exit status of 'version >/dev/full'"
}

@test "the user's real state is never used by the tests" {
    # The harness points every default location into the test's directory.
    like "$SIM_STATE" "^$XGM_TMP/" "SIM_STATE"
    like "$XDG_STATE_HOME" "^$XGM_TMP/" "XDG_STATE_HOME"
    like "$HOME" "^$XGM_TMP/" "HOME"
    is "${XGPUMAP_SIM_STATE:-unset}" unset "XGPUMAP_SIM_STATE"
}
