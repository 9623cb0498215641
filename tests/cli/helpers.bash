# SPDX-License-Identifier: GPL-2.0-only
# -*- bash -*-
#
# Helpers for the xgpumap CLI tests (bats-core >= 1.5).
#
#   XGPUMAP    absolute path of the binary under test (the Makefile sets it;
#              default: build/xgpumap of this tree)
#
# Every test runs on a private temporary directory: $SIM_STATE, HOME and
# XDG_STATE_HOME all point inside it, so a test can never touch the user's
# real simulated host or shell history.
#
# Assertions print what they expected and what they got, and fail the test;
# nothing here ever skips.

bats_require_minimum_version 1.5.0

XGM_SRCDIR=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
XGM_MAN1=$XGM_SRCDIR/man/xgpumap.1
XGM_MAN3=$XGM_SRCDIR/man/libxgpumap.3
XGM_HEADERS=("$XGM_SRCDIR"/lib/include/xgpumap*.h)
XGM_BASH_COMPLETION=$XGM_SRCDIR/completions/xgpumap.bash
XGM_ZSH_COMPLETION=$XGM_SRCDIR/completions/_xgpumap

GIB=1073741824
MIB=1048576

# ---- setup ----------------------------------------------------------------

basic_setup() {
    : "${XGPUMAP:=$XGM_SRCDIR/build/xgpumap}"
    if [[ ! -x $XGPUMAP ]]; then
        echo "# XGPUMAP='$XGPUMAP' is not an executable; build it or set XGPUMAP" >&2
        return 1
    fi
    export XGPUMAP

    if [[ -n ${BATS_TEST_TMPDIR:-} ]]; then
        XGM_TMP=$BATS_TEST_TMPDIR
    else
        XGM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/xgpumap-test.XXXXXX")
        XGM_TMP_OWNED=1
    fi
    mkdir -p "$XGM_TMP/home" "$XGM_TMP/xdg-state" "$XGM_TMP/bin"
    export HOME=$XGM_TMP/home
    export XDG_STATE_HOME=$XGM_TMP/xdg-state
    SIM_STATE=$XGM_TMP/sim.db
    # Nothing of the caller's environment may choose another state or a
    # real Xen host.
    unset XGPUMAP_SIM_STATE
    export XGPUMAP_BACKEND=sim
    # Completion scripts call "xgpumap" by name.
    ln -sf "$XGPUMAP" "$XGM_TMP/bin/xgpumap"
    export PATH=$XGM_TMP/bin:$PATH
}

basic_teardown() {
    if [[ -n ${XGM_TMP_OWNED:-} && -n ${XGM_TMP:-} ]]; then
        rm -rf "$XGM_TMP"
    fi
}

# Test files may define their own setup/teardown and call these.
setup() { basic_setup; }
teardown() { basic_teardown; }

# ---- running the binary ---------------------------------------------------

# die MESSAGE...: print a diagnostic and fail the test.
die() {
    printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
    printf '#| FAIL: %s\n' "$@" >&2
    printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
    return 1
}

# Prints a multi-line value indented, for diagnostics.
_show() {
    local label=$1 value=$2
    if [[ -z $value ]]; then
        printf '#| %-9s <empty>\n' "$label:" >&2
    else
        printf '#| %-9s %s\n' "$label:" "${value//$'\n'/$'\n'#|           }" >&2
    fi
}

# run_xgm EXPECTED_RC ARGS...
#   Runs "$XGPUMAP" --sim-state "$SIM_STATE" ARGS..., stdout in $output
#   (and $lines), stderr in $stderr (and $stderr_lines), the exit status
#   in $status. EXPECTED_RC '?' accepts any status.
#   Standard input is the caller's: run_xgm 0 batch - <<<'version'.
run_xgm() {
    local expected=$1
    shift
    run_xgm_raw "$expected" --sim-state "$SIM_STATE" "$@"
}

# run_xgm_raw EXPECTED_RC ARGS...: the same without --sim-state.
run_xgm_raw() {
    local expected=$1
    shift
    if [[ $expected != '?' && ! $expected =~ ^[0-9]+$ ]]; then
        die "run_xgm: expected exit status must be a number or '?', not '$expected'"
        return 1
    fi
    XGM_LAST_CMD="xgpumap $(printf '%q ' "$@")"
    run --separate-stderr "$XGPUMAP" "$@"
    if [[ $expected != '?' && $status -ne $expected ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: exit status of: %s\n' "$XGM_LAST_CMD" >&2
        printf '#| expected: %s\n#| actual:   %s\n' "$expected" "$status" >&2
        _show stdout "$output"
        _show stderr "$stderr"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
    # Whatever happened, xgpumap never exits with anything but 0..3.
    if ((status > 3)); then
        die "exit status $status (not 0..3) of: $XGM_LAST_CMD" "stderr: $stderr"
        return 1
    fi
    return 0
}

# ---- assertions -----------------------------------------------------------

# is ACTUAL EXPECTED [WHAT]: exact comparison.
is() {
    local actual=$1 expected=$2 what=${3:-${XGM_LAST_CMD:-value}}
    if [[ "$actual" != "$expected" ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: %s\n' "$what" >&2
        _show expected "$expected"
        _show actual "$actual"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
}

# like ACTUAL ERE [WHAT]: ACTUAL matches the extended regular expression.
like() {
    local actual=$1 re=$2 what=${3:-${XGM_LAST_CMD:-value}}
    if ! [[ "$actual" =~ $re ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: %s\n' "$what" >&2
        _show expected "(matching) $re"
        _show actual "$actual"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
}

# contains HAYSTACK NEEDLE [WHAT] / not_contains: plain substring.
contains() {
    local hay=$1 needle=$2 what=${3:-${XGM_LAST_CMD:-value}}
    if [[ "$hay" != *"$needle"* ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: %s\n' "$what" >&2
        _show expected "(containing) $needle"
        _show actual "$hay"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
}

not_contains() {
    local hay=$1 needle=$2 what=${3:-${XGM_LAST_CMD:-value}}
    if [[ "$hay" == *"$needle"* ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: %s\n' "$what" >&2
        _show expected "(not containing) $needle"
        _show actual "$hay"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
}

# no_control_chars TEXT [WHAT]: TEXT holds no raw control character other
# than newline (names are untrusted; human output must escape them).
no_control_chars() {
    local text=$1 what=${2:-${XGM_LAST_CMD:-value}}
    local stripped=${text//$'\n'/}
    if [[ "$stripped" =~ [[:cntrl:]] ]]; then
        die "$what: raw control characters in:" "$(printf '%s' "$text" | od -c | head -20)"
        return 1
    fi
}

# is_one_json TEXT [WHAT]: TEXT is exactly one JSON document.
is_one_json() {
    local text=$1 what=${2:-${XGM_LAST_CMD:-output}}
    local n
    if ! n=$(printf '%s' "$text" | jq -s 'length' 2>&1); then
        die "$what: not JSON ($n)" "text: $text"
        return 1
    fi
    if [[ $n != 1 ]]; then
        die "$what: expected exactly one JSON document, found $n" "text: $text"
        return 1
    fi
}

# assert_json JSON FILTER EXPECTED [WHAT]
#   Applies the jq FILTER to JSON; the result, compact and with sorted keys,
#   must equal EXPECTED (also normalised when it is JSON; a bare word is
#   compared with the raw string result, so 'vm1' and '"vm1"' both work).
assert_json() {
    local json=$1 filter=$2 expected=$3 what=${4:-${XGM_LAST_CMD:-json}}
    local actual norm
    if ! actual=$(printf '%s' "$json" | jq -cS "$filter" 2>&1); then
        die "$what: jq '$filter' failed: $actual" "json: $json"
        return 1
    fi
    if norm=$(printf '%s' "$expected" | jq -cS . 2>/dev/null) && [[ -n $norm ]]; then
        expected=$norm
    elif [[ $actual == \"*\" ]]; then
        actual=$(printf '%s' "$json" | jq -r "$filter")
    fi
    is "$actual" "$expected" "$what: jq '$filter'"
}

# assert_json_true JSON FILTER [WHAT]: the filter yields true.
assert_json_true() {
    assert_json "$1" "$2" true "${3:-${XGM_LAST_CMD:-json}}"
}

# assert_error_doc TEXT CODE [ERRNO]: TEXT is exactly the JSON error document.
assert_error_doc() {
    local text=$1 code=$2 errno=${3:-}
    is_one_json "$text" "error document" || return 1
    assert_json "$text" 'keys' '["error"]' "error document keys" || return 1
    assert_json "$text" '.error | keys' '["code","errno","message"]' "error object keys" || return 1
    assert_json "$text" '.error.code' "$code" "error code" || return 1
    assert_json "$text" '.error.errno | type' '"number"' "errno type" || return 1
    if [[ -n $errno ]]; then
        assert_json "$text" '.error.errno' "$errno" "errno" || return 1
    fi
    assert_json "$text" '.error.message | length > 0' true "non-empty message" || return 1
}

# The exit statuses of the CLI (xgpumap(1) EXIT STATUS).
RC_OK=0
RC_FAILED=1
RC_USAGE=2
RC_TRANSIENT=3

# no_json_in_text TEXT: no JSON object or array printed inside the text.
no_json_in_text() {
    not_contains "$1" '{"' "${2:-text output}"
    not_contains "$1" '[{' "${2:-text output}"
}

# ---- state files ----------------------------------------------------------

# file_sum FILE: a fingerprint of FILE ("absent" when missing): of its
# bytes, or for the sim state (an SQLite database) of every row it holds,
# which is what "unchanged" means for it: a transaction undone whole leaves
# the rows as they were, not the pages (SQLite counts its commits in the
# header, and an R*Tree's nodes, its shadow tables, depend on the order of
# its inserts).
file_sum() {
    if [[ ! -e $1 ]]; then
        echo absent
    elif [[ $(head -c 15 "$1") == "SQLite format 3" ]] &&
        sqlite3 -readonly "$1" "SELECT 1 FROM meta" >/dev/null 2>&1; then
        local t
        for t in $(sqlite3 -readonly "$1" "SELECT name FROM sqlite_schema \
WHERE type = 'table' AND sql NOT LIKE 'CREATE TABLE \"%' ORDER BY name"); do
            echo "== $t"
            sqlite3 -readonly "$1" "SELECT * FROM $t ORDER BY 1, 2"
        done | sha256sum | cut -d' ' -f1
    else
        sha256sum <"$1" | cut -d' ' -f1
    fi
}

# state_row_edit TABLE WHERE JQ_FILTER: rewrites the body of the sim
# state's rows of TABLE that WHERE (SQL) selects, through jq, behind the
# engine's back (the value goes through a file, not SQL text).
state_row_edit() {
    local body
    body=$(sqlite3 "$SIM_STATE" "SELECT body FROM $1 WHERE $2") || die "sqlite3: no row"
    jq -c "$3" <<<"$body" >"$XGM_TMP/row-body" || die "jq '$3' failed"
    sqlite3 "$SIM_STATE" "UPDATE $1 SET body = CAST(readfile('$XGM_TMP/row-body') AS TEXT) \
WHERE $2" || die "sqlite3: the update failed"
}

# assert_unchanged FILE SUM [WHAT]
assert_unchanged() {
    is "$(file_sum "$1")" "$2" "${3:-${XGM_LAST_CMD:-}}: $1 must be unchanged, every row (or byte)"
}

# ---- the command table, as the binary reports it --------------------------

# Full names of every visible command, one per line ("domain list", "batch").
xgm_commands() {
    "$XGPUMAP" -j help | jq -r '.commands[].command'
}

# Top-level words: command names and group names.
xgm_top_words() {
    xgm_commands | awk '{print $1}' | awk '!seen[$0]++'
}

# Group names (top-level words that have subcommands).
xgm_groups() {
    xgm_commands | awk 'NF > 1 {print $1}' | awk '!seen[$0]++'
}

# The command names of the COMMANDS section of xgpumap(1): the lowercase
# words after ".It Cm", up to the first macro.
man_commands() {
    awk '
        /^\.Sh / { in_cmds = ($0 == ".Sh COMMANDS"); next }
        in_cmds && /^\.It Cm / {
            name = ""
            for (i = 3; i <= NF; i++) {
                if ($i !~ /^[a-z_][a-z0-9_-]*$/)
                    break
                name = name (name == "" ? "" : " ") $i
            }
            print name
        }' "$XGM_MAN1"
}
