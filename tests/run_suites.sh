#!/usr/bin/env bash
# Runs every test program given as an argument, shows its output, and sums
# the "N passed, N failed" lines they end with into one such line.
set -u
total_pass=0 total_fail=0
for prog in "$@"; do
	echo "=== ${prog##*/}"
	out=$("$prog" 2>&1); rc=$?
	printf '%s\n' "$out" | tail -n 40
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$line" ]; then
		echo "${prog##*/}: no result line (exit $rc)"
		total_fail=$((total_fail + 1))
		continue
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "${prog##*/}: exit $rc"
		total_fail=$((total_fail + 1))
	fi
done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
