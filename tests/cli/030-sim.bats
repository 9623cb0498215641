#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# The simulated host: sim init/show/reset, domain list/show, the state file
# (creation on first use, refusal of corrupt or future states, locking).

load helpers

DOM0_DEFAULT_MEM=$((4 * GIB))

# The default topology, as "name type mem_bytes vcpus" lines of the guests.
default_guests() {
    printf '%s\n' "vm1 pvh $((2 * GIB)) 2" "vm2 hvm $((4 * GIB)) 4" "vm3 pv $((1 * GIB)) 1"
}

# guests_of JSON: the guests of a -j domain list, in the same format.
guests_of() {
    jq -r '.[] | select(.dom0 | not) | "\(.name) \(.type) \(.mem_bytes) \(.vcpus)"' <<<"$1"
}

# ---- creation on first use -------------------------------------------------

@test "first use creates the state with a one-line notice on stderr" {
    [[ ! -e $SIM_STATE ]] || die "$SIM_STATE exists before the test"
    run_xgm 0 domain list
    is "${#stderr_lines[@]}" 1 "notice lines on stderr"
    contains "$stderr" "$SIM_STATE" "the notice names the state file"
    [[ -s $SIM_STATE ]] || die "no state file at $SIM_STATE after first use"
    [[ -e $SIM_STATE.lock ]] || die "no lock file $SIM_STATE.lock"

    # An SQLite database with the meta rows of xgpumap(1) FILES, and a row
    # per domain.
    is "$(sqlite3 -readonly "$SIM_STATE" "SELECT value FROM meta WHERE key = 'schema'")" \
        xgpumap-sim-state "the schema row"
    is "$(sqlite3 -readonly "$SIM_STATE" "SELECT value FROM meta WHERE key = 'version'")" \
        5 "the version row"
    is "$(sqlite3 -readonly "$SIM_STATE" "SELECT group_concat(name) FROM domains")" \
        "Domain-0,vm1,vm2,vm3" "the domains' rows"

    # Only the first use says so.
    run_xgm 0 domain list
    is "$stderr" "" "stderr of the second use"
}

@test "first use: no notice with -j or -q" {
    run_xgm 0 -j domain list
    is "$stderr" "" "stderr with -j"
    is_one_json "$output"
    [[ -s $SIM_STATE ]] || die "-j domain list did not create the state"

    rm -f "$SIM_STATE"
    run_xgm 0 -q domain list
    is "$stderr" "" "stderr with -q"
    [[ -s $SIM_STATE ]] || die "-q domain list did not create the state"
}

@test "the state directory is created when needed" {
    SIM_STATE=$XGM_TMP/deep/er/sim.db
    run_xgm 0 -q domain list
    [[ -s $SIM_STATE ]] || die "no state at $SIM_STATE"
}

@test "default state path: XGPUMAP_SIM_STATE, then XDG_STATE_HOME, then HOME" {
    # --sim-state is not given here: run_xgm_raw.
    XGPUMAP_SIM_STATE=$XGM_TMP/env.json run_xgm_raw 0 -q domain list
    [[ -s $XGM_TMP/env.json ]] || die "XGPUMAP_SIM_STATE was not used"

    run_xgm_raw 0 -q domain list
    [[ -s $XDG_STATE_HOME/xgpumap/sim.db ]] ||
        die "no state at \$XDG_STATE_HOME/xgpumap/sim.db"
    [[ -e $XDG_STATE_HOME/xgpumap/sim.db.lock ]] || die "no lock file beside it"

    XDG_STATE_HOME= run_xgm_raw 0 -q domain list
    [[ -s $HOME/.local/state/xgpumap/sim.db ]] ||
        die "no state at ~/.local/state/xgpumap/sim.db"

    # --sim-state wins over the environment.
    XGPUMAP_SIM_STATE=$XGM_TMP/env2.json run_xgm 0 -q domain list
    [[ ! -e $XGM_TMP/env2.json ]] || die "XGPUMAP_SIM_STATE won over --sim-state"
    [[ -s $SIM_STATE ]] || die "--sim-state was not used"
}

# ---- the default topology --------------------------------------------------

@test "domain list: the default topology" {
    run_xgm 0 -j domain list
    is_one_json "$output"
    assert_json "$output" 'length' 4
    # These keys at least (more may come; none may go).
    assert_json "$output" \
        '[.[] | has("dom0","domid","mem_bytes","name","state","type","vcpus")] | all' true \
        "every entry has domid, name, type, state, mem_bytes, vcpus, dom0"
    # dom0: domid 0, PVH, 4 GiB.
    assert_json "$output" '[.[] | select(.dom0)] | length' 1 "one dom0"
    assert_json "$output" '.[] | select(.dom0) | [.domid, .type, .mem_bytes]' \
        "[0,\"pvh\",$DOM0_DEFAULT_MEM]"
    is "$(guests_of "$output" | sort)" "$(default_guests)" "the guests"
    assert_json "$output" '[.[].domid] | unique | length' 4 "distinct domids"
    assert_json "$output" '[.[].state] | unique' '["running"]'
}

@test "domain list: text output is a table" {
    run_xgm 0 -q domain list
    local header=${lines[0]}
    local col
    for col in DOMID NAME TYPE STATE VCPUS DOM0; do
        contains "$header" "$col" "table header"
    done
    is "${#lines[@]}" 5 "header + 4 domains"
    contains "$output" "vm2"
    like "$(grep -w vm3 <<<"$output")" '\<pv\>' "vm3's row"
}

@test "sim init: the default topology, and its description" {
    run_xgm 0 -j sim init
    is_one_json "$output"
    assert_json "$output" 'type' '"object"'
    contains "$output" '"card0"' "sim init shows card0"
    # 16 GiB of VRAM and an Intel IOMMU somewhere in the description.
    assert_json "$output" "[.. | numbers] | index($((16 * GIB))) != null" true "16 GiB of VRAM"
    assert_json "$output" '[.. | strings] | index("intel") != null' true "Intel IOMMU"

    run_xgm 0 -j domain list
    is "$(guests_of "$output" | sort)" "$(default_guests)" "the guests"
}

@test "sim init --dom0 pv --iommu amd, then domain list lists dom0 and the guests" {
    run_xgm 0 sim init --dom0 pv --iommu amd
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4
    assert_json "$output" '.[] | select(.dom0) | [.domid, .type]' '[0,"pv"]'
    is "$(guests_of "$output" | sort)" "$(default_guests)" "the guests"

    run_xgm 0 -j sim show
    assert_json "$output" '[.. | strings] | index("amd") != null' true "AMD IOMMU in sim show"
}

@test "domain show: keys, by name and by domid" {
    run_xgm 0 -q sim init
    run_xgm 0 -j domain show vm1
    is_one_json "$output"
    local k
    for k in domid name type state dom0 translated mem_bytes max_mem_bytes vcpus max_gpfn iommu; do
        assert_json "$output" "has(\"$k\")" true "domain show has '$k'"
    done
    assert_json "$output" '[.name, .type, .dom0, .translated, .mem_bytes, .vcpus]' \
        "[\"vm1\",\"pvh\",false,true,$((2 * GIB)),2]"
    assert_json "$output" '.max_mem_bytes >= .mem_bytes' true
    assert_json "$output" '(.max_gpfn + 1) * 4096 >= .mem_bytes' true "max_gpfn covers the RAM"
    local by_name=$output domid
    domid=$(jq .domid <<<"$output")
    run_xgm 0 -j domain show "$domid"
    is "$output" "$by_name" "domain show $domid vs domain show vm1"
}

@test "domain show: translated and iommu follow the domain type, passthrough and the vendor" {
    run_xgm 0 -q sim init --iommu intel --guest vm1:pvh:2G --guest vm2:hvm:4G:4:passthrough --guest vm3:pv:1G
    run_xgm 0 -j domain show vm2
    assert_json "$output" '[.type, .translated, .iommu]' '["hvm",true,"shared"]'
    # without passthrough a guest has no IOMMU context (the default)
    run_xgm 0 -j domain show vm1
    assert_json "$output" '[.type, .translated, .iommu]' '["pvh",true,"none"]'
    run_xgm 0 -j domain show vm3
    assert_json "$output" '[.type, .translated]' '["pv",false]'
    run_xgm 0 -j domain show 0
    assert_json "$output" '[.dom0, .type, .translated]' '[true,"pvh",true]'
    run_xgm 0 -j sim show
    assert_json "$output" '[.domains[] | .passthrough]' '[true,false,true,false]'

    run_xgm 0 -q sim init --force --iommu amd --dom0 pv --guest vm1:pvh:2G:passthrough
    run_xgm 0 -j domain show vm1
    assert_json "$output" '[.translated, .iommu]' '[true,"separate"]'
    run_xgm 0 -j domain show 0
    assert_json "$output" '[.dom0, .type, .translated, .iommu]' '[true,"pv",false,"identity"]'

    # the default guests have none
    run_xgm 0 -q sim init --force
    run_xgm 0 -j sim show
    assert_json "$output" '[.domains[] | select(.dom0 | not) | .iommu]' '["none","none","none"]'
    # passthrough is for pvh and hvm guests
    run_xgm 2 sim init --force --guest vm3:pv:1G:passthrough
    contains "$stderr" "passthrough"
}

@test "sim init --xen VERSION: the host behaves as that Xen (default 4.17.7, the rig's); an unmodelled version is a usage error" {
    run_xgm 0 -j sim init
    assert_json "$output" '.host.xen_version' 4.17.7
    run_xgm 0 -j sim init --force --xen 4.17.4
    assert_json "$output" '.host.xen_version' 4.17.4
    run_xgm 0 -j sim show
    assert_json "$output" '.host.xen_version' 4.17.4
    # 4.17.4 ignores the guest's PAT for VRAM: ipat on the blob's entries
    run_xgm 0 -j attach vm1 --size 2M
    local g
    g=$(jq -r .gfn <<<"$output")
    run_xgm 0 -j p2m vm1 --gfn "$g"
    assert_json "$output" '.[0] | [.type, .ipat]' '["mmio_direct",true]'
    run_xgm 0 -j sim init --force --xen master
    assert_json "$output" '.host.xen_version' master
    local sum
    sum=$(file_sum "$SIM_STATE")
    for v in 4.16.0 4.17.8 4.17 latest ""; do
        run_xgm 2 sim init --force --xen "$v"
        contains "$stderr" "Xen version"
    done
    [[ $(file_sum "$SIM_STATE") == "$sum" ]] || die "a refused sim init changed the state"
}

@test "domain show: text output is aligned key : value" {
    run_xgm 0 -q domain show vm2
    local line col="" c
    for line in "${lines[@]}"; do
        like "$line" '^[a-z_0-9]+ +: ' "line '$line'"
        c=${line%%:*}
        if [[ -z $col ]]; then col=${#c}; fi
        is "${#c}" "$col" "column of ':' in '$line'"
    done
    contains "$output" "vm2"
}

@test "domain show: no such domain is ENOENT, exit 1; bad usage exit 2" {
    run_xgm 0 -q sim init
    run_xgm 1 domain show vm9
    contains "$stderr" "vm9"
    run_xgm 1 -j domain show vm9
    assert_error_doc "$output" ENOENT 2
    run_xgm 1 domain show 99
    run_xgm 2 domain show
    run_xgm 2 domain show vm1 vm2
    run_xgm 2 domain list extra
}

@test "domain show: a name with control characters is escaped in the error" {
    run_xgm 0 -q sim init
    run_xgm 1 domain show $'\e[2J\e[31mvm1'
    no_control_chars "$stderr" "stderr"
    contains "$stderr" '\x1b[2J'
    run_xgm 1 -j domain show $'vm\x01'
    assert_error_doc "$output" ENOENT 2
    no_control_chars "$output" "JSON error document"
}

# ---- sim init options ------------------------------------------------------

@test "sim init --guest replaces the default guests" {
    run_xgm 0 -q sim init --guest a:pvh:1G --guest b.2:hvm:512M:3 --guest c_3:pv:64M
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4
    is "$(guests_of "$output" | sort)" \
       "$(printf '%s\n' "a pvh $GIB 1" "b.2 hvm $((512 * MIB)) 3" "c_3 pv $((64 * MIB)) 1")" \
       "the guests"
    run_xgm 0 -j domain show b.2
    assert_json "$output" '.vcpus' 3
}

@test "sim init --dom0-mem and --vram" {
    run_xgm 0 -q sim init --dom0-mem 2G --vram 8GiB
    run_xgm 0 -j domain show 0
    assert_json "$output" '.mem_bytes' $((2 * GIB))
    run_xgm 0 -j sim show
    assert_json "$output" "[.. | numbers] | index($((8 * GIB))) != null" true "8 GiB of VRAM in sim show"
    assert_json "$output" "[.. | numbers] | index($((16 * GIB))) == null" true "no 16 GiB VRAM left"
}

@test "sim init --seed: accepted, and the same seed gives the same host" {
    run_xgm 0 -q sim init --dom0 pv --seed 42
    local a
    a=$("$XGPUMAP" --sim-state "$SIM_STATE" -j domain list)
    run_xgm 0 -q sim init --force --dom0 pv --seed 42
    is "$("$XGPUMAP" --sim-state "$SIM_STATE" -j domain list)" "$a" "same seed, same domains"
    run_xgm 2 sim init --force --seed abc
    run_xgm 2 sim init --force --seed -1
}

@test "sim init refuses to replace an existing state without --force" {
    run_xgm 0 -q sim init
    local sum
    sum=$(file_sum "$SIM_STATE")
    run_xgm 1 sim init --guest x:pvh:1G
    contains "$stderr" "--force"
    assert_unchanged "$SIM_STATE" "$sum"
    run_xgm 1 -j sim init
    assert_error_doc "$output" EEXIST 17
    assert_unchanged "$SIM_STATE" "$sum"

    run_xgm 0 -q sim init --force --guest x:pvh:1G
    run_xgm 0 -j domain list
    assert_json "$output" '[.[].name] | index("x") != null' true "the new topology"
}

@test "sim init on the state a first use created: refused without --force" {
    run_xgm 0 -q domain list
    run_xgm 1 sim init
}

# Each bad input: a usage error (exit 2), one clear line on stderr naming
# the culprit, nothing on stdout, the state byte-for-byte unchanged.
check_bad_inputs() {
    local sum expect_in_msg
    sum=$(file_sum "$SIM_STATE")
    local -a problems=()
    local spec
    for spec in "$@"; do
        # spec: "WORD-IN-MESSAGE|ARG|ARG..."
        # -d '': a field may hold a newline.
        IFS='|' read -r -d '' -a args < <(printf '%s' "$spec") || true
        expect_in_msg=${args[0]}
        args=("${args[@]:1}")
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" sim init --force "${args[@]}"
        local what="sim init --force $(printf '%q ' "${args[@]}")"
        ((status == 2)) || problems+=("$what: exit $status, not 2 (stderr: $stderr)")
        [[ -z $output ]] || problems+=("$what: wrote to stdout: $output")
        [[ $stderr == *"$expect_in_msg"* ]] ||
            problems+=("$what: stderr does not mention '$expect_in_msg': $stderr")
        [[ ! ${stderr//$'\n'/} =~ [[:cntrl:]] ]] ||
            problems+=("$what: raw control characters on stderr")
        [[ $(file_sum "$SIM_STATE") == "$sum" ]] || problems+=("$what: the state changed")
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j sim init --force "${args[@]}"
        jq -e '.error.code == "EINVAL"' <<<"$output" >/dev/null 2>&1 ||
            problems+=("-j $what: not the EINVAL error document: $output")
    done
    if ((${#problems[@]})); then
        die "${problems[@]}"
        return 1
    fi
    local leftovers
    leftovers=$(find "$(dirname "$SIM_STATE")" -maxdepth 1 -name "$(basename "$SIM_STATE").tmp*")
    is "$leftovers" "" "temporary files left beside the state"
}

@test "sim init: bad guest specs are usage errors and change nothing" {
    run_xgm 0 -q sim init
    check_bad_inputs \
        "dup|--guest|dup:pvh:1G|--guest|dup:hvm:2G" \
        "kvm|--guest|a:kvm:1G" \
        "a:pvh|--guest|a:pvh" \
        "--guest|--guest" \
        "a:pvh:|--guest|a:pvh:" \
        "1X|--guest|a:pvh:1X" \
        "1.5G|--guest|a:pvh:1.5G" \
        "-1G|--guest|a:pvh:-1G" \
        "99999999999999999999|--guest|a:pvh:99999999999999999999" \
        "16777216T|--guest|a:pvh:16777216T" \
        "a:pvh:1G:0|--guest|a:pvh:1G:0" \
        "a:pvh:1G:x|--guest|a:pvh:1G:x" \
        "a:pvh:1G:4294967297|--guest|a:pvh:1G:4294967297" \
        "a:pvh:1G:2:extra|--guest|a:pvh:1G:2:extra" \
        ":pvh:1G|--guest|:pvh:1G" \
        "123|--guest|123:pvh:1G" \
        "a b|--guest|a b:pvh:1G" \
        "a/b|--guest|a/b:pvh:1G" \
        "$(printf 'n%.0s' {1..64})|--guest|$(printf 'n%.0s' {1..64}):pvh:1G"
}

@test "sim init: domain names with control characters are refused, escaped" {
    run_xgm 0 -q sim init
    check_bad_inputs \
        '\x01|--guest|'$'bad\x01name'':pvh:1G' \
        '\x1b|--guest|'$'\e[31mred'':pvh:1G' \
        '\x7f|--guest|'$'del\x7f'':pvh:1G' \
        '\x0a|--guest|'$'new\nline'':pvh:1G'
}

@test "sim init: bad option values are usage errors and change nothing" {
    run_xgm 0 -q sim init
    check_bad_inputs \
        "hvm|--dom0|hvm" \
        "xen|--dom0|xen" \
        "arm|--iommu|arm" \
        "12Q|--vram|12Q" \
        "-1|--vram|-1" \
        "--vram|--vram=" \
        "99999999999999999999|--vram|99999999999999999999" \
        "16777216T|--vram|16777216T" \
        "0|--vram|0" \
        "lots|--dom0-mem|lots" \
        "extra|extra" \
        "--frobnicate|--frobnicate"
}

@test "sim init: bad input on a fresh path creates no state" {
    run_xgm 2 sim init --guest a:kvm:1G
    [[ ! -e $SIM_STATE ]] || die "a refused sim init created $SIM_STATE"
}

@test "sim commands refuse -b xen" {
    run_xgm 2 -b xen sim init
    contains "$stderr" "sim"
    [[ ! -e $SIM_STATE ]] || die "sim init -b xen created $SIM_STATE"
    run_xgm 2 -b xen sim reset
}

@test "-b xen: changing the host goes through xgpumapd, and with none running it says so; reading needs none" {
    [[ ! -e /run/xgpumap/xgpumapd.sock ]] || die "a daemon listens on this machine"
    unset XGPUMAP_DAEMON
    run_xgm 1 -b xen attach vm1 --size 4M
    contains "$stderr" "through xgpumapd, and none listens at /run/xgpumap/xgpumapd.sock"
    contains "$stderr" "start it: systemctl start xgpumapd.socket"
    run_xgm 1 -j -b xen detach vm1:1
    assert_error_doc "$output" ENOTCONN
    # Reading runs in process: here it reaches the backend, which says
    # this is no control domain.
    run_xgm 1 -b xen domain list
    not_contains "$stderr" "xgpumapd"
    contains "$stderr" "control domain"
}

# ---- sim show, sim reset ---------------------------------------------------

@test "sim show: topology and counters, as JSON and as text" {
    run_xgm 0 -q sim init --guest g1:hvm:1G:2
    run_xgm 0 -j sim show
    is_one_json "$output"
    assert_json "$output" 'type' '"object"'
    contains "$output" '"card0"'
    contains "$output" '"g1"'
    assert_json "$output" '[paths(type == "object") | map(tostring) | join(".") | select(test("counter"))] | length > 0' \
        true "a counters object"
    run_xgm 0 sim show
    contains "$output" "card0"
    no_control_chars "$output" "sim show text"
    run_xgm 2 sim show extra
}

@test "sim reset: back to the default topology" {
    run_xgm 0 -q sim init --guest only:pvh:1G
    run_xgm 0 sim reset
    run_xgm 0 -j domain list
    is "$(guests_of "$output" | sort)" "$(default_guests)" "the guests after reset"
    run_xgm 2 sim reset extra
}

@test "sim reset on a fresh path creates the default host" {
    run_xgm 0 -q sim reset
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4
}

# ---- bad state files -------------------------------------------------------

# check_bad_state: every command refuses the state at $SIM_STATE, exit 1,
# naming the file, and leaves it byte-for-byte unchanged.
# check_bad_state CODE [COMMAND...]: every command (by default, all that
# read the whole state) exits 1 with the CODE error, naming the file, and
# leaves it as it was.
check_bad_state() {
    local code=$1 sum
    shift
    sum=$(file_sum "$SIM_STATE")
    local -a problems=() cmds=("$@")
    ((${#cmds[@]})) || cmds=("domain list" "domain show vm1" "sim show" "sim init" "list" "check")
    local c
    for c in "${cmds[@]}"; do
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" $c
        ((status == 1)) || problems+=("$c: exit $status, not 1 (stderr: $stderr)")
        [[ $stderr == *"$SIM_STATE"* || $c == "sim init" ]] ||
            problems+=("$c: the error does not name the file: $stderr")
        [[ $(file_sum "$SIM_STATE") == "$sum" ]] || problems+=("$c: the state changed")
        # shellcheck disable=SC2086
        run --separate-stderr "$XGPUMAP" --sim-state "$SIM_STATE" -j $c
        if [[ $c != "sim init" ]]; then
            jq -e --arg c "$code" '.error.code == $c' <<<"$output" >/dev/null 2>&1 ||
                problems+=("-j $c: not the $code error document: $output")
        fi
    done
    if ((${#problems[@]})); then
        die "${problems[@]}"
        return 1
    fi
}

@test "a corrupt state file is refused and left untouched" {
    printf 'garbage \x00\x01\xff\n' >"$SIM_STATE"
    check_bad_state EBADMSG
}

@test "a truncated state file is refused and left untouched" {
    run_xgm 0 -q sim init
    local size
    size=$(stat -c %s "$SIM_STATE")
    head -c $((size / 2)) "$SIM_STATE" >"$XGM_TMP/half" && mv "$XGM_TMP/half" "$SIM_STATE"
    check_bad_state EBADMSG
}

# sql STATEMENTS: run on the state database, as an editor would.
sql() {
    sqlite3 "$SIM_STATE" "$1" || die "sqlite3: $1"
}

@test "a state of a future version is refused and left untouched" {
    run_xgm 0 -q sim init
    sql "UPDATE meta SET value = 6 WHERE key = 'version'"
    check_bad_state EPROTONOSUPPORT
    run_xgm 1 domain list
    contains "$stderr" "newer"
}

# state-v4.sql: the .dump of a state the xgpumap of state version 4 made
# (sim init --extensions ram-mmio; a 256K ram-mmio blob on vm1, a 64K grant
# blob on vm2, a 2M mmio blob on vm1), its references one row a page.
version_row() {
    sqlite3 -readonly "$SIM_STATE" "SELECT value FROM meta WHERE key = 'version'"
}

@test "a state of version 4 is read as it is, and its first write makes it version 5" {
    sqlite3 "$SIM_STATE" <"$BATS_TEST_DIRNAME/fixtures/state-v4.sql" ||
        die "cannot load the fixture"
    run_xgm 0 -j list
    assert_json "$output" '[.[].id] | join(" ")' "vm1:1 vm1:2 vm2:1"
    run_xgm 0 -j check
    assert_json "$output" 'length' 0
    is "$(version_row)" 4 "the version after commands that only read"
    run_xgm 0 -q detach vm1:1
    is "$(version_row)" 5 "the version after a write"
    # The ram-mmio blob's references went with it; the grant blob's 16
    # stay, one run now.
    is "$(sqlite3 -readonly "$SIM_STATE" "SELECT json_extract(body, '$.refs') FROM host")" \
        "[[1572784,16,1]]" "the references' row"
    run_xgm 0 -j check
    assert_json "$output" 'length' 0
    run_xgm 0 -q detach vm2:1
    run_xgm 0 -j list
    assert_json "$output" '[.[].id] | join(" ")' "vm1:2"
}

@test "a state of an older version is refused, left untouched, and sim reset replaces it" {
    run_xgm 0 -q sim init
    sql "UPDATE meta SET value = 3 WHERE key = 'version'"
    check_bad_state EPROTONOSUPPORT
    run_xgm 1 domain list
    contains "$stderr" "older"
    contains "$stderr" "sim reset"
    run_xgm 0 -q sim reset
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4
}

@test "an SQLite database that is not an xgpumap state, or a damaged row, is refused and left untouched" {
    rm -f "$SIM_STATE"
    sqlite3 "$SIM_STATE" "CREATE TABLE t (x); INSERT INTO t VALUES (1)"
    check_bad_state EBADMSG
    rm -f "$SIM_STATE"
    run_xgm 0 -q sim init
    sql "UPDATE meta SET value = 'something-else' WHERE key = 'schema'"
    check_bad_state EBADMSG
    run_xgm 0 -q sim reset
    # A row is read when a command needs it: what touches vm1 fails.
    local -a vm1_readers=("domain list" "domain show vm1" "sim show" "check" "attach vm1 --size 2M")
    sql "UPDATE domains SET body = '{\"domid\":1' WHERE name = 'vm1'"
    check_bad_state EBADMSG "${vm1_readers[@]}"
    run_xgm 0 -q sim reset
    sql "UPDATE domains SET body = replace(body, '\"vcpus\":2', '\"vcpus\":0') WHERE name = 'vm1'"
    check_bad_state EBADMSG "${vm1_readers[@]}"
    run_xgm 0 -q sim reset
    sql "UPDATE host SET body = '[]'"
    check_bad_state EBADMSG
    run_xgm 0 -q sim reset
    sql "DELETE FROM host"
    check_bad_state EBADMSG
}

@test "a command reads the rows it needs: a damaged vm2 row stops what reads vm2, not an attach to vm1, and is never written over" {
    run_xgm 0 -q sim init
    sql "UPDATE domains SET body = '{\"domid\":2' WHERE name = 'vm2'"
    local vm2
    vm2=$(sqlite3 "$SIM_STATE" "SELECT body FROM domains WHERE name = 'vm2'")
    run_xgm 0 -q attach vm1 --size 4M
    run_xgm 0 -q show vm1:1
    run_xgm 0 -q detach vm1:1
    run_xgm 1 show vm2:1
    contains "$stderr" "domain 2"
    run_xgm 1 check
    contains "$stderr" "domain 2"
    is "$(sqlite3 "$SIM_STATE" "SELECT body FROM domains WHERE name = 'vm2'")" "$vm2" \
        "vm2's row after commands that did not read it"
}

@test "a JSON file that is not an xgpumap state is refused and left untouched" {
    printf '{"schema":"something-else","version":1}\n' >"$SIM_STATE"
    check_bad_state EBADMSG
    printf '[1,2,3]\n' >"$SIM_STATE"
    check_bad_state EBADMSG
    printf '{"schema":"xgpumap-sim-state","version":1}\n' >"$SIM_STATE"
    check_bad_state EPROTONOSUPPORT
}

@test "the JSON state of an earlier xgpumap: named, left untouched, and sim import makes a state of it" {
    local fixture=$BATS_TEST_DIRNAME/fixtures/state-v3.json old sum
    old=$XGM_TMP/old.json
    cp "$fixture" "$old"
    sum=$(file_sum "$old")
    run_xgm 1 --sim-state "$old" list
    contains "$stderr" "before state version 4"
    contains "$stderr" "sim import $old"
    assert_unchanged "$old" "$sum"

    run_xgm 0 -j sim import "$old"
    assert_unchanged "$old" "$sum"
    assert_json "$output" '.host.iommu' amd
    run_xgm 0 -j list
    assert_json "$output" 'length' 3
    assert_json "$output" '[.[].id] | join(" ")' "g1:1 g1:2 g2:1"
    run_xgm 0 -j check
    assert_json "$output" 'length' 0
    run_xgm 0 -j verify g1:1
    assert_json "$output" '.bad_pages' 0

    # An existing state is replaced only with --force.
    sum=$(file_sum "$SIM_STATE")
    run_xgm 1 sim import "$old"
    contains "$stderr" "already exists"
    assert_unchanged "$SIM_STATE" "$sum"
    run_xgm 0 -q sim import --force "$old"
    # What is not a version-3 JSON state is refused, and nothing changes.
    printf 'not json\n' >"$XGM_TMP/bad.json"
    sum=$(file_sum "$SIM_STATE")
    run_xgm 1 sim import --force "$XGM_TMP/bad.json"
    contains "$stderr" "not a JSON state"
    run_xgm 1 sim import --force "$XGM_TMP/absent.json"
    jq -c '.domains[1].vcpus = 0' "$old" >"$XGM_TMP/broken.json"
    run_xgm 1 sim import --force "$XGM_TMP/broken.json"
    contains "$stderr" "broken.json"
    assert_unchanged "$SIM_STATE" "$sum"
    if ((${#problems[@]})); then
        die "${problems[@]}"
        return 1
    fi
}

@test "sim init --force and sim reset replace a corrupt state" {
    printf 'garbage\n' >"$SIM_STATE"
    run_xgm 0 -q sim init --force
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4

    printf 'garbage\n' >"$SIM_STATE"
    run_xgm 0 -q sim reset
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 4
}

@test "a state with a control character in a domain name: refused, or escaped" {
    run_xgm 0 -q sim init
    sql "UPDATE domains SET name = 'vm' || char(27) || '[31m1', body = replace(body, '\"vm1\"', '\"vm\\u001b[31m1\"') WHERE name = 'vm1'"
    local sum
    sum=$(file_sum "$SIM_STATE")
    run_xgm '?' domain list
    if ((status == 0)); then
        no_control_chars "$output" "domain list text output"
        contains "$output" 'vm\x1b[31m1'
    else
        is "$status" 1 "exit status of domain list on the edited state"
        no_control_chars "$stderr" "stderr"
    fi
    assert_unchanged "$SIM_STATE" "$sum"
}

@test "reading commands never write the state" {
    run_xgm 0 -q sim init
    local sum mtime
    sum=$(file_sum "$SIM_STATE")
    mtime=$(stat -c %Y.%N "$SIM_STATE")
    run_xgm 0 domain list
    run_xgm 0 domain show vm1
    run_xgm 0 sim show
    run_xgm 0 list
    assert_unchanged "$SIM_STATE" "$sum"
    is "$(stat -c %Y.%N "$SIM_STATE")" "$mtime" "mtime of the state"
}

# ---- concurrency -----------------------------------------------------------

@test "concurrent first uses create one state, all succeed, one notice" {
    local i pids=()
    for i in $(seq 1 8); do
        "$XGPUMAP" --sim-state "$SIM_STATE" -j domain list >"$XGM_TMP/out.$i" 2>/dev/null &
        pids+=($!)
    done
    # The notice is suppressed in -j mode: use text mode for half of them.
    for i in $(seq 9 16); do
        "$XGPUMAP" --sim-state "$SIM_STATE" domain list >"$XGM_TMP/out.$i" 2>"$XGM_TMP/err.$i" &
        pids+=($!)
    done
    local -a problems=()
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || problems+=("process $((i + 1)) failed with status $?")
    done
    for i in $(seq 1 8); do
        [[ $(jq length "$XGM_TMP/out.$i" 2>&1) == 4 ]] ||
            problems+=("process $i: $(cat "$XGM_TMP/out.$i")")
    done
    local notices
    notices=$(cat "$XGM_TMP"/err.* | grep -c "$SIM_STATE" || true)
    ((notices <= 1)) || problems+=("$notices creation notices for one state")
    ((${#problems[@]} == 0)) || die "${problems[@]}"
}

@test "concurrent sim init --force and domain list: every read sees a whole state" {
    run_xgm 0 -q sim init
    local i pids=() kinds=()
    for i in $(seq 1 12); do
        if ((i % 2)); then
            "$XGPUMAP" --sim-state "$SIM_STATE" -q sim init --force --guest "g$i:pvh:1G" \
                >/dev/null 2>"$XGM_TMP/werr.$i" &
            pids+=($!) kinds+=("writer $i")
        fi
        "$XGPUMAP" --sim-state "$SIM_STATE" -j domain list >"$XGM_TMP/r.$i" 2>"$XGM_TMP/rerr.$i" &
        pids+=($!) kinds+=("reader $i")
        "$XGPUMAP" --sim-state "$SIM_STATE" -j sim show >"$XGM_TMP/s.$i" 2>&1 &
        pids+=($!) kinds+=("sim show $i")
    done
    local -a problems=()
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || problems+=("${kinds[$i]} failed with status $?")
    done
    for i in $(seq 1 12); do
        # Either the default topology (4 domains) or one writer's (dom0 + gN).
        local n
        n=$(jq length "$XGM_TMP/r.$i" 2>&1)
        [[ $n == 4 || $n == 2 ]] ||
            problems+=("reader $i saw: $(cat "$XGM_TMP/r.$i") $(cat "$XGM_TMP/rerr.$i")")
        jq -e 'type == "object"' "$XGM_TMP/s.$i" >/dev/null 2>&1 ||
            problems+=("sim show $i: $(cat "$XGM_TMP/s.$i")")
    done
    # The final state is exactly one writer's topology.
    run_xgm 0 -j domain list
    assert_json "$output" 'length' 2
    like "$(jq -r '.[] | select(.dom0 | not) | .name' <<<"$output")" '^g[0-9]+$' "the last writer's guest"
    local leftovers
    leftovers=$(find "$XGM_TMP" -maxdepth 1 -name 'sim.db.new*')
    [[ -z $leftovers ]] || problems+=("temporary files left: $leftovers")
    ((${#problems[@]} == 0)) || die "${problems[@]}"
}

@test "sim init: a host smaller than the RAM below the 4 GiB hole still loads" {
    # Host RAM rounded to less than 3 GiB once made the RAM above the hole
    # negative: a state no later command could load.
    run_xgm 0 sim init --dom0-mem 512M --vram 64M --guest vm1:pvh:256M
    run_xgm 0 -j sim show
    assert_json "$output" '.host.ram_bytes' 3221225472
    run_xgm 0 attach vm1 --size 4M
    run_xgm 0 check
}
