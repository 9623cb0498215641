#!/bin/sh
# Runs every cmocka unit test binary given; prints one line per binary and a
# closing "N passed, N failed" line; fails if any failed.
set -u
passed=0
failed=0
for t in "$@"; do
	if "$t"; then
		passed=$((passed + 1))
	else
		echo "FAILED: $t"
		failed=$((failed + 1))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
