# SPDX-License-Identifier: GPL-2.0-only
# -*- bash -*-
#
# Helpers for the engine tests (040-engine.bats, 050-faults.bats).
# Load after helpers.bash:
#
#   load helpers
#   load helpers.engine
#
# Like helpers.bash, nothing here ever skips, every assertion prints what it
# expected and what it got, and nothing here touches $output/$status of the
# caller's last run_xgm unless its name says it runs a command (run_*).
#
# Every helper returns non-zero on failure instead of relying on errexit, so
# the fault loops of 050-faults.bats can call them inside `if` and go on to
# the next case.

# Never inherit an injection from the caller's environment: only the
# xgm_inject runner below sets these, for one invocation.
unset XGPUMAP_FAULT XGPUMAP_CRASH

PAGES_16M=4096

# ---- state fingerprints -------------------------------------------------

# state_sum: sha256 of the private sim state file ("absent" if none yet).
state_sum() {
    file_sum "$SIM_STATE"
}

# ---- the invariant checker ----------------------------------------------

# check_clean [WHAT]: `xgpumap -j check` exits 0 and finds nothing.
# Call it after every state-changing operation. Prints the findings
# otherwise. Does not touch $output/$status/$stderr.
check_clean() {
    local what=${1:-"after: ${XGM_LAST_CMD:-?}"}
    local out err rc=0 n
    err=$(mktemp "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/check-err.XXXXXX")
    out=$("$XGPUMAP" --sim-state "$SIM_STATE" -j check 2>"$err") || rc=$?
    if ((rc != 0)); then
        die "check_clean ($what): 'xgpumap -j check' exited $rc, expected 0" \
            "findings/stdout: $out" "stderr: $(cat "$err")"
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
    # The happy path needs no jq (it is the slow part of these tests).
    [[ $out == "[]" ]] && return 0
    if ! n=$(printf '%s' "$out" | jq -e 'if type == "array" then length else error("not an array") end' 2>&1); then
        die "check_clean ($what): check output is not a JSON array: $n" "stdout: $out"
        return 1
    fi
    die "check_clean ($what): $n finding(s), expected none:" \
        "$(printf '%s' "$out" | jq -c '.[]')"
    return 1
}

# ---- quiet JSON queries (do not clobber $output) ------------------------

# xgm_q ARGS...: prints the -j stdout of xgpumap ARGS; fails (with a
# diagnostic) unless it exits 0.
xgm_q() {
    local out rc=0 err
    err=$(mktemp "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/q-err.XXXXXX")
    out=$("$XGPUMAP" --sim-state "$SIM_STATE" -j "$@" 2>"$err") || rc=$?
    if ((rc != 0)); then
        die "xgpumap -j $* exited $rc, expected 0" "stdout: $out" "stderr: $(cat "$err")"
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
    printf '%s\n' "$out"
}

# jq_is JSON FILTER EXPECTED [WHAT]: jq -c FILTER of JSON is exactly the
# string EXPECTED (one jq run, no normalisation: write EXPECTED compact).
jq_is() {
    local r
    if ! r=$(printf '%s' "$1" | jq -c "$2" 2>&1); then
        die "${4:-jq}: jq '$2' failed: $r" "json: $1"
        return 1
    fi
    is "$r" "$3" "${4:-${XGM_LAST_CMD:-json}}: jq '$2'"
}

# jq_of JSON FILTER: prints jq -r FILTER of JSON; fails if jq does.
jq_of() {
    local r
    if ! r=$(printf '%s' "$1" | jq -r "$2" 2>&1); then
        die "jq '$2' failed: $r" "json: $1"
        return 1
    fi
    printf '%s\n' "$r"
}

# window_gfn DOM: first gfn of DOM's blob window (it exists once something
# was attached to DOM).
window_gfn() {
    local j w
    j=$(xgm_q domain show "$1") || return 1
    w=$(jq_of "$j" '.blob_window.gfn') || return 1
    if ! [[ $w =~ ^[0-9]+$ ]]; then
        die "domain show $1: no blob window (blob_window.gfn = $w)" "json: $j"
        return 1
    fi
    printf '%s\n' "$w"
}

# assert_p2m_empty DOM FIRST LAST
assert_p2m_empty() {
    local j
    j=$(xgm_q p2m "$1" --gfn "$2-$3") || return 1
    is "$j" "[]" "p2m $1 --gfn $2-$3 must be empty" || return 1
}

# assert_p2m_covers DOM FIRST LAST TYPE: every gfn of FIRST..LAST is mapped
# with p2m type TYPE (and nothing of another type is there).
assert_p2m_covers() {
    local dom=$1 first=$2 last=$3 type=$4 j
    j=$(xgm_q p2m "$dom" --gfn "$first-$last") || return 1
    jq_is "$j" "{frames: ([.[] | ([.gfn_last, $last] | min) - ([.gfn, $first] | max) + 1] | add // 0), types: ([.[].type] | unique)}" \
        "{\"frames\":$((last - first + 1)),\"types\":[\"$type\"]}" \
        "p2m $dom --gfn $first-$last: frames mapped and their types" || return 1
}

# gpu_buffers: how many buffers card0 holds (a leaked buffer shows here;
# check does not look for it).
gpu_buffers() {
    local j
    j=$(xgm_q sim show) || return 1
    jq_of "$j" '.gpus[] | select(.name == "card0") | .buffers'
}

# assert_gpu_buffers N [WHAT]
assert_gpu_buffers() {
    local n
    n=$(gpu_buffers) || return 1
    is "$n" "$1" "${2:-card0} buffer count (sim show .gpus[card0].buffers)" || return 1
}

# assert_guest_sees BLOB DOM FIRST LAST: the guest reads exactly BLOB's last
# fill through its p2m at FIRST..LAST.
assert_guest_sees() {
    local blob=$1 dom=$2 first=$3 last=$4 out rc=0
    out=$("$XGPUMAP" --sim-state "$SIM_STATE" -j sim guest-read "$dom" "$first-$last" \
          --expect "$blob" 2>&1) || rc=$?
    if ((rc != 0)); then
        die "sim guest-read $dom $first-$last --expect $blob exited $rc, expected 0" "output: $out"
        return 1
    fi
    jq_is "$out" '[.result, .pages_wrong, .pages_checked]' "[\"ok\",0,$((last - first + 1))]" \
        "guest-read --expect $blob: [result, pages_wrong, pages_checked]" || return 1
}

# assert_guest_all_ones DOM FIRST LAST: nothing is mapped there any more: the
# guest reads all-ones (an unmapped MMIO gfn) over the whole range.
assert_guest_all_ones() {
    local dom=$1 first=$2 last=$3 j
    j=$(xgm_q sim guest-read "$dom" "$first-$last") || return 1
    jq_is "$j" '[.runs[0].reads, ([.runs[].reads] | unique), .runs[0].gfn, .runs[-1].gfn_last]' \
        "[\"all-ones\",[\"all-ones\"],$first,$last]" \
        "sim guest-read $dom $first-$last: [.runs[0].reads, all reads, first gfn, last gfn]" || return 1
}

# assert_blob_ids DOM JSON_ARRAY: `list DOM` holds exactly these ids (write
# the array compact: ["vm1:1","vm1:2"]).
assert_blob_ids() {
    local j
    j=$(xgm_q list "$1") || return 1
    if [[ $2 == "[]" ]]; then
        is "$j" "[]" "list $1 must be empty" || return 1
    else
        jq_is "$j" '[.[].id]' "$2" "list $1: blob ids" || return 1
    fi
}

# ---- fault injection ----------------------------------------------------

# xgm_inject MODE POINT EXPECTED_RC ARGS...
#   Runs xgpumap --sim-state $SIM_STATE ARGS... with XGPUMAP_<MODE>=POINT in
#   its environment only (MODE is FAULT or CRASH; see lib/core/hv.c), like
#   run_xgm ($output, $stderr, $status), but a CRASH may exit 137 (the
#   injected kill -9: _exit(137) after syncing the state).
#   For a FAULT that should fail, asserts that the injected fault really
#   fired at POINT ("injected fault at NAME call N" on stderr), so a fault
#   point the operation never reaches cannot pass silently.
xgm_inject() {
    local mode=$1 point=$2 expected=$3
    shift 3
    case $mode in
    FAULT | CRASH) ;;
    *) die "xgm_inject: mode must be FAULT or CRASH, not '$mode'"; return 1 ;;
    esac
    XGM_LAST_CMD="XGPUMAP_$mode=$point xgpumap $(printf '%q ' "$@")"
    run --separate-stderr env "XGPUMAP_$mode=$point" "$XGPUMAP" --sim-state "$SIM_STATE" "$@"
    if [[ $status -ne $expected ]]; then
        printf '#/vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv\n' >&2
        printf '#| FAIL: exit status of: %s\n' "$XGM_LAST_CMD" >&2
        printf '#| expected: %s\n#| actual:   %s\n' "$expected" "$status" >&2
        _show stdout "$output"
        _show stderr "$stderr"
        printf '#\\^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n' >&2
        return 1
    fi
    if [[ $mode == FAULT && $expected != 0 ]]; then
        local name=${point%:*} n=${point##*:}
        contains "$stderr" "injected fault at $name call $n" \
            "$XGM_LAST_CMD: the error must be the injected one" || return 1
    fi
    return 0
}

# Fault loops: run every case, collect the failures, report them all at the
# end (one broken step must not hide the others).
#
#   fault_loop_begin
#   for c in ...; do fault_case "label" some_function args... ; done
#   fault_loop_end
fault_loop_begin() {
    XGM_FAULT_FAILED=()
    XGM_FAULT_RAN=0
}

fault_case() {
    local label=$1
    shift
    XGM_FAULT_RAN=$((XGM_FAULT_RAN + 1))
    printf '# --- case: %s\n' "$label" >&2
    if ! "$@"; then
        XGM_FAULT_FAILED+=("$label")
        printf '# --- case FAILED: %s\n' "$label" >&2
    fi
}

fault_loop_end() {
    if ((${#XGM_FAULT_FAILED[@]})); then
        die "${#XGM_FAULT_FAILED[@]} of $XGM_FAULT_RAN fault cases failed:" "${XGM_FAULT_FAILED[@]}"
        return 1
    fi
}

# Baseline states: a fault loop starts every case from the same state file.
# save_baseline NAME / restore_baseline NAME
save_baseline() {
    cp -- "$SIM_STATE" "$XGM_TMP/baseline-$1.json"
}

restore_baseline() {
    cp -- "$XGM_TMP/baseline-$1.json" "$SIM_STATE"
}

# ---- refusals -----------------------------------------------------------

# assert_refused RC CODE MESSAGE ARGS...
#   xgpumap ARGS exits RC with MESSAGE (a substring) on stderr and nothing on
#   stdout; `xgpumap -j ARGS` exits RC and prints exactly the JSON error
#   document with .error.code CODE; neither touches the state file.
assert_refused() {
    local rc=$1 code=$2 msg=$3 before
    shift 3
    before=$(state_sum)
    run_xgm "$rc" "$@" || return 1
    contains "$stderr" "$msg" "xgpumap $*: the message on stderr" || return 1
    is "$output" "" "xgpumap $*: nothing on stdout" || return 1
    assert_unchanged "$SIM_STATE" "$before" "xgpumap $*" || return 1
    run_xgm "$rc" -j "$@" || return 1
    # The error document, in one jq run (helpers.bash's assert_error_doc
    # says the same in seven; jq is the slow part of these tests).
    is_one_json "$output" "xgpumap -j $*" || return 1
    jq_is "$output" '[keys, (.error | keys), .error.code, (.error.errno | type), (.error.message | length > 0)]' \
        "[[\"error\"],[\"code\",\"errno\",\"message\"],\"$code\",\"number\",true]" \
        "xgpumap -j $*: the JSON error document" || return 1
    contains "$output" "${msg//\"/\\\"}" "xgpumap -j $*: .error.message" || return 1
    assert_unchanged "$SIM_STATE" "$before" "xgpumap -j $*" || return 1
}

# hold_buffer ID: a process that holds buffer ID's fd, a pipe, a file, the
# sim's DRM file with buffer ID as GEM handle 1 and a copy of that file
# that says card1 (tests/daemon/client.c hold); sets HOLDER (its pid, for
# teardown to kill), BUF_FD, PIPE_FD, FILE_FD, GEM_FD and CARD1_FD.
hold_buffer() {
    : "${XGMD_CLIENT:=$XGM_SRCDIR/build/tests/xgmd-client}"
    coproc HOLD { exec "$XGMD_CLIENT" "$SIM_STATE" hold "$1"; }
    HOLDER=$HOLD_PID
    read -r BUF_FD PIPE_FD FILE_FD GEM_FD CARD1_FD <&"${HOLD[0]}" || die "the holder did not start"
}

# ---- the sim state's store, edited behind the engine's back ---------------
# (xenstore-write / xenstore-rm on a real host). The state is an SQLite
# database (xgpumap(1) FILES); values go through a file, never through SQL
# text.

# store_get PATH: the value at PATH, empty when none.
store_get() {
    sqlite3 "$SIM_STATE" "SELECT value FROM store WHERE path = '$1'"
}

# store_put PATH VALUE
store_put() {
    printf '%s' "$2" >"$XGM_TMP/store-value"
    sqlite3 "$SIM_STATE" "INSERT OR REPLACE INTO store VALUES ('$1', \
CAST(readfile('$XGM_TMP/store-value') AS TEXT))" || die "store_put $1 failed"
}

# store_del PATH
store_del() {
    sqlite3 "$SIM_STATE" "DELETE FROM store WHERE path = '$1'" || die "store_del $1 failed"
}

# store_keys PREFIX: the names under PREFIX (which ends in /), one a line.
store_keys() {
    sqlite3 "$SIM_STATE" "SELECT substr(path, length('$1') + 1) FROM store \
WHERE substr(path, 1, length('$1')) = '$1' ORDER BY path"
}

# driver_free BUF: GPU buffer BUF goes from its card, as if its driver freed
# it behind xgpumap's back (a test build's hook, XGPUMAP_SIM_DRIVER_FREE).
driver_free() {
    XGPUMAP_SIM_DRIVER_FREE=$1 "$XGPUMAP" --sim-state "$SIM_STATE" -q gpu list >/dev/null ||
        die "the driver could not free buffer $1"
}

