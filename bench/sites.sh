#!/usr/bin/env bash
# bench/sites.sh: what many sites cost triad-httpd (issue 12, "Benchmark":
# the 1 KiB keep-alive workload with 1 site and with 10,000 sites, requests
# spread over 1,000 of them, req/s within 5% of each other).
#
# Shapes (the 1 KiB keep-alive workload, wrk -t2 -c100, GET of 1 KiB files):
#   1site-1file    1 site, every request for its one file /1k.txt
#   1site-Nfiles   1 site, requests spread over BENCH_SPREAD (1,000) files of it
#   Msites         BENCH_SITES (10,000) sites, requests spread over BENCH_SPREAD
#                  of them by Host (a wrk Lua script cycles through their
#                  names), each site's own /1k.txt
# 1site-Nfiles and Msites touch the same number of distinct files, so their
# difference is what the sites themselves cost (the lookup by Host, per-site
# state); 1site-1file against Msites is the issue's target, and includes what
# 1,000 hot files cost over one.
#
# Method (why: two runs of the old script, 3-5 long rounds each, 30 minutes
# apart, gave the Msites/1site ratio 1.06 and 0.88 on this shared VM: the
# machine drifts by +-15% over minutes, more than the 5% to be shown).
# - Every (build, shape) gets its own triad-httpd, started once and kept up
#   for the whole run (each on its own port; an idle one costs nothing), so a
#   round is short: no start-up, no cold cache files.
# - BENCH_RUNS (20) rounds. A round measures every server once, the order
#   reversed every other round (A B, B A, A B, ...; with three shapes A B C,
#   C B A, ...), so a drift in the machine's speed within a round favours no
#   shape.
# - Every server gets 2 s of its load before the first round (its workers
#   read their files into the file cache there). Each measurement:
#   BENCH_WARMUP (1; 0: none) s of the same wrk load, unmeasured (the CPU's
#   caches hold this shape's data again after the other shape ran), then
#   BENCH_DURATION (2) s measured: wrk's req/s, and the server's CPU time
#   per request: user + system from the scheduler's run time of all its
#   threads (/proc/PID/task/*/schedstat, nanoseconds), user alone from
#   /proc/PID/stat (clock ticks: coarse, +-3% in a 2 s run). The same wrk,
#   threads and connection count for every shape.
# - Each round gives one ratio per shape against the first shape of
#   BENCH_SHAPES (the reference) measured seconds before or after it, so the
#   slow drift cancels within the pair. Printed per shape: the median of the
#   per-round ratios, their interquartile range, and a distribution-free 95%
#   interval for that median (order statistics of the binomial: with 20
#   rounds the 6th and 15th smallest ratio). The verdict says "within 5%"
#   only when the whole interval lies in [0.95, 1.05], "not within 5%" when
#   it lies wholly outside, else that the run cannot tell.
# - BENCH_PIN=1 pins the servers to CPUs BENCH_PIN_SERVER (default 0) and
#   wrk to BENCH_PIN_LOAD (default the other CPUs, 1-(nproc-1)) with
#   taskset, so the server's workers and wrk's threads do not migrate or
#   take each other's core (the server's 2 workers then share one CPU).
# - The A/A control (BENCH_CONTROL=1, the default): every round also
#   measures a second server of the reference shape ("1site-1file#ctl"; a
#   "#" suffix starts another server of a shape), and its ratio to the
#   reference is printed first. It must be 1.00 with its whole interval in
#   [0.95, 1.05] for the run to resolve 5%; when it is not (other work on
#   the machine, bursts that favour one server), the run gives no verdict.
#   BENCH_SHAPES='1site-1file 1site-1file#2' runs the A/A check alone.
# With BENCH_BASELINE=DIR (another build directory) every shape also runs on
# that build in the same rounds, and new/base ratios per shape close the
# output (the same per-round pairing).
# BENCH_PROFILE=CMD runs CMD beside each measured wrk run, with @PID@
# replaced by httpd's pid and @OUT@ by BENCH_PROFILE_DIR/<build>-<shape>-<run>
# (default /tmp), and stops it with SIGINT when wrk ends, e.g.
#   BENCH_PROFILE='perf stat -e cache-misses,L1-dcache-load-misses -p @PID@ -o @OUT@.stat'
#   BENCH_PROFILE='perf record -g -p @PID@ -o @OUT@.perf'
#   BENCH_PROFILE='strace -c -f -p @PID@ -o @OUT@.strace'
# (profiling costs CPU: read its runs' figures as relative only).
#
# BENCH_CALLGRIND=1 counts instead of timing, independent of the machine's
# load: httpd (1 worker, sandbox off) runs under valgrind's callgrind with
# its cache simulator, the last level set to one core's L2 (BENCH_CG_LL,
# default 2 MiB, 16-way), and each run prints per request the instructions
# (Ir), the L1 data misses (D1mr + D1mw) and the simulated L2 misses (DLmr +
# DLmw), counted from the end of the warm-up to the end of wrk's run (-c10).
# Each callgrind run starts its own httpd; BENCH_RUNS defaults to 1 there
# (the counts repeat within a fraction of a percent).
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
DUR=${BENCH_DURATION:-2}
WARMUP=${BENCH_WARMUP:-1}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PROFILE=${BENCH_PROFILE:-}
PROFILE_DIR=${BENCH_PROFILE_DIR:-/tmp}
CALLGRIND=${BENCH_CALLGRIND:-}
CG_LL=${BENCH_CG_LL:-2097152,16,64}
CONNS=100
PIN_SERVER=() PIN_LOAD=()
if [ "${BENCH_PIN:-0}" = 1 ]; then
	PIN_SERVER=(taskset -c "${BENCH_PIN_SERVER:-0}")
	PIN_LOAD=(taskset -c "${BENCH_PIN_LOAD:-1-$(($(nproc) - 1))}")
fi
if [ -n "$CALLGRIND" ]; then
	RUNS=${BENCH_RUNS:-1}
	WORKERS=1
	CONNS=10
	DUR=${BENCH_DURATION:-5}
	SHIM=$(cd "$(dirname "$0")/.." && pwd)/build/tests/valgrind/openat2_shim.so
	if [ ! -f "$SHIM" ]; then
		echo "bench/sites.sh: BENCH_CALLGRIND needs $SHIM (make $SHIM)" >&2
		exit 1
	fi
	if [ "$WARMUP" = 1 ]; then WARMUP=4; fi # slower under valgrind: cover all 1,000 files
else
	RUNS=${BENCH_RUNS:-20}
fi
DIR=$(mktemp -d /tmp/triad-bench-sites-XXXXXX)
declare -A PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap 'stop_all; rm -rf "$DIR"' EXIT
if [ "$SPREAD" -gt "$SITES" ]; then SPREAD=$SITES; fi
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$DIR/1k.txt"

# N sites s0..s(N-1), hosts s<i>.example, each with its own docroot holding
# 1k.txt; s0 also holds f0.txt .. f(SPREAD-1).txt. The configuration's path
# is DIR/sites-N-PORT.conf; prints it.
make_conf() {
	local n=$1 port=$2 conf=$DIR/sites-$1-$2.conf
	mkdir -p "$DIR/root/www"
	{
		printf '[global]\nroot = %s/root\nlog = stderr\nlog_level = error\nworkers = %s\n' \
			"$DIR" "$WORKERS"
		if [ -n "$CALLGRIND" ]; then printf 'sandbox = off\n'; fi
		printf '[httpd]\nlisten = 127.0.0.1:%s\ndocroot = www\nmax_connections_per_ip = 0\n' \
			"$port"
		for ((i = 0; i < n; i++)); do
			printf '[site s%d]\nhosts = s%d.example\n' "$i" "$i"
		done
	} > "$conf"
	echo "$conf"
}
# The docroots, once: one process for all, a mkdir and an ln per site take minutes.
/usr/bin/python3 - "$DIR" "$SITES" "$SPREAD" <<'PY'
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
T_LINKED=$(date +%s)

# The wrk script of a shape (a "#N" suffix names a second server of the
# same shape): requests cycling over hosts or paths.
make_lua() {
	local shape=${1%%#*} lua=$DIR/${1%%#*}.lua
	if [ -f "$lua" ]; then echo "$lua"; return; fi
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
		*) echo "bench/sites.sh: unknown shape $1" >&2; exit 1 ;;
		esac
		printf 'local i = 0\nrequest = function()\n  i = i %% #t + 1\n'
		printf '  return wrk.format("GET", t[i][2], {Host = t[i][1]})\nend\n'
	} > "$lua"
	echo "$lua"
}

# A port no one listens on now (the kernel's choice; the integration tests
# running beside a benchmark take ports too).
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The CPU time of PID's threads in nanoseconds (the scheduler's run time,
# /proc/PID/task/*/schedstat), and its user time alone in clock ticks
# (/proc/PID/stat: 100 per second, so a 2 s run of ~0.3 s user time counts
# to +-3%, coarser than the run time).
cpu_ticks() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk -v u="$(awk '{print $14}' "/proc/$1/stat")" \
		'{ns += $1} END {printf "%.0f %s\n", ns, u}'
}

# Starts BIN on CONF (listening on PORT) under the command prefix in the
# array named by $4 (may be empty); waits until it answers; sets SPID.
start() {
	local bin=$1 conf=$2 port=$3 err=$DIR/httpd-$3.err
	shift 3
	"$@" "$bin" -c "$conf" 2>"$err" &
	SPID=$!
	PIDS[$port]=$SPID
	for _ in $(seq 300); do
		if curl -sf -H "Host: s0.example" "http://127.0.0.1:$port/1k.txt" >/dev/null; then
			return 0
		fi
		if ! kill -0 "$SPID" 2>/dev/null; then break; fi
		sleep 0.1
	done
	kill "$SPID" 2>/dev/null || true
	echo "bench/sites.sh: $bin did not answer on port $port within 30 s:" >&2
	cat "$err" >&2
	exit 1
}

# wrk with LUA on PORT for SECONDS under the load's pinning; prints its output.
load() {
	"${PIN_LOAD[@]}" wrk -t2 -c"$CONNS" -d"$3s" -s "$1" "http://127.0.0.1:$2/"
}

# The files were just linked (a fresh ctime): wait out the file cache's
# freshness rule (HTTP_FCACHE_FRESH_S) so that nothing is measured before its
# files are cacheable.
fresh_wait() {
	local left=$((T_LINKED + 3 - $(date +%s)))
	if [ "$left" -gt 0 ]; then sleep "$left"; fi
}

builds=("new=$BUILD/triad-httpd")
if [ -n "$BASE" ]; then builds+=("base=$BASE/triad-httpd"); fi
read -r -a shapes <<<"${BENCH_SHAPES:-$([ -n "$CALLGRIND" ] && echo "1site-1file 1site-Nfiles Msites" || echo "1site-1file Msites")}"
# The A/A control: a second server of the reference shape in every round.
if [ -z "$CALLGRIND" ] && [ "${BENCH_CONTROL:-1}" = 1 ] && [[ " ${shapes[*]} " != *" ${shapes[0]}#"* ]]; then
	shapes+=("${shapes[0]}#ctl")
fi
keys=()
for b in "${builds[@]}"; do
	for shape in "${shapes[@]}"; do keys+=("$b $shape"); done
done

if [ -n "$CALLGRIND" ]; then
	# One callgrind run: BIN serving the shape, its own httpd under valgrind;
	# prints "req/s Ir/req D1-misses/req L2-misses/req".
	cg_run() {
		local bin=$1 shape=$2 tag=$3 port n=1 conf lua out
		port=$(free_port)
		if [ "${shape%%#*}" = Msites ]; then n=$SITES; fi
		conf=$(make_conf "$n" "$port")
		lua=$(make_lua "$shape")
		rm -f "$PROFILE_DIR/$tag.cg"*
		start "$bin" "$conf" "$port" env LD_PRELOAD="$SHIM" valgrind --tool=callgrind \
			--cache-sim=yes --LL="$CG_LL" --instr-atstart=no \
			--callgrind-out-file="$PROFILE_DIR/$tag.cg"
		callgrind_control -i on "$SPID" >/dev/null 2>&1
		if [ "$WARMUP" != 0 ]; then load "$lua" "$port" "$WARMUP" >/dev/null; fi
		callgrind_control -z "$SPID" >/dev/null 2>&1
		out=$(load "$lua" "$port" "$DUR")
		callgrind_control -d "$SPID" >/dev/null 2>&1
		kill "$SPID"
		wait "$SPID" 2>/dev/null || true
		unset "PIDS[$port]"
		# the dump's "summary:" line counts the events in the order of "events:"
		awk -v n="$(awk '/requests in/ {print $1}' <<<"$out")" '
			/^events:/ {for (i = 2; i <= NF; i++) col[$i] = i}
			/^summary:/ {
				printf "%.0f %.0f %.2f %.2f\n", n / '"$DUR"', $col["Ir"] / n,
					($col["D1mr"] + $col["D1mw"]) / n, ($col["DLmr"] + $col["DLmw"]) / n
			}' "$(ls "$PROFILE_DIR/$tag.cg."* | tail -1)"
	}
	fresh_wait
	declare -A ir d1 ll
	for ((r = 1; r <= RUNS; r++)); do
		for key in "${keys[@]}"; do
			read -r b shape <<<"$key"
			read -r q i d l <<<"$(cg_run "${b#*=}" "$shape" "${b%%=*}-$shape-$r")"
			if [ -z "$q" ]; then exit 1; fi # cg_run said why
			echo "run $r: ${b%%=*} $shape: $i Ir/req, $d D1 misses/req, $l L2 misses/req ($q req/s under callgrind)"
			ir[$key]+="$i " d1[$key]+="$d " ll[$key]+="$l "
		done
	done
	median() { printf '%s\n' $1 | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
	echo "medians (Msites = $SITES sites, requests over $SPREAD of them; N = $SPREAD):"
	for key in "${keys[@]}"; do
		read -r b shape <<<"$key"
		printf '  %-4s %-12s %9.0f Ir/req %8.2f D1 misses/req %8.2f L2 misses/req\n' \
			"${b%%=*}" "$shape" "$(median "${ir[$key]}")" "$(median "${d1[$key]}")" \
			"$(median "${ll[$key]}")"
	done
	echo "per function, run 1 (bench/cgtable.py):"
	args=()
	for key in "${keys[@]}"; do
		read -r b shape <<<"$key"
		dump=$(ls "$PROFILE_DIR/${b%%=*}-$shape-1.cg."* | tail -1)
		args+=("${b%%=*}-$shape=${ir[$key]%% *}:$dump")
	done
	/usr/bin/python3 "$(dirname "$0")/cgtable.py" -n "${BENCH_CG_ROWS:-15}" "${args[@]}"
	exit 0
fi

# Timing: one server per (build, shape), up for the whole run.
declare -A PORT_OF LUA_OF
for key in "${keys[@]}"; do
	read -r b shape <<<"$key"
	port=$(free_port)
	n=1
	if [ "${shape%%#*}" = Msites ]; then n=$SITES; fi
	start "${b#*=}" "$(make_conf "$n" "$port")" "$port" "${PIN_SERVER[@]}"
	PORT_OF[$key]=$port
	LUA_OF[$key]=$(make_lua "$shape")
done
fresh_wait
# Every server once before the rounds, unmeasured: each worker reads its
# 1,000 files into its cache here, not in round 1.
for key in "${keys[@]}"; do load "${LUA_OF[$key]}" "${PORT_OF[$key]}" 2 >/dev/null; done
echo "bench/sites.sh: $RUNS rounds of ${#keys[@]} servers, each ${WARMUP} s warm-up + ${DUR} s measured;" \
	"wrk -t2 -c$CONNS; workers $WORKERS;" \
	"pinning: ${BENCH_PIN:-0}${PIN_SERVER:+ (server ${PIN_SERVER[*]:2}, wrk ${PIN_LOAD[*]:2})};" \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
rows=$DIR/rows
: > "$rows"
hz=$(getconf CLK_TCK)
for ((r = 1; r <= RUNS; r++)); do
	order=("${keys[@]}")
	if ((r % 2 == 0)); then
		order=()
		for ((k = ${#keys[@]} - 1; k >= 0; k--)); do order+=("${keys[$k]}"); done
	fi
	for key in "${order[@]}"; do
		read -r b shape <<<"$key"
		port=${PORT_OF[$key]} pid=${PIDS[${PORT_OF[$key]}]} prof=
		if [ "$WARMUP" != 0 ]; then load "${LUA_OF[$key]}" "$port" "$WARMUP" >/dev/null; fi
		if [ -n "$PROFILE" ]; then
			cmd=${PROFILE//@PID@/$pid}
			cmd=${cmd//@OUT@/$PROFILE_DIR/${b%%=*}-$shape-$r}
			$cmd >/dev/null 2>&1 &
			prof=$!
			sleep 0.5 # attached before the load starts
		fi
		read -r t0 u0 <<<"$(cpu_ticks "$pid")"
		out=$(load "${LUA_OF[$key]}" "$port" "$DUR")
		read -r t1 u1 <<<"$(cpu_ticks "$pid")"
		if [ -n "$prof" ]; then
			kill -INT "$prof"
			wait "$prof" 2>/dev/null || true
		fi
		line=$(awk -v t="$((t1 - t0))" -v u="$((u1 - u0))" -v hz="$hz" '
			/requests in/ {n = $1}
			/Requests\/sec/ {q = $2}
			/Non-2xx/ {bad = bad " " $0}
			/Socket errors/ {sub(/^ +/, ""); warn = "; wrk: " $0}
			END {
				if (!n || bad != "") { print "error" bad; exit }
				printf "%s %.3f %.3f%s\n", q, t / 1e3 / n, u * 1e6 / hz / n, warn }' <<<"$out")
		if [ "${line%% *}" = error ]; then
			echo "bench/sites.sh: round $r, ${b%%=*} $shape: wrk: ${line#error}" >&2
			exit 1
		fi
		read -r q c u warn <<<"$line"
		echo "round $r: ${b%%=*} $shape: $q req/s, $c us CPU/req ($u user)${warn:+ $warn}"
		echo "$r ${b%%=*} $shape $q $c $u" >> "$rows"
	done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

# Per shape: medians; per-round ratios against the reference shape of the
# same build (and new against base for the same shape): their median, IQR
# and the distribution-free 95% interval of the median.
/usr/bin/python3 - "$rows" "${shapes[0]}" "$SITES" "$SPREAD" <<'PY'
import collections, math, sys
rows, ref, sites, spread = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = collections.defaultdict(dict)  # (build, shape) -> round -> (q, c, u)
for line in open(rows):
    r, b, s, q, c, u = line.split()
    data[(b, s)][int(r)] = (float(q), float(c), float(u))

def quantile(xs, p):
    xs = sorted(xs)
    at = p * (len(xs) - 1)
    lo = math.floor(at)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (at - lo)

def median_ci(xs):
    """The order statistics x(k), x(n+1-k) (1-based) holding the median with
    at least 95% confidence: k the largest with P(Binom(n, 1/2) < k) <= 2.5%."""
    n, xs = len(xs), sorted(xs)
    k, below = 0, 0.0
    while True:
        below_next = below + math.comb(n, k) / 2 ** n  # P(X <= k)
        if below_next > 0.025:
            break
        below, k = below_next, k + 1
    if k == 0:
        return None
    return xs[k - 1], xs[n - k]

control_ok = None  # whether the A/A control resolves 5% (None: no control)

def show(label, ratios, target):
    global control_ok
    ci = median_ci(ratios)
    s = '%-34s median %.3f  IQR %.3f-%.3f' % (label, quantile(ratios, .5),
                                               quantile(ratios, .25), quantile(ratios, .75))
    if ci:
        s += '  95%% CI %.3f-%.3f' % ci
        lo, hi = ci
        if target == 'control':
            control_ok = lo >= 0.95 and hi <= 1.05
            s += ('  the control resolves 5%' if control_ok else
                  '  the control does NOT resolve 5%: no verdict in this run')
        elif target and control_ok is False:
            s += '  (no verdict: the A/A control failed)'
        elif target:
            s += ('  within 5%' if lo >= 0.95 and hi <= 1.05 else
                  '  NOT within 5%' if lo > 1.05 or hi < 0.95 else '  cannot tell at this spread')
    else:
        s += '  (too few rounds for an interval)'
    print('  ' + s + '  (%d rounds)' % len(ratios))

print('medians (Msites = %s sites, requests over %s of them; N = %s):' % (sites, spread, spread))
for (b, s), runs in data.items():
    v = list(runs.values())
    print('  %-4s %-14s %9.0f req/s %7.3f us CPU/req (%6.3f user)' % (
        b, s, quantile([x[0] for x in v], .5), quantile([x[1] for x in v], .5),
        quantile([x[2] for x in v], .5)))

def pairs(a, b):
    common = sorted(set(data[a]) & set(data[b]))
    return [(data[b][r], data[a][r]) for r in common]

def block(title, a, b, target):
    p = pairs(a, b)
    if not p:
        return
    print(title)
    show('req/s', [x[0] / y[0] for x, y in p], target)
    show('CPU/req (user+sys)', [x[1] / y[1] for x, y in p], False)
    show('user CPU/req', [x[2] / y[2] for x, y in p], False)

builds = sorted({b for b, _ in data}, key=lambda b: b != 'new')
shapes = []
for _, s in data:
    if s not in shapes:
        shapes.append(s)
for b in builds:
    # The control first: the same shape on a second server, whose ratio
    # must be 1.00 within 5% for any verdict of this run to stand.
    for s in [s for s in shapes if '#' in s] + [s for s in shapes if '#' not in s]:
        if s != ref:
            control = s.split('#')[0] == ref
            block('%s: %s / %s, per-round ratios (%s):' % (
                b, s, ref, 'A/A control' if control else 'target: req/s within 5%'),
                  (b, ref), (b, s), 'control' if control else True)
if 'base' in builds:
    for s in shapes:
        block('%s: new / base, per-round ratios (CPU below 1: new costs less):' % s,
              ('base', s), ('new', s), False)
PY
