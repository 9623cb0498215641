#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Meta tests: the command table, as the binary reports it (`-j help`), must
# agree with --help, help, the man pages, the completion engine and the
# completion scripts; every -j output must parse. Each test walks every
# command and reports all the disagreements it finds at once.

load helpers

# Collected failures of one test; report_problems fails when there are any.
problems=()
problem() { problems+=("$*"); }
report_problems() {
    if ((${#problems[@]})); then
        die "${problems[@]}"
        return 1
    fi
}

# The leaves and the groups, each on one line.
all_names() {
    xgm_commands
    xgm_groups
}

@test "meta: the command table is not empty and has the documented groups" {
    local cmds
    cmds=$(xgm_commands)
    [[ -n $cmds ]] || die "xgpumap -j help lists no commands"
    local c
    for c in "domain list" "domain show" "sim init" "sim show" "sim reset" \
             batch shell version help; do
        grep -qxF "$c" <<<"$cmds" || problem "'$c' missing from -j help"
    done
    report_problems
}

@test "meta: CMD --help exits 0 and prints its usage on stdout, for every command and group" {
    local name
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" $name --help </dev/null
        if ((status != 0)); then
            problem "'$name --help' exited $status: $stderr"
            continue
        fi
        [[ ${lines[0]:-} == "Usage: xgpumap $name"* ]] ||
            problem "'$name --help' first line: '${lines[0]:-}'"
        [[ -z $stderr ]] || problem "'$name --help' wrote to stderr: $stderr"
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" $name -h </dev/null
        ((status == 0)) || problem "'$name -h' exited $status"
    done < <(all_names)
    [[ -e $SIM_STATE ]] && problem "--help created a sim state"
    report_problems
}

@test "meta: help CMD exits 0 and prints what CMD --help prints" {
    local name help_out
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" help $name
        if ((status != 0)); then
            problem "'help $name' exited $status: $stderr"
            continue
        fi
        help_out=$output
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" $name --help </dev/null
        [[ $output == "$help_out" ]] ||
            problem "'help $name' and '$name --help' differ"
    done < <(all_names)
    report_problems
}

@test "meta: -j help CMD describes CMD, and -j CMD --help is the same document" {
    local name doc
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j help $name
        if ((status != 0)); then
            problem "'-j help $name' exited $status"
            continue
        fi
        doc=$output
        if ! jq -e --arg n "$name" \
                '.command == $n and (.usage | startswith("xgpumap " + $n)) and
                 (.summary | length > 0) and (.options | type == "array")' \
                <<<"$doc" >/dev/null 2>&1; then
            problem "'-j help $name': bad document: $doc"
        fi
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j $name --help </dev/null
        [[ $(jq -cS . <<<"$output" 2>&1) == "$(jq -cS . <<<"$doc")" ]] ||
            problem "'-j $name --help' differs from '-j help $name': $output"
    done < <(all_names)
    report_problems
}

@test "meta: every command rejects an unknown option with exit 2" {
    local name
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" $name --no-such-option </dev/null
        ((status == 2)) || problem "'$name --no-such-option' exited $status, not 2"
        [[ -z $output ]] || problem "'$name --no-such-option' wrote to stdout: $output"
        [[ $stderr == *--no-such-option* ]] ||
            problem "'$name --no-such-option' does not name the option: $stderr"
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j $name --no-such-option </dev/null
        jq -e '.error.code == "EINVAL" and .error.errno == 22' <<<"$output" >/dev/null 2>&1 ||
            problem "'-j $name --no-such-option': not the EINVAL error document: $output"
        # A usage error has no side effect: no state created on first use.
        if [[ -e $SIM_STATE ]]; then
            problem "'$name --no-such-option' created a sim state"
            rm -f "$SIM_STATE"
        fi
    done < <(xgm_commands)
    report_problems
}

@test "meta: -j output of every command run without arguments is one JSON document" {
    local name
    local args
    while IFS= read -r name; do
        args=$name
        # bench alone runs every scenario at full size (minutes under
        # ASan); one small scenario shows the same output contract, and
        # 080-bench.bats covers the scenarios.
        [[ $name == bench ]] && args="bench attach --size 4M"
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j $args </dev/null
        if ((status > 3)); then
            problem "'-j $name' exited $status"
            continue
        fi
        if [[ $name == shell && -z $output ]]; then
            continue # nothing to read, nothing to print
        fi
        if [[ $(jq -s length <<<"$output" 2>/dev/null) != 1 ]]; then
            problem "'-j $name' (exit $status) did not print exactly one JSON document: $output"
            continue
        fi
        if ((status != 0)); then
            jq -e '(keys == ["error"]) and (.error | keys == ["code","errno","message"])' \
                <<<"$output" >/dev/null ||
                problem "'-j $name' failed (exit $status) without the error document: $output"
        fi
    done < <(xgm_commands)
    report_problems
}

# ---- the man page ---------------------------------------------------------

@test "meta: xgpumap.1 has an .It Cm entry for every command of the table" {
    local man name
    man=$(man_commands)
    [[ -n $man ]] || die "no .It Cm entries in the COMMANDS section of $XGM_MAN1"
    while IFS= read -r name; do
        grep -qxF "$name" <<<"$man" || problem "no '.It Cm $name' in the COMMANDS section"
    done < <(xgm_commands)
    report_problems
}

@test "meta: every .It Cm entry of xgpumap.1 names a command of the table" {
    local cmds name
    cmds=$(all_names)
    while IFS= read -r name; do
        if [[ -z $name ]]; then
            problem "an '.It Cm' entry without a command name"
            continue
        fi
        grep -qxF "$name" <<<"$cmds" || problem "'.It Cm $name' is not a command of the table"
    done < <(man_commands)
    local dups
    dups=$(man_commands | sort | uniq -d)
    [[ -z $dups ]] || problem "commands documented twice: $dups"
    report_problems
}

# The mdoc source of the COMMANDS entry of one command: from its ".It Cm"
# line to the next ".It Cm" or ".Sh".
man_entry() {
    local want=$1
    awk -v want="$want" '
        /^\.Sh / { in_cmds = ($0 == ".Sh COMMANDS"); on = 0; next }
        in_cmds && /^\.It Cm / {
            name = ""
            for (i = 3; i <= NF; i++) {
                if ($i !~ /^[a-z_][a-z0-9_-]*$/)
                    break
                name = name (name == "" ? "" : " ") $i
            }
            on = (name == want)
        }
        on' "$XGM_MAN1"
}

@test "meta: every option of every command is documented in its man entry" {
    local name opt entry
    while IFS= read -r name; do
        entry=$(man_entry "$name")
        # shellcheck disable=SC2086
        while IFS= read -r opt; do
            [[ -z $opt ]] && continue
            grep -qE "Fl -$opt( |$)" <<<"$entry" ||
                problem "'$name --$opt' is not in its man entry"
        done < <("$XGPUMAP" -j help $name | jq -r '.options[].name')
    done < <(xgm_commands)
    report_problems
}

@test "meta: every global option of --help is in xgpumap.1" {
    local line short long n=0
    run_xgm 0 --help
    while IFS= read -r line; do
        # "  -j, --json   text" or "      --sim-state PATH   text"
        if [[ $line =~ ^\ +(-([A-Za-z]),\ )?--([a-z-]+) ]]; then
            short=${BASH_REMATCH[2]}
            long=${BASH_REMATCH[3]}
            n=$((n + 1))
            grep -qE "^\.It Fl .*-$long( |$)|Fl -$long( |$)" "$XGM_MAN1" ||
                problem "--$long is not in xgpumap.1"
            if [[ -n $short ]]; then
                grep -qE "^\.It Fl $short( |$)" "$XGM_MAN1" ||
                    problem "-$short has no '.It Fl $short' entry in xgpumap.1"
            fi
        fi
    done <<<"$output"
    ((n >= 8)) || problem "found only $n global options in --help"
    report_problems
}

@test "meta: xgpumap.1 has the required sections and exit statuses" {
    local s
    for s in NAME SYNOPSIS DESCRIPTION COMMANDS OUTPUT "EXIT STATUS" ENVIRONMENT \
             FILES EXAMPLES "SEE ALSO"; do
        grep -qxF ".Sh $s" "$XGM_MAN1" || problem "no section $s"
    done
    local st
    for st in 0 1 2 3; do
        awk '/^\.Sh /{on = ($0 == ".Sh EXIT STATUS")} on' "$XGM_MAN1" |
            grep -qx "\.It $st" || problem "exit status $st not in EXIT STATUS"
    done
    local v
    for v in XGPUMAP_BACKEND XGPUMAP_SIM_STATE XDG_STATE_HOME HOME; do
        grep -qE "^\.It Ev $v( |$)" "$XGM_MAN1" || problem "no ENVIRONMENT entry for $v"
    done
    grep -qF 'Xr libxgpumap 3' "$XGM_MAN1" || problem "SEE ALSO lacks libxgpumap(3)"
    report_problems
}

@test "meta: libxgpumap.3 documents every function of the public headers, and no other" {
    local fn header_fns man_fns
    header_fns=$(cat "${XGM_HEADERS[@]}" | grep -oE '^XGM_API[^(]*\(' |
                 grep -oE '[a-z_][a-z0-9_]*\($' | tr -d '(' | sort -u)
    [[ -n $header_fns ]] || die "no XGM_API functions found in ${XGM_HEADERS[*]}"
    man_fns=$(awk '/^\.Sh /{on = ($0 == ".Sh SYNOPSIS")} on && /^\.Fn /{print $2}' "$XGM_MAN3" | sort -u)
    for fn in $header_fns; do
        grep -qxF "$fn" <<<"$man_fns" || problem "$fn is not in the SYNOPSIS of libxgpumap.3"
        grep -qE "^\.Fn $fn( |$)" <(awk '/^\.Sh /{on = ($0 == ".Sh DESCRIPTION")} on' "$XGM_MAN3") ||
            problem "$fn is not described in the DESCRIPTION of libxgpumap.3"
    done
    for fn in $man_fns; do
        grep -qxF "$fn" <<<"$header_fns" || problem "libxgpumap.3 documents $fn, which no public header has"
    done
    report_problems
}

@test "meta: the man pages are clean under mandoc -Tlint -W warning" {
    command -v mandoc >/dev/null || die "mandoc is not installed (make deps)"
    local m out
    for m in "$XGM_MAN1" "$XGM_MAN3"; do
        out=$(mandoc -Tlint -W warning "$m" 2>&1) || true
        [[ -z $out ]] || problem "$out"
    done
    report_problems
}

# ---- completion -----------------------------------------------------------

# complete_words WORD...: the candidates of `xgpumap __complete WORD...`.
complete_words() {
    "$XGPUMAP" --sim-state "$SIM_STATE" __complete "$@"
}

@test "meta: __complete '' offers every top-level command, and nothing hidden" {
    local got w
    got=$(complete_words '')
    while IFS= read -r w; do
        grep -qxF "$w" <<<"$got" || problem "'$w' not offered by __complete ''"
    done < <(xgm_top_words)
    is "$(sort <<<"$got")" "$(xgm_top_words | sort)" "__complete '' offers exactly the top-level words"
    report_problems
}

@test "meta: __complete GROUP '' offers every subcommand" {
    local g s got
    for g in $(xgm_groups); do
        got=$(complete_words "$g" '')
        while read -r s; do
            grep -qxF "$s" <<<"$got" || problem "'$g $s' not offered by __complete $g ''"
        done < <(xgm_commands | awk -v g="$g" '$1 == g {print $2}')
    done
    report_problems
}

@test "meta: __complete filters by the partial word" {
    local w got c
    for w in $(xgm_top_words); do
        got=$(complete_words "${w:0:2}")
        grep -qxF "$w" <<<"$got" || problem "'$w' not offered for '${w:0:2}'"
        while IFS= read -r c; do
            [[ -z $c || $c == "${w:0:2}"* ]] || problem "'$c' offered for '${w:0:2}'"
        done <<<"$got"
    done
    got=$(complete_words frobnicate)
    [[ -z $got ]] || problem "candidates for 'frobnicate': $got"
    report_problems
}

@test "meta: __complete CMD -- offers every option of CMD" {
    local name opt got
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        got=$(complete_words $name --)
        grep -qxF -- --help <<<"$got" || problem "'$name' does not offer --help"
        # shellcheck disable=SC2086
        while IFS= read -r opt; do
            [[ -z $opt ]] && continue
            grep -qxF -- "--$opt" <<<"$got" || problem "'$name' does not offer --$opt"
        done < <("$XGPUMAP" -j help $name | jq -r '.options[].name')
    done < <(xgm_commands)
    report_problems
}

@test "meta: __complete offers the values of options with a fixed set (a|b)" {
    local name opt arg v got n=0
    while IFS= read -r name; do
        # shellcheck disable=SC2086
        while IFS=$'\t' read -r opt arg; do
            [[ $arg =~ ^[a-z0-9]+(\|[a-z0-9]+)+$ ]] || continue
            n=$((n + 1))
            # shellcheck disable=SC2086
            got=$(complete_words $name "--$opt" '')
            for v in ${arg//|/ }; do
                grep -qxF "$v" <<<"$got" || problem "'$name --$opt' does not offer '$v' (got: $got)"
            done
        done < <("$XGPUMAP" -j help $name | jq -r '.options[] | select(.arg) | [.name, .arg] | @tsv')
    done < <(xgm_commands)
    ((n > 0)) || problem "no option with a fixed set of values found (sim init --dom0?)"
    report_problems
}

@test "meta: __complete completes global options and their values" {
    local got o
    got=$(complete_words -b '')
    is "$(sort <<<"$got")" "$(printf '%s\n' auto sim xen)" "__complete -b ''"
    got=$(complete_words --backend s)
    is "$got" sim "__complete --backend s"
    got=$(complete_words --)
    for o in --json --pretty --backend --sim-state --quiet --verbose --version --help; do
        grep -qxF -- "$o" <<<"$got" || problem "global option $o not offered"
    done
    # Global options earlier on the line are passed over.
    got=$(complete_words --sim-state "$XGM_TMP/other.json" -b sim -j '')
    is "$(sort <<<"$got")" "$(xgm_top_words | sort)" "commands after global options"
    # A path is not completed by the binary: the scripts fall back to files.
    got=$(complete_words --sim-state '')
    is "$got" "" "__complete --sim-state ''"
    report_problems
}

@test "meta: __complete never creates a sim state" {
    complete_words domain show '' >/dev/null
    complete_words sim init --dom0 '' >/dev/null
    [[ ! -e $SIM_STATE ]] || die "__complete created $SIM_STATE"
}

# bash_complete LINE...: runs the bash completion function for the words
# (the last one is being completed) and prints COMPREPLY, one per line.
bash_complete() {
    XGM_TMP=$XGM_TMP bash --norc --noprofile -c '
        complete() { printf "%s\n" "$*" >"$XGM_TMP/complete-args"; }
        source "$1" || exit 99
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _xgpumap || exit 98
        printf "%s\n" "${COMPREPLY[@]}"
    ' bash "$XGM_BASH_COMPLETION" "$@"
}

@test "meta: bash completion script: xgpumap dom<TAB> offers domain" {
    run bash_complete xgpumap dom
    is "$status" 0 "bash completion exit status"
    is "$output" domain "candidates for 'xgpumap dom'"
    contains "$(cat "$XGM_TMP/complete-args")" "-F _xgpumap xgpumap" \
        "the script registers _xgpumap for xgpumap"

    run bash_complete xgpumap ''
    is "$(sort <<<"$output")" "$(xgm_top_words | sort)" "candidates for 'xgpumap '"

    run bash_complete xgpumap sim init --dom0 ''
    is "$(sort <<<"$output")" "$(printf '%s\n' pv pvh)" "candidates for --dom0"

    # Global options before the command are passed through.
    run bash_complete xgpumap --sim-state "$SIM_STATE" -b sim sim ''
    is "$(sort <<<"$output")" "$(xgm_commands | awk '$1 == "sim" {print $2}' | sort)" \
        "subcommands after --sim-state and -b"
}

@test "meta: bash completion script falls back to file names" {
    mkdir "$XGM_TMP/files"
    touch "$XGM_TMP/files/commands.txt"
    cd "$XGM_TMP/files"
    run bash_complete xgpumap batch comm
    is "$output" commands.txt "file name candidates for 'batch comm'"
    run bash_complete xgpumap --sim-state com
    is "$output" commands.txt "file name candidates for '--sim-state com'"
}

@test "meta: zsh completion script offers the binary's candidates, else files" {
    grep -qx '#compdef xgpumap' "$XGM_ZSH_COMPLETION" || die "_xgpumap lacks '#compdef xgpumap'"
    grep -q '__complete' "$XGM_ZSH_COMPLETION" || die "_xgpumap does not call __complete"
    command -v zsh >/dev/null || die "zsh is not installed: cannot test $XGM_ZSH_COMPLETION"
    run zsh -n "$XGM_ZSH_COMPLETION"
    is "$status" 0 "zsh -n _xgpumap: $output"

    # compadd and _files only exist inside completion widgets: stub them.
    zsh_complete() {
        zsh -f -c '
            compadd() { local a=${@[-1]}; print -rl -- "${(@P)a}"; }
            _files() { print "<files>"; }
            f=$1; shift
            words=("$@"); CURRENT=$#; PREFIX=${words[CURRENT]}
            source $f
        ' zsh "$XGM_ZSH_COMPLETION" "$@"
    }
    run zsh_complete xgpumap dom
    is "$output" domain "zsh: candidates for 'xgpumap dom'"
    run zsh_complete xgpumap --sim-state "$SIM_STATE" sim init --iommu ''
    is "$(sort <<<"$output")" "$(printf '%s\n' amd intel)" "zsh: candidates for --iommu"
    run zsh_complete xgpumap batch ''
    is "$output" "<files>" "zsh: fallback to _files"
}

@test "meta: __complete completes domain names, from the --sim-state on the line" {
    run_xgm 0 -q sim init --guest alpha:pvh:1G --guest beta:hvm:1G
    # Given as a global option of the completing process.
    local got
    got=$(complete_words domain show '')
    grep -qxF alpha <<<"$got" || problem "--sim-state S __complete domain show '': $got"
    # Given on the command line being completed (what the shell scripts pass).
    got=$("$XGPUMAP" __complete --sim-state "$SIM_STATE" domain show '')
    grep -qxF alpha <<<"$got" ||
        problem "__complete --sim-state S domain show '' does not use S: '$got'"
    got=$("$XGPUMAP" __complete --sim-state "$SIM_STATE" domain show b)
    [[ $got == beta ]] || problem "__complete --sim-state S domain show b: '$got'"
    report_problems
}
