#!/bin/sh
# Runs libFuzzer targets one after the other and reports, per target, the
# executions, the coverage (libFuzzer's "cov:" edges and "ft:" features),
# the corpus size, the wall time and the CPU time (user + system, from the
# shell's `times`), then totals. Used by `make fuzz-run` and `make fuzz-ci`.
#
#   tools/fuzz-run.sh SECONDS FUZZ_DIR TARGET_BINARY... [-- EXTRA_LIBFUZZER_ARGS]
#
# Each target grows FUZZ_DIR/corpus/<target>/ from the seeds committed in
# tests/fuzz/corpus/<target>/ (read, never written) and uses the dictionary
# tests/fuzz/dict/<name>.dict (name: the target without fuzz_) or else the
# one of its protocol, tests/fuzz/dict/<proto>.dict. A crash leaves its
# reproducer in FUZZ_DIR/crash/<target>/; the other targets still run and
# the script fails at the end naming the ones that crashed. The per-target
# lines also go to FUZZ_DIR/report.txt.
set -u
secs=$1
dir=$2
shift 2
targets=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	targets="$targets $1"
	shift
done
[ "${1:-}" = -- ] && shift
mkdir -p "$dir"
report="$dir/report.txt"
: >"$report"
failed=
total_execs=0
total_cpu=0
# cpu_mark sets $cpu_now to the CPU seconds (user + system) of the children
# this shell has waited for. The builtin `times` must run in this shell (in a
# command substitution it would be a new process with no children).
cpu_mark() {
	times >"$dir/.times"
	cpu_now=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/);
		printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$dir/.times")
}
printf '%-28s %12s %8s %8s %8s %6s %8s\n' target executions cov ft corpus secs cpu_s | tee -a "$report"
for t in $targets; do
	n=$(basename "$t")
	name=${n#fuzz_}
	proto=${name%%_*}
	seeds=tests/fuzz/corpus/$n
	dict=
	if [ -f "tests/fuzz/dict/$name.dict" ]; then
		dict="-dict=tests/fuzz/dict/$name.dict"
	elif [ -f "tests/fuzz/dict/$proto.dict" ]; then
		dict="-dict=tests/fuzz/dict/$proto.dict"
	fi
	mkdir -p "$dir/corpus/$n" "$dir/crash/$n"
	[ -d "$seeds" ] || seeds=
	mkdir -p "$dir/log"
	log="$dir/log/$n.log"
	start=$(date +%s)
	cpu_mark
	cpu0=$cpu_now
	# shellcheck disable=SC2086 # word splitting of the optional arguments is meant
	"$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$dir/crash/$n/" \
		$dict "$@" "$dir/corpus/$n" $seeds >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	cpu_mark
	cpu=$(awk -v a="$cpu_now" -v b="$cpu0" 'BEGIN { printf "%.1f", a - b }')
	total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN { printf "%.1f", a + b }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	total_execs=$((total_execs + ${execs:-0}))
	status=
	if [ $rc -ne 0 ]; then
		failed="$failed $n"
		status="  CRASH (see $log)"
	fi
	printf '%-28s %12s %8s %8s %8s %6s %8s%s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
		"${corp:-?}" "$took" "$cpu" "$status" | tee -a "$report"
done
printf '%-28s %12s %8s %8s %8s %6s %8s\n' total "$total_execs" "" "" "" "" "$total_cpu" |
	tee -a "$report"
if [ -n "$failed" ]; then
	echo "fuzz: crashes in$failed (see $dir/crash/)"
	exit 1
fi
