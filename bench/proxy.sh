#!/usr/bin/env bash
# bench/proxy.sh: triad-httpd as a reverse proxy against nginx as one (issue 11, item 8).
#
# One fast backend (nginx serving a 1 KiB file, keep-alive) behind two proxies started by
# this script on 127.0.0.1 high ports, with the same worker count (BENCH_WORKERS, default
# nproc) and upstream keep-alive on for both:
#   triad-httpd   [upstream app] keepalive = 64, proxy = /*=app   (and cache = 64M)
#   nginx         upstream keepalive 64, proxy_http_version 1.1   (and proxy_cache)
# Workloads, wrk -t2 -c100 keep-alive, BENCH_DURATION seconds each (default 5), run
# BENCH_RUNS times interleaved (default 3), the median kept:
#   proxy-1k    GET /1k.txt through the proxy, no cache: req/s and p99
#   hit-1k      GET /1k.txt with the response cache on (every request after the first a hit)
#   static-1k   triad-httpd serving the same file itself (the cache-hit target is 0.9x this)
# Prints a table and the ratios triad/nginx (issue 11 targets: proxy >= 1.3x req/s with
# p99 no worse, cache hits >= 1.5x nginx and >= 0.9x triad's static rate).
# Usage: bench/proxy.sh   (BENCH_QUICK=1: 2 s loads, one run)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TRIAD=${TRIAD_BIN:-$REPO/build/triad-httpd}
WORKERS=${BENCH_WORKERS:-$(nproc)}
DUR=${BENCH_DURATION:-5}
RUNS=${BENCH_RUNS:-3}
if [ "${BENCH_QUICK:-0}" = 1 ]; then DUR=2; RUNS=1; fi

die() { echo "bench/proxy.sh: $*" >&2; exit 1; }
for t in wrk nginx curl python3; do command -v $t >/dev/null || die "$t missing (apt-get install wrk nginx-light curl)"; done
[ -x "$TRIAD" ] || make -C "$REPO" -j2 all >/dev/null || die "build failed"

T=$(mktemp -d /tmp/bench-proxy.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/1k.txt" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$T/root/www" "$T/backend" "$T/nginx" "$T/nginx-cache" "$T/cache"
head -c 768 /dev/urandom | base64 -w 64 | head -c 1024 >"$T/root/www/1k.txt"
cp "$T/root/www/1k.txt" "$T/backend/1k.txt"
chmod -R a+rX "$T"

B=$(port); NP=$(port); NC=$(port); TP=$(port); TC=$(port)
cat >"$T/backend.conf" <<EOF
worker_processes 1; daemon off; pid $T/backend.pid; error_log $T/backend.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$B; root $T/backend;
    location / { add_header Cache-Control "max-age=3600"; } } }
EOF
cat >"$T/nginx.conf" <<EOF
worker_processes $WORKERS; daemon off; pid $T/nginx.pid; error_log $T/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$B; keepalive 64; }
  proxy_cache_path $T/nginx-cache keys_zone=c:10m max_size=64m;
  server { listen 127.0.0.1:$NP;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$NC;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_cache c; } } }
EOF
triad_conf() { # port cache
	cat <<EOF
[global]
root = $T/root
workers = $WORKERS
[httpd]
listen = 127.0.0.1:$1
proxy = /*=app
cache = $2
[upstream app]
servers = 127.0.0.1:$B
keepalive = 64
EOF
}
triad_conf "$TP" 0 >"$T/triad.conf"
triad_conf "$TC" 64M >"$T/triad-cache.conf"
[ "$(id -u)" = 0 ] && sed -i 's/^\[global\]$/[global]\nuser = nobody/' "$T/triad.conf" "$T/triad-cache.conf"
chmod 644 "$T"/*.conf

nginx -c "$T/backend.conf" -p "$T" & PIDS+=($!)
nginx -c "$T/nginx.conf" -p "$T" & PIDS+=($!)
"$TRIAD" -c "$T/triad.conf" 2>"$T/triad.err" & PIDS+=($!)
"$TRIAD" -c "$T/triad-cache.conf" 2>"$T/triad-cache.err" & PIDS+=($!)
for p in $B $NP $NC $TP $TC; do wait_port "$p" || die "port $p not answering"; done
for p in $NP $NC $TP $TC; do
	cmp -s <(curl -s "http://127.0.0.1:$p/1k.txt") "$T/root/www/1k.txt" || die "port $p: wrong body"
done

load() { # port -> "rps p99ms"
	wrk -t2 -c100 -d"${DUR}s" --latency "http://127.0.0.1:$1/1k.txt" 2>&1 | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", t)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(rps, p99, bad.group(1) if bad else 0)'
}

declare -A RPS P99
median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
run_all() {
	local name port r out
	declare -A R L
	for r in $(seq "$RUNS"); do
		for name in triad-proxy nginx-proxy triad-hit nginx-hit triad-static; do
			case $name in
			triad-proxy) port=$TP ;; nginx-proxy) port=$NP ;; triad-hit) port=$TC ;;
			nginx-hit) port=$NC ;; triad-static) port=$TP ;;
			esac
			[ $name = triad-static ] && continue
			out=$(load "$port")
			set -- $out
			[ "$3" = 0 ] || echo "  $name: $3 non-2xx responses" >&2
			R[$name]="${R[$name]:-} $1"
			L[$name]="${L[$name]:-} $2"
		done
	done
	for name in triad-proxy nginx-proxy triad-hit nginx-hit; do
		RPS[$name]=$(median ${R[$name]})
		P99[$name]=$(median ${L[$name]})
	done
}
run_all
# triad's own static rate on the same file: a separate triad without proxy rules
SP=$(port)
cat >"$T/triad-static.conf" <<EOF
[global]
root = $T/root
workers = $WORKERS
[httpd]
listen = 127.0.0.1:$SP
EOF
[ "$(id -u)" = 0 ] && sed -i 's/^\[global\]$/[global]\nuser = nobody/' "$T/triad-static.conf"
"$TRIAD" -c "$T/triad-static.conf" 2>"$T/triad-static.err" & PIDS+=($!)
wait_port "$SP" || die "static triad not answering"
S=()
for r in $(seq "$RUNS"); do set -- $(load "$SP"); S+=("$1"); done
RPS[triad-static]=$(median "${S[@]}")

printf '%-14s %12s %10s\n' server req/s p99_ms
for name in triad-proxy nginx-proxy triad-hit nginx-hit; do
	printf '%-14s %12.0f %10.2f\n' "$name" "${RPS[$name]}" "${P99[$name]}"
done
printf '%-14s %12.0f\n' triad-static "${RPS[triad-static]}"
python3 - "${RPS[triad-proxy]}" "${RPS[nginx-proxy]}" "${P99[triad-proxy]}" "${P99[nginx-proxy]}" \
	"${RPS[triad-hit]}" "${RPS[nginx-hit]}" "${RPS[triad-static]}" <<'EOF'
import sys
tp, np_, tl, nl, th, nh, ts = map(float, sys.argv[1:])
print(f"proxied 1 KiB: triad/nginx req/s {tp/np_:.2f}x (target >= 1.3), p99 {tl:.2f} vs {nl:.2f} ms")
print(f"cache hits:    triad/nginx req/s {th/nh:.2f}x (target >= 1.5); hit/static {th/ts:.2f}x (target >= 0.9)")
EOF
