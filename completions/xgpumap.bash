# bash completion for xgpumap(1)                       -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-only
#
# A thin wrapper: the binary knows its commands, options and domains and
# answers `xgpumap __complete WORD...` with one candidate per line, the last
# word being the one under the cursor (possibly empty). Global options typed
# earlier (--sim-state PATH, -b X) are among the words, so it sees them.
# When it offers nothing, complete file names.

_xgpumap()
{
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        # Keep "--opt=value" and "DOM:ID" whole.
        _get_comp_words_by_ref -n =: cur words cword
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
    fi

    local prog=${words[0]}
    command -v "$prog" >/dev/null 2>&1 || prog=xgpumap
    mapfile -t COMPREPLY < <("$prog" __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null)

    if ((${#COMPREPLY[@]} == 0)); then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    elif declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "$cur"
    fi
}

complete -F _xgpumap xgpumap
