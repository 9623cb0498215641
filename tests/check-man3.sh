#!/bin/sh
# man 3 libxgpumap gives every public function exactly as the header
# declares it: the same return type, name and parameters, in order.
#
#   tests/check-man3.sh man/libxgpumap.3 HEADER...
set -eu
man=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Header: each "XGM_API RET NAME(PARAMS);" joined onto one line, then
# written as "RET|NAME|P1|P2..." with single spaces.
awk '
	/^XGM_API / { decl = ""; on = 1 }
	on { decl = decl " " $0 }
	on && /;/ {
		on = 0
		sub(/^ *XGM_API +/, "", decl)
		gsub(/[ \t]+/, " ", decl)
		open = index(decl, "(")
		head = substr(decl, 1, open - 1)
		params = substr(decl, open + 1)
		sub(/\) *;.*$/, "", params)
		sub(/ +$/, "", head)
		n = split(head, w, " ")
		name = w[n]
		ret = substr(head, 1, length(head) - length(name))
		sub(/ +$/, "", ret)
		stars = name; sub(/[^*].*$/, "", stars)
		sub(/^\**/, "", name)
		if (stars != "") ret = ret " " stars
		out = ret "|" name
		np = split(params, p, ",")
		for (i = 1; i <= np; i++) { s = p[i]; gsub(/^ +| +$/, "", s); out = out "|" s }
		print out
	}' "$@" | sort > "$tmp/header"

# man page: ".Ft RET" then ".Fn NAME "P1" "P2"", or ".Fn NAME void".
awk '
	/^\.Sh SYNOPSIS/ { syn = 1; next }
	/^\.Sh / && syn { exit }
	!syn { next }
	/^\.Ft / { ret = substr($0, 5); sub(/ +$/, "", ret); next }
	/^\.Fn / {
		line = substr($0, 5)
		split(line, w, " ")
		name = w[1]
		rest = substr(line, length(name) + 2)
		out = ret "|" name
		if (rest == "void") out = out "|void"
		else while (match(rest, /"[^"]*"/)) {
			out = out "|" substr(rest, RSTART + 1, RLENGTH - 2)
			rest = substr(rest, RSTART + RLENGTH)
		}
		print out
	}' "$man" | sort > "$tmp/man"

if ! diff -u "$tmp/header" "$tmp/man" > "$tmp/diff"; then
	echo "man3: prototypes in $* (-) differ from $man (+):"
	cat "$tmp/diff"
	exit 1
fi
echo "man3: $(wc -l < "$tmp/header") prototypes match the header"
