#!/usr/bin/env bash
# Builds mapletree and runs the whole test suite in six configurations:
#
#   plain     build-test   debugoptimized, NDEBUG not defined (lock and
#                          invariant assertions compiled in); every suite
#   asan      build-asan   clang, -fsanitize=address,undefined, leak checks;
#                          every suite, MT_DIFF_OPS reduced
#   tsan      build-tsan   clang, -fsanitize=thread; the concurrency suites
#   valgrind  build-test   memcheck on test_api and test_cursor
#   install   (scratch)    meson install into a scratch prefix; the
#                          examples built out of tree with pkg-config only
#                          (scripts/install_check.sh)
#   fuzz      build-fuzz   clang; the libFuzzer target tests/fuzz/fuzz_tree
#                          (fuzzer+address+undefined) for $MT_FUZZ_SECS s
#                          on a copy of tests/fuzz/corpus: one check
#
# Usage: scripts/test.sh [plain|asan|tsan|valgrind|install|fuzz ...]
#        (default: all)
#
# Test programs are found in the build, not listed here: every executable
# target named test_* defined under tests/ is a suite (see tests/meson.build).
# Convention: a suite whose name contains "rcu", "torture", "gap",
# "compact", "fence" or "bind" exercises concurrent threads (test_gap's
# search under RCU, test_compact's moves under readers, the VA manager's
# fences and bind queue); those run under TSan.
#
# Each suite ends with "N passed, N failed"; tests/run_suites.sh sums them per
# configuration. A configuration that fails to build, or a suite that crashes,
# hangs (see the time limits below) or prints no result line, counts as
# failed. The last line printed is the sum over all configurations, and the
# exit status is non-zero if anything failed.
#
# Environment: SAN_CC (compiler for the sanitizer and fuzz builds, default
# clang), MT_SEED (passed through to the suites, to replay a run),
# MT_FUZZ_SECS (how long the fuzz configuration fuzzes, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

san_cc=${SAN_CC:-clang}
valgrind_suites=(test_api test_cursor)
asan_diff_ops=1000000
fuzz_secs=${MT_FUZZ_SECS:-60}

# Seconds one suite may run in each configuration before it is killed.
# For fuzz: the whole fuzzing run, which stops itself after $fuzz_secs.
declare -A limit=([plain]=600 [asan]=900 [tsan]=900 [valgrind]=900
		  [install]=600 [fuzz]=$((fuzz_secs + 120)))

all_configs=(plain asan tsan valgrind install fuzz)
if [ "$#" -gt 0 ]; then
	configs=("$@")
else
	configs=("${all_configs[@]}")
fi
for c in "${configs[@]}"; do
	case $c in
	plain|asan|tsan|valgrind|install|fuzz) ;;
	*) echo "test.sh: unknown configuration '$c' (want: ${all_configs[*]})" >&2
	   exit 2 ;;
	esac
done

scripts/deps.sh

# Sanitizer runtimes of older toolchains can trip over a kernel's high
# mmap randomisation; run sanitized programs with ASLR off when we can.
norand=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
	norand=(setarch "$(uname -m)" -R)
fi

total_pass=0 total_fail=0
summary=()
declare -A built=()

# build DIR [meson options...]: configure DIR (or reconfigure it) and build.
# Output goes to DIR/build.log; its tail is shown on failure. An existing
# DIR keeps the compiler it was configured with: remove it to change CC.
build() {
	local dir=$1; shift
	local log=$root/$dir/build.log start=$SECONDS rc=0

	if [ -n "${built[$dir]:-}" ]; then
		[ "${built[$dir]}" = ok ]
		return
	fi
	echo "--- building $dir ($*)"
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
	fi
	mkdir -p "$dir"
	{
		if [ -f "$dir/build.ninja" ]; then
			meson setup --reconfigure "$dir" "$@"
		else
			meson setup "$dir" "$@"
		fi && ninja -C "$dir"
	} >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 60 "$log"
		echo "--- $dir: build FAILED after $((SECONDS - start)) s (full log: $log)"
		built[$dir]=failed
		return 1
	fi
	grep -E 'warning:' "$log" | sort -u | head -n 20 || true
	echo "--- $dir: built in $((SECONDS - start)) s"
	built[$dir]=ok
}

# suites DIR: the test programs of build DIR, one absolute path a line.
suites() {
	meson introspect "$1" --targets | python3 -c '
import json, os, sys
src = os.path.realpath(sys.argv[1])
for t in json.load(sys.stdin):
    where = os.path.relpath(os.path.realpath(t["defined_in"]), src)
    if (t["type"] == "executable" and t["name"].startswith("test_")
            and where.startswith("tests" + os.sep)):
        for f in t["filename"]:
            print(f)
' "$root" | sort
}

# wrap OUTDIR LIMIT PROG [PREFIX...]: write OUTDIR/<name of PROG>, a script
# that runs PREFIX PROG under a time limit, copying its output to
# OUTDIR/<name>.log, and print its path. run_suites.sh runs the wrappers.
wrap() {
	local out=$1 secs=$2 prog=$3; shift 3
	local name=${prog##*/}
	local w=$out/$name

	{
		echo '#!/usr/bin/env bash'
		echo 'set -o pipefail'
		printf 'timeout -k 30 %q' "$secs"
		if [ "$#" -gt 0 ]; then
			printf ' %q' "$@"
		fi
		printf ' %q "$@" 2>&1 | tee %q\n' "$prog" "$out/$name.log"
	} >"$w"
	chmod +x "$w"
	echo "$w"
}

# record NAME LOG SECONDS: add the "N passed, N failed" line ending LOG to
# the totals (no such line: one failure).
record() {
	local name=$1 log=$2 secs=$3 line p f

	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
	if [ -z "$line" ]; then
		p=0 f=1
	else
		p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	summary+=("$(printf '%-9s %6d passed, %d failed  (%d s)' "$name" "$p" "$f" "$secs")")
	echo "=== $name: $p passed, $f failed ($secs s)"
}

# run CONFIG DIR PROGRAMS_FILE [PREFIX...]: run the listed programs of DIR
# under PREFIX with run_suites.sh, in the environment set by the caller.
run() {
	local config=$1 dir=$2 list=$3; shift 3
	local out=$root/$dir/suites-$config log start=$SECONDS prog
	local wrappers=()

	log=$out/summary.log
	rm -rf "$out"
	mkdir -p "$out"
	while IFS= read -r prog; do
		wrappers+=("$(wrap "$out" "${limit[$config]}" "$prog" "$@")")
	done <"$list"
	if [ "${#wrappers[@]}" -eq 0 ]; then
		echo "$config: no test programs found in $dir"
		echo "0 passed, 1 failed" >"$log"
	else
		tests/run_suites.sh "${wrappers[@]}" 2>&1 | tee "$log" || true
	fi
	record "$config" "$log" "$((SECONDS - start))"
}

# fuzz DIR: run DIR's fuzz_tree for $fuzz_secs seconds on a copy of
# tests/fuzz/corpus in DIR/fuzz/corpus (libFuzzer adds what it finds to its
# first directory; see tests/fuzz/README.md to merge that back). One check:
# passed if it ran out its time without a crash. A crashing input is left in
# DIR/fuzz/artifacts.
fuzz() {
	local dir=$1 start=$SECONDS rc=0 runs secs crash
	local out=$root/$dir/fuzz exe=$root/$dir/tests/fuzz/fuzz_tree
	local log=$root/$dir/fuzz/fuzz.log sum=$root/$dir/fuzz/summary.log

	rm -rf "$out"
	mkdir -p "$out/corpus" "$out/artifacts"
	if [ ! -x "$exe" ]; then
		echo "fuzz: $dir has no fuzz_tree (needs clang with libFuzzer; SAN_CC=$san_cc)" |
			tee "$sum"
		echo "0 passed, 1 failed" >>"$sum"
		record fuzz "$sum" "$((SECONDS - start))"
		return
	fi
	cp tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
	UBSAN_OPTIONS=print_stacktrace=1 \
		timeout -k 30 "${limit[fuzz]}" "${norand[@]}" "$exe" \
		-max_total_time="$fuzz_secs" -max_len=4096 -timeout=30 \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/" \
		"$out/corpus" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	{
		echo "fuzz: ${runs:-0} executions in ${secs:-$((SECONDS - start))} s"
		if [ "$rc" -eq 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
			echo "1 passed, 0 failed"
		else
			# The first report (a mismatch, a sanitizer, a
			# timeout), not the stack traces that end the log.
			awk '/MISMATCH|ERROR:|runtime error|deadly signal|Timeout/ { on = 1 }
			     on && n++ < 40' "$log"
			crash=$(find "$out/artifacts" -type f | head -n 1)
			echo "fuzz: fuzz_tree failed (exit $rc; log: $log)"
			if [ -n "$crash" ]; then
				echo "fuzz: replay with: $exe $crash"
			fi
			echo "0 passed, 1 failed"
		fi
	} | tee "$sum"
	record fuzz "$sum" "$((SECONDS - start))"
}

# A configuration that did not build: one failure, no run.
broken() {
	summary+=("$(printf '%-9s %6d passed, %d failed  (build failed)' "$1" 0 1)")
	total_fail=$((total_fail + 1))
	echo "=== $1: build failed, counted as 1 failure"
}

want() {
	local c
	for c in "${configs[@]}"; do
		[ "$c" = "$1" ] && return 0
	done
	return 1
}

lists=$(mktemp -d)
trap 'rm -rf "$lists"' EXIT

if want plain; then
	echo "##### plain: build-test, every suite"
	if build build-test --buildtype=debugoptimized -Db_ndebug=false; then
		suites build-test >"$lists/plain" || true
		run plain build-test "$lists/plain"
	else
		broken plain
	fi
fi

if want asan; then
	echo "##### asan: build-asan ($san_cc, address+undefined), every suite"
	if CC=$san_cc build build-asan --buildtype=debugoptimized \
		-Db_ndebug=false -Db_sanitize=address,undefined -Db_lundef=false; then
		suites build-asan >"$lists/asan" || true
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		MT_DIFF_OPS=${MT_DIFF_OPS:-$asan_diff_ops} \
		MT_COMPACT_N=${MT_COMPACT_N:-200000} \
			run asan build-asan "$lists/asan" "${norand[@]}"
	else
		broken asan
	fi
fi

if want tsan; then
	echo "##### tsan: build-tsan ($san_cc, thread), concurrency suites (*rcu*, *torture*, *gap*, *compact*, *fence*, *bind*)"
	if CC=$san_cc build build-tsan --buildtype=debugoptimized \
		-Db_ndebug=false -Db_sanitize=thread -Db_lundef=false; then
		suites build-tsan | grep -E '/[^/]*(rcu|torture|gap|compact|fence|bind)[^/]*$' \
			>"$lists/tsan" || true
		tsan_opts="halt_on_error=1 second_deadlock_stack=1"
		if [ -f tests/tsan.supp ]; then
			tsan_opts+=" suppressions=$root/tests/tsan.supp"
		fi
		TSAN_OPTIONS=$tsan_opts MT_COMPACT_N=${MT_COMPACT_N:-200000} \
			run tsan build-tsan "$lists/tsan" "${norand[@]}"
	else
		broken tsan
	fi
fi

if want valgrind; then
	echo "##### valgrind: memcheck on ${valgrind_suites[*]} from build-test"
	if build build-test --buildtype=debugoptimized -Db_ndebug=false; then
		suites build-test >"$lists/all-plain" || true
		: >"$lists/valgrind"
		missing=0
		for name in "${valgrind_suites[@]}"; do
			if ! grep -E "/$name\$" "$lists/all-plain" >>"$lists/valgrind"; then
				echo "valgrind: suite $name is not built"
				missing=$((missing + 1))
			fi
		done
		vg=(valgrind -q --error-exitcode=1 --leak-check=full)
		# Report (and fail on) only leaks that are certainly the code's:
		# liburcu's call_rcu thread lives on at exit ("possibly lost").
		vg+=("--show-leak-kinds=definite,indirect")
		vg+=("--errors-for-leak-kinds=definite,indirect")
		if [ -f tests/valgrind.supp ]; then
			vg+=("--suppressions=$root/tests/valgrind.supp")
		fi
		run valgrind build-test "$lists/valgrind" "${vg[@]}"
		if [ "$missing" -gt 0 ]; then
			summary+=("valgrind: $missing suite(s) not built, counted as failures")
			total_fail=$((total_fail + missing))
		fi
	else
		broken valgrind
	fi
fi

if want install; then
	echo "##### install: meson install, then the examples out of tree via pkg-config"
	mkdir -p build-install
	start=$SECONDS
	timeout -k 30 "${limit[install]}" scripts/install_check.sh \
		2>&1 | tee build-install/summary.log || true
	record install build-install/summary.log "$((SECONDS - start))"
fi

if want fuzz; then
	echo "##### fuzz: build-fuzz ($san_cc, libFuzzer + address+undefined), fuzz_tree for $fuzz_secs s"
	if CC=$san_cc build build-fuzz --buildtype=debugoptimized -Db_ndebug=false; then
		fuzz build-fuzz
	else
		broken fuzz
	fi
fi

echo
echo "##### summary"
printf '%s\n' "${summary[@]}"
echo "total time: $SECONDS s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
