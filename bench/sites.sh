#!/usr/bin/env bash
# bench/sites.sh: what many sites cost triad-httpd (issue 12, "Benchmark").
#
# The 1 KiB keep-alive workload (wrk -t2 -c100, GET of 1 KiB files) against
# one triad-httpd, in three shapes:
#   1site-1file    1 site, every request for its one file /1k.txt
#   1site-Nfiles   1 site, requests spread over BENCH_SPREAD (1,000) files of it
#   Msites         BENCH_SITES (10,000) sites, requests spread over BENCH_SPREAD
#                  of them by Host (a wrk Lua script cycles through their
#                  names), each site's own /1k.txt
# 1site-Nfiles and Msites touch the same number of distinct files, so their
# difference is what the sites themselves cost (the lookup by Host, per-site
# state); 1site-1file also shows what 1,000 hot files cost over one (the
# cache entries, their sites and host names that no longer stay in the CPU's
# caches; before the inotify watches of httpd/fcache.h also an fstatat per
# file per event-loop iteration and sibling lookups once a second).
# Each run first warms up for BENCH_WARMUP (1) seconds, unmeasured, so that
# all shapes are measured with their files cached (1,000 files read once per
# worker would otherwise be charged to the run).
# Runs BENCH_RUNS (3) rounds, the shapes interleaved (each round starting one
# run further on), and prints for each run req/s and httpd's CPU time (user +
# system, and user alone, /proc/PID/stat) per request, then the medians and
# the ratios to Msites. CPU per request is the steadier figure on a shared
# machine; user CPU is where the per-site and per-file work is (the kernel's
# share, loopback TCP, is the same in every shape). With BENCH_BASELINE=DIR
# (another build directory) every shape also runs on that build, in the same
# rounds, and the new/base ratios close the output.
# BENCH_SHAPES picks shapes (default all three). BENCH_PROFILE=CMD runs CMD
# beside each wrk run, with @PID@ replaced by httpd's pid and @OUT@ by
# BENCH_PROFILE_DIR/<build>-<shape>-<run> (default /tmp), and stops it with
# SIGINT when wrk ends, e.g.
#   BENCH_PROFILE='perf record -g -p @PID@ -o @OUT@.perf'
#   BENCH_PROFILE='strace -c -f -p @PID@ -o @OUT@.strace'
# (profiling costs CPU: read its runs' figures as relative only).
# BENCH_CALLGRIND=1 counts instead of timing, independent of the machine's
# load: httpd (1 worker, sandbox off) runs under valgrind's callgrind with
# its cache simulator, the last level set to one core's L2 (BENCH_CG_LL,
# default 2 MiB, 16-way), and each run prints per request the instructions
# (Ir), the L1 data misses (D1mr + D1mw) and the simulated L2 misses (DLmr +
# DLmw), counted from the end of the warm-up to the end of wrk's run (-c10).
# The dumps stay in BENCH_PROFILE_DIR as <build>-<shape>-<run>.cg.*, and
# bench/cgtable.py prints the first round's BENCH_CG_ROWS (15) functions with
# the most L1 misses, per request, for every build and shape side by side.
# valgrind 3.19 lacks openat2: the run preloads
# build/tests/valgrind/openat2_shim.so (make it first).
# Usage: bench/sites.sh [BUILD_DIR] (default build).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
BASE=${BENCH_BASELINE:+$(cd "$BENCH_BASELINE" && pwd)}
SITES=${BENCH_SITES:-10000}
SPREAD=${BENCH_SPREAD:-1000}
RUNS=${BENCH_RUNS:-3}
DUR=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PROFILE=${BENCH_PROFILE:-}
PROFILE_DIR=${BENCH_PROFILE_DIR:-/tmp}
CALLGRIND=${BENCH_CALLGRIND:-}
CG_LL=${BENCH_CG_LL:-2097152,16,64}
CONNS=100
if [ -n "$CALLGRIND" ]; then
	WORKERS=1
	CONNS=10
	SHIM=$(cd "$(dirname "$0")/.." && pwd)/build/tests/valgrind/openat2_shim.so
	if [ ! -f "$SHIM" ]; then
		echo "bench/sites.sh: BENCH_CALLGRIND needs $SHIM (make $SHIM)" >&2
		exit 1
	fi
	if [ "$WARMUP" = 1 ]; then WARMUP=4; fi # slower under valgrind: cover all 1,000 files
fi
DIR=$(mktemp -d /tmp/triad-bench-sites-XXXXXX)
trap 'kill ${PID:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$((20000 + RANDOM % 20000))
PID=
if [ "$SPREAD" -gt "$SITES" ]; then SPREAD=$SITES; fi
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$DIR/1k.txt"

# N sites s0..s(N-1), hosts s<i>.example, each with its own docroot holding 1k.txt;
# s0 also holds f0.txt .. f(SPREAD-1).txt. Prints the configuration's path.
make_conf() {
	local n=$1 conf=$DIR/sites-$1.conf
	mkdir -p "$DIR/root/www"
	{
		printf '[global]\nroot = %s/root\nlog = stderr\nlog_level = error\nworkers = %s\n' \
			"$DIR" "$WORKERS"
		if [ -n "$CALLGRIND" ]; then printf 'sandbox = off\n'; fi
		printf '[httpd]\nlisten = 127.0.0.1:%s\ndocroot = www\nmax_connections_per_ip = 0\n' \
			"$PORT"
		for ((i = 0; i < n; i++)); do
			printf '[site s%d]\nhosts = s%d.example\n' "$i" "$i"
		done
	} > "$conf"
	# one process for all the docroots: a mkdir and an ln per site take minutes
	/usr/bin/python3 - "$DIR" "$n" "$SPREAD" <<'PY'
import os, sys
d, n, spread = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def link(path):
    if not os.path.exists(path):
        os.link(f"{d}/1k.txt", path)
for i in range(n):
    www = f"{d}/root/sites/s{i}/www"
    os.makedirs(www, exist_ok=True)
    link(f"{www}/1k.txt")
for i in range(spread):
    link(f"{d}/root/sites/s0/www/f{i}.txt")
PY
	echo "$conf"
}

# The wrk script of a shape: N requests cycling over hosts or paths.
make_lua() {
	local shape=$1 lua=$DIR/$1.lua
	{
		case $shape in
		1site-1file) printf 'local t = {{"s0.example", "/1k.txt"}}\n' ;;
		1site-Nfiles)
			printf 'local t = {'
			for ((i = 0; i < SPREAD; i++)); do printf '{"s0.example","/f%d.txt"},' "$i"; done
			printf '}\n' ;;
		Msites)
			printf 'local t = {'
			for ((i = 0; i < SPREAD; i++)); do printf '{"s%d.example","/1k.txt"},' "$i"; done
			printf '}\n' ;;
		esac
		printf 'local i = 0\nrequest = function()\n  i = i %% #t + 1\n'
		printf '  return wrk.format("GET", t[i][2], {Host = t[i][1]})\nend\n'
	} > "$lua"
	echo "$lua"
}

# utime + stime and utime alone of PID (all its threads), in clock ticks
cpu_ticks() {
	awk '{print $14 + $15, $14}' "/proc/$1/stat"
}

# One run: BIN serving CONF, wrk with LUA; prints "req/s us-CPU-per-request
# us-user-CPU-per-request".
# TAG names the run's profile output.
run() {
	local bin=$1 conf=$2 lua=$3 tag=$4 t0 t1 u0 u1 out prof= cmd
	if [ -n "$CALLGRIND" ]; then
		rm -f "$PROFILE_DIR/$tag.cg"*
		LD_PRELOAD=$SHIM valgrind --tool=callgrind --cache-sim=yes --LL="$CG_LL" \
			--instr-atstart=no --callgrind-out-file="$PROFILE_DIR/$tag.cg" \
			"$bin" -c "$conf" 2>"$DIR/httpd.err" &
	else
		"$bin" -c "$conf" 2>"$DIR/httpd.err" &
	fi
	PID=$!
	local up=
	for _ in $(seq 300); do
		curl -sf -H "Host: s0.example" "http://127.0.0.1:$PORT/1k.txt" >/dev/null && up=1 && break
		sleep 0.1
	done
	if [ -z "$up" ]; then
		echo "bench/sites.sh: $bin did not answer on port $PORT within 30 s:" >&2
		cat "$DIR/httpd.err" >&2
		exit 1
	fi
	if [ -n "$CALLGRIND" ]; then callgrind_control -i on "$PID" >/dev/null 2>&1; fi
	if [ "$WARMUP" != 0 ]; then
		wrk -t2 -c"$CONNS" -d"${WARMUP}s" -s "$lua" "http://127.0.0.1:$PORT/" >/dev/null
	fi
	if [ -n "$CALLGRIND" ]; then
		callgrind_control -z "$PID" >/dev/null 2>&1
		out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$lua" "http://127.0.0.1:$PORT/")
		callgrind_control -d "$PID" >/dev/null 2>&1
		kill "$PID"
		wait "$PID" 2>/dev/null || true
		# the dump's "summary:" line counts the events in the order of "events:"
		awk -v n="$(awk '/requests in/ {print $1}' <<<"$out")" '
			/^events:/ {for (i = 2; i <= NF; i++) col[$i] = i}
			/^summary:/ {
				printf "%.0f %.0f %.2f %.2f\n", n / '"$DUR"', $col["Ir"] / n,
					($col["D1mr"] + $col["D1mw"]) / n, ($col["DLmr"] + $col["DLmw"]) / n
			}' "$(ls "$PROFILE_DIR/$tag.cg."* | tail -1)"
		return
	fi
	if [ -n "$PROFILE" ]; then
		cmd=${PROFILE//@PID@/$PID}
		cmd=${cmd//@OUT@/$PROFILE_DIR/$tag}
		$cmd >/dev/null 2>&1 &
		prof=$!
		sleep 1 # attached before the load starts
	fi
	read -r t0 u0 <<<"$(cpu_ticks "$PID")"
	out=$(wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$lua" "http://127.0.0.1:$PORT/")
	read -r t1 u1 <<<"$(cpu_ticks "$PID")"
	if [ -n "$prof" ]; then
		kill -INT "$prof"
		wait "$prof" 2>/dev/null || true
	fi
	awk -v t="$((t1 - t0))" -v u="$((u1 - u0))" -v hz="$(getconf CLK_TCK)" '
		/requests in/ {n = $1}
		/Requests\/sec/ {r = $2}
		END {printf "%s %.2f %.2f\n", r, n ? t * 1e6 / hz / n : 0, n ? u * 1e6 / hz / n : 0}' <<<"$out"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
}

conf1=$(make_conf 1)
confn=$(make_conf "$SITES")
# The files were just linked (a fresh ctime): wait out the file cache's freshness
# rule (HTTP_FCACHE_FRESH_S) so that no run is measured before its files are cacheable.
sleep 3
builds=("new=$BUILD/triad-httpd")
if [ -n "$BASE" ]; then builds+=("base=$BASE/triad-httpd"); fi
read -r -a shapes <<<"${BENCH_SHAPES:-1site-1file 1site-Nfiles Msites}"
declare -A qps cpu usr
# Every (build, shape) pair once per round; each round starts one pair further
# on, so that no pair always runs first or right after the same neighbour.
pairs=()
for b in "${builds[@]}"; do
	for shape in "${shapes[@]}"; do pairs+=("$b $shape"); done
done
# Under callgrind the three columns are Ir, D1 misses and L2 misses per
# request instead of req/s, CPU and user CPU per request.
for ((r = 1; r <= RUNS; r++)); do
	for ((k = 0; k < ${#pairs[@]}; k++)); do
		read -r b shape <<<"${pairs[$(((k + r - 1) % ${#pairs[@]}))]}"
		conf=$conf1
		if [ "$shape" = Msites ]; then conf=$confn; fi
		read -r q c u d <<<"$(run "${b#*=}" "$conf" "$(make_lua "$shape")" "${b%%=*}-$shape-$r")"
		if [ -z "$q" ]; then exit 1; fi # run said why
		key="${b%%=*} $shape"
		if [ -n "$CALLGRIND" ]; then
			echo "run $r: $key: $c Ir/req, $u D1 misses/req, $d L2 misses/req ($q req/s under callgrind)"
			q=$c c=$u u=$d
		else
			echo "run $r: $key: $q req/s, $c us CPU/req ($u user)"
		fi
		qps[$key]+="$q " cpu[$key]+="$c " usr[$key]+="$u "
	done
done
median() { printf '%s\n' $1 | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "medians (Msites = $SITES sites, requests over $SPREAD of them; N = $SPREAD):"
if [ -n "$CALLGRIND" ]; then
	fmt='  %-4s %-12s %9.0f Ir/req %8.2f D1 misses/req %8.2f L2 misses/req'
	ratio='   Msites/this: Ir %.3f, D1 misses %.3f'
else
	fmt='  %-4s %-12s %9.0f req/s %6.2f us CPU/req (%5.2f user)'
	ratio='   Msites/this: req/s %.3f, CPU/req %.3f'
fi
for b in "${builds[@]}"; do
	b=${b%%=*}
	mq=$(median "${qps[$b Msites]:-}")
	mc=$(median "${cpu[$b Msites]:-}")
	for shape in "${shapes[@]}"; do
		q=$(median "${qps[$b $shape]}")
		c=$(median "${cpu[$b $shape]}")
		u=$(median "${usr[$b $shape]}")
		awk -v b="$b" -v s="$shape" -v q="$q" -v c="$c" -v u="$u" -v mq="$mq" -v mc="$mc" \
			-v fmt="$fmt" -v ratio="$ratio" 'BEGIN {
			printf fmt, b, s, q, c, u
			if (s != "Msites" && mq != "" && q && c)
				printf ratio, mq / q, mc / c
			printf "\n" }'
	done
done
if [ -n "$BASE" ]; then
	if [ -n "$CALLGRIND" ]; then
		echo "new/base (medians; below 1: new costs less): Ir, D1 misses, L2 misses per request"
	else
		echo "new/base (medians; CPU below 1: new costs less): req/s, CPU/req, user CPU/req"
	fi
	for shape in "${shapes[@]}"; do
		awk -v s="$shape" -v q="$(median "${qps[new $shape]}")" -v bq="$(median "${qps[base $shape]}")" \
			-v c="$(median "${cpu[new $shape]}")" -v bc="$(median "${cpu[base $shape]}")" \
			-v u="$(median "${usr[new $shape]}")" -v bu="$(median "${usr[base $shape]}")" 'BEGIN {
			printf "  %-12s %.3f %.3f %.3f\n", s, bq ? q / bq : 0, bc ? c / bc : 0, bu ? u / bu : 0 }'
	done
fi
if [ -n "$CALLGRIND" ]; then
	echo "per function, run 1 (bench/cgtable.py):"
	args=()
	for b in "${builds[@]}"; do
		for shape in "${shapes[@]}"; do
			ir=${qps[${b%%=*} $shape]%% *}
			dump=$(ls "$PROFILE_DIR/${b%%=*}-$shape-1.cg."* | tail -1)
			args+=("${b%%=*}-$shape=$ir:$dump")
		done
	done
	/usr/bin/python3 "$(dirname "$0")/cgtable.py" -n "${BENCH_CG_ROWS:-15}" "${args[@]}"
fi
