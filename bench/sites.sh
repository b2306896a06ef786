#!/usr/bin/env bash
# bench/sites.sh: what many sites cost triad-httpd (issue 12, "Benchmark").
#
# The 1 KiB keep-alive workload (wrk -t2 -c100, GET /1k.txt) against one
# triad-httpd configured with 1 site and then with BENCH_SITES (10,000) sites,
# the requests spread over 1,000 of them by Host (a wrk Lua script cycles
# through their names). Both runs serve the same bytes from a site's own
# docroot, so the difference is the site lookup by Host (common/hostmap).
# Runs BENCH_RUNS (3) times interleaved and prints req/s of each run and the
# ratio of the medians. Usage: bench/sites.sh [BUILD_DIR] (default build).
set -eu
BUILD=$(cd "${1:-build}" && pwd)
SITES=${BENCH_SITES:-10000}
SPREAD=${BENCH_SPREAD:-1000}
RUNS=${BENCH_RUNS:-3}
DUR=${BENCH_DURATION:-5}
WORKERS=${BENCH_WORKERS:-$(nproc)}
DIR=$(mktemp -d /tmp/triad-bench-sites-XXXXXX)
trap 'kill ${PID:-} 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"' EXIT
PORT=$((20000 + RANDOM % 20000))
PID=
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$DIR/1k.txt"

# N sites s0..s(N-1), hosts s<i>.example, each with its own docroot holding 1k.txt.
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
	for ((i = 0; i < n; i++)); do
		if [ -e "$DIR/root/sites/s$i/www/1k.txt" ]; then continue; fi
		mkdir -p "$DIR/root/sites/s$i/www"
		ln "$DIR/1k.txt" "$DIR/root/sites/s$i/www/1k.txt"
	done
	echo "$conf"
}

# Host names for wrk: the first SPREAD sites (or all of them when fewer).
make_lua() {
	local n=$1 m=$SPREAD lua=$DIR/hosts-$1.lua
	if [ "$n" -lt "$m" ]; then m=$n; fi
	{
		printf 'local hosts = {'
		for ((i = 0; i < m; i++)); do printf '"s%d.example",' "$i"; done
		printf '}\nlocal i = 0\nrequest = function()\n  i = i %% #hosts + 1\n'
		printf '  return wrk.format("GET", "/1k.txt", {Host = hosts[i]})\nend\n'
	} > "$lua"
	echo "$lua"
}

run() {
	local n=$1 conf lua
	conf=$(make_conf "$n")
	lua=$(make_lua "$n")
	"$BUILD/triad-httpd" -c "$conf" 2>"$DIR/httpd.err" &
	PID=$!
	for _ in $(seq 100); do
		curl -sf -H "Host: s0.example" "http://127.0.0.1:$PORT/1k.txt" >/dev/null && break
		sleep 0.1
	done
	wrk -t2 -c100 -d"${DUR}s" -s "$lua" "http://127.0.0.1:$PORT/" |
		awk '/Requests\/sec/ {print $2}'
	kill "$PID"
	wait "$PID" 2>/dev/null || true
}

one=() many=()
for ((r = 1; r <= RUNS; r++)); do
	one+=("$(run 1)")
	many+=("$(run "$SITES")")
	echo "run $r: 1 site ${one[-1]} req/s, $SITES sites ${many[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
m1=$(median "${one[@]}")
mn=$(median "${many[@]}")
echo "median: 1 site $m1 req/s, $SITES sites (spread over $SPREAD) $mn req/s," \
	"ratio $(awk -v a="$mn" -v b="$m1" 'BEGIN {printf "%.3f", a / b}')"
