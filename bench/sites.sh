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
# state); 1site-1file also shows what 1,000 hot files cost over one (each is
# revalidated with an fstatat per event-loop iteration and its precompressed
# siblings looked for once a second: httpd/fcache.h).
# Runs BENCH_RUNS (3) rounds, the shapes interleaved, and prints for each run
# req/s and httpd's CPU time (user + system, /proc/PID/stat) per request, then
# the medians and the ratios to Msites. CPU per request is the steadier figure
# on a shared machine. With BENCH_BASELINE=DIR (another build directory) every
# shape also runs on that build, in the same rounds.
# Usage: bench/sites.sh [BUILD_DIR] (default build).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
BASE=${BENCH_BASELINE:+$(cd "$BENCH_BASELINE" && pwd)}
SITES=${BENCH_SITES:-10000}
SPREAD=${BENCH_SPREAD:-1000}
RUNS=${BENCH_RUNS:-3}
DUR=${BENCH_DURATION:-5}
WORKERS=${BENCH_WORKERS:-$(nproc)}
DIR=$(mktemp -d /tmp/triad-bench-sites-XXXXXX)
trap 'kill ${PID:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
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

# utime + stime of PID (all its threads), in clock ticks
cpu_ticks() {
	awk '{print $14 + $15}' "/proc/$1/stat"
}

# One run: BIN serving CONF, wrk with LUA; prints "req/s us-CPU-per-request".
run() {
	local bin=$1 conf=$2 lua=$3 t0 t1 out
	"$bin" -c "$conf" 2>"$DIR/httpd.err" &
	PID=$!
	for _ in $(seq 100); do
		curl -sf -H "Host: s0.example" "http://127.0.0.1:$PORT/1k.txt" >/dev/null && break
		sleep 0.1
	done
	t0=$(cpu_ticks "$PID")
	out=$(wrk -t2 -c100 -d"${DUR}s" -s "$lua" "http://127.0.0.1:$PORT/")
	t1=$(cpu_ticks "$PID")
	awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
		/requests in/ {n = $1}
		/Requests\/sec/ {r = $2}
		END {printf "%s %.1f\n", r, n ? t * 1e6 / hz / n : 0}' <<<"$out"
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
shapes=(1site-1file 1site-Nfiles Msites)
declare -A qps cpu
for ((r = 1; r <= RUNS; r++)); do
	for b in "${builds[@]}"; do
		for shape in "${shapes[@]}"; do
			conf=$conf1
			if [ "$shape" = Msites ]; then conf=$confn; fi
			read -r q c <<<"$(run "${b#*=}" "$conf" "$(make_lua "$shape")")"
			key="${b%%=*} $shape"
			qps[$key]+="$q " cpu[$key]+="$c "
			echo "run $r: $key: $q req/s, $c us CPU/req"
		done
	done
done
median() { printf '%s\n' $1 | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "medians (Msites = $SITES sites, requests over $SPREAD of them; N = $SPREAD):"
for b in "${builds[@]}"; do
	b=${b%%=*}
	mq=$(median "${qps[$b Msites]}")
	mc=$(median "${cpu[$b Msites]}")
	for shape in "${shapes[@]}"; do
		q=$(median "${qps[$b $shape]}")
		c=$(median "${cpu[$b $shape]}")
		awk -v b="$b" -v s="$shape" -v q="$q" -v c="$c" -v mq="$mq" -v mc="$mc" 'BEGIN {
			printf "  %s %-12s %9.0f req/s %6.1f us CPU/req", b, s, q, c
			if (s != "Msites")
				printf "   Msites/this: req/s %.3f, CPU/req %.3f", mq / q, mc / c
			printf "\n" }'
	done
done
