#!/usr/bin/env bash
# bench/http.sh: triad-httpd against nginx, lighttpd and h2o (issue 6).
#
# Every server gets the same worker count (BENCH_WORKERS, default nproc), the same docroot
# (generated: 1 KiB and 1 MiB files) and the same certificate, on 127.0.0.1 high ports.
# Workloads, each run BENCH_RUNS times interleaved triad, nginx, lighttpd, h2o, triad...:
#   idle      BENCH_IDLE_CONNS (10,000) idle keep-alive connections, each after one GET:
#             the process tree's RSS 8 s after the last response, total and per connection
#             (total / connections, issue 10's figure; and the growth over the idle server)
#   ka-1k     wrk -t2 -c100 keep-alive GET of the 1 KiB file: req/s and p99 latency
#             (every wrk load also records the server's CPU per request, user + system
#             and user alone, over its whole process tree: tools/cputree.py; and
#             wrk's own CPU per request, user + system)
#   close-1k  the same with "Connection: close" (a new connection per request)
#   ka-1m     wrk -t2 -c100 keep-alive GET of the 1 MiB file: MiB/s
#   tls-ka-1k / tls-close-1k  the 1 KiB loads over HTTPS (TLS 1.3, P-256 certificate);
#             wrk may resume sessions on reconnect; every server allows resumption
#   tls-full-handshake  openssl s_time -new (2 clients): full handshakes + GET /1k.txt
# BENCH_BASELINE=DIR adds "base", the triad-httpd in DIR (another build of triad, e.g. the
# commit before a change) as one more server, so a before/after lands in one run.
# Usage: bench/http.sh [--record]; BENCH_QUICK=1 for a smoke run. See bench/README.md.
set -u
. "$(dirname "$0")/lib.sh"
# 4 s loads by default here (5 elsewhere): 6 workloads x 4 servers x 3 runs fit in 10 min.
[ "${BENCH_QUICK:-0}" = 1 ] || BENCH_DURATION=${BENCH_DURATION:-4}
bench_init http "$@"

PEERS=${BENCH_PEERS:-nginx lighttpd h2o}
if [ "$BENCH_QUICK" = 1 ]; then
	IDLE_CONNS=${BENCH_IDLE_CONNS:-2000}
else
	IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
fi
DUR=$BENCH_DURATION

bench_need_pkgs wrk nginx-light lighttpd lighttpd-mod-openssl curl openssl
H2O_ROOT=
case " $PEERS " in
*" h2o "*) H2O_ROOT=$(bench_unpack_deb h2o) || SKIP_h2o="h2o .deb not available" ;;
esac
triad_build httpd

# ---------------------------------------------------------------- files

bench_cert
export BENCH_CERT BENCH_KEY BENCH_WORKERS
TRIAD_ROOT=$T/root
export WWW=$TRIAD_ROOT/www
mkdir -p "$WWW" "$TRIAD_ROOT/mail"
printf '<!doctype html>\n<title>bench</title>\n' >"$WWW/index.html"
head -c 768 /dev/urandom | base64 -w 64 | head -c 1024 >"$WWW/1k.txt"
head -c $((786432)) /dev/urandom | base64 -w 76 | head -c 1048576 >"$WWW/1m.txt"
[ "$(stat -c %s "$WWW/1k.txt")" = 1024 ] && [ "$(stat -c %s "$WWW/1m.txt")" = 1048576 ] ||
	die "docroot generation failed"
chown -R nobody:nogroup "$TRIAD_ROOT"
chmod -R a+rX "$TRIAD_ROOT"

# ---------------------------------------------------------------- servers

declare -A PID HTTP HTTPS

check_http() { # name: the 1 KiB file comes back intact over both ports
	local n=$1 got
	got=$(curl -s --max-time 5 "http://127.0.0.1:${HTTP[$n]}/1k.txt" | md5sum)
	[ "$got" = "$(md5sum <"$WWW/1k.txt")" ] || return 1
	got=$(curl -sk --max-time 5 "https://127.0.0.1:${HTTPS[$n]}/1k.txt" | md5sum)
	[ "$got" = "$(md5sum <"$WWW/1k.txt")" ]
}

# launch NAME: (re)starts one server on its ports (picked on the first launch) and checks
# that it serves /1k.txt; sets SKIP_<name> when it cannot be measured.
launch() {
	local n=$1
	[ -n "${PID[$n]:-}" ] && bench_stop "${PID[$n]}"
	if [ -z "${HTTP[$n]:-}" ]; then
		HTTP[$n]=$(free_port)
		HTTPS[$n]=$(free_port)
	fi
	if [ "$n" = triad ] || [ "$n" = base ]; then
		local bin=$TRIAD_BIN
		[ "$n" = base ] && bin=$BENCH_BASELINE/triad-httpd
		mkdir -p "$T/$n"
		TRIAD_HTTP_PORT=${HTTP[$n]} TRIAD_HTTPS_PORT=${HTTPS[$n]}
		triad_conf_write "$T/$n/triad.conf"
		bench_start "$n" "$bin" -c "$T/$n/triad.conf"
		PID[$n]=$BENCH_LAST_PID
		if ! wait_port "${HTTP[$n]}" 10; then
			printf -v "SKIP_$n" '%s' "did not start (see log)"
			say "$n: did not start:"
			tail -n 5 "$T/log/$n.log" >&2
		elif ! triad_probe httpd "${HTTP[$n]}"; then
			printf -v "SKIP_$n" '%s' "not serving yet"
			say "$n: not serving yet, skipped"
		elif ! check_http "$n"; then
			printf -v "SKIP_$n" '%s' "wrong content for /1k.txt"
			say "$n: /1k.txt over HTTP or HTTPS is wrong; skipped"
		fi
		return
	fi
	export PEER_DIR=$T/$n HTTP_PORT=${HTTP[$n]} HTTPS_PORT=${HTTPS[$n]}
	mkdir -p "$PEER_DIR"
	chmod 0755 "$PEER_DIR"
	chown nobody:nogroup "$PEER_DIR" # lighttpd and h2o open logs/pid after dropping root
	case $n in
	nginx)
		render "$BENCH_DIR/peers/nginx.conf" "$PEER_DIR/nginx.conf"
		bench_start nginx nginx -c "$PEER_DIR/nginx.conf" -p "$PEER_DIR" -e "$PEER_DIR/error.log"
		;;
	lighttpd)
		render "$BENCH_DIR/peers/lighttpd.conf" "$PEER_DIR/lighttpd.conf"
		bench_start lighttpd lighttpd -D -f "$PEER_DIR/lighttpd.conf"
		;;
	h2o)
		render "$BENCH_DIR/peers/h2o.conf" "$PEER_DIR/h2o.conf"
		bench_start h2o env "LD_LIBRARY_PATH=$H2O_ROOT/usr/lib/x86_64-linux-gnu" \
			"$H2O_ROOT/usr/bin/h2o" -c "$PEER_DIR/h2o.conf"
		;;
	*) die "unknown peer $n" ;;
	esac
	PID[$n]=$BENCH_LAST_PID
	if ! wait_port "$HTTP_PORT" 10 || ! wait_port "$HTTPS_PORT" 5 || ! check_http "$n"; then
		printf -v "SKIP_$n" '%s' "did not start or serve (see log)"
		say "$n: did not start or serve /1k.txt:"
		tail -n 5 "$T/log/$n.log" "$PEER_DIR/error.log" 2>/dev/null >&2
	fi
}

SERVERS=(triad $PEERS)
if [ -n "${BENCH_BASELINE:-}" ]; then
	[ -x "$BENCH_BASELINE/triad-httpd" ] || die "BENCH_BASELINE: no $BENCH_BASELINE/triad-httpd"
	SERVERS=(triad base $PEERS)
fi
[ "${BENCH_NO_TRIAD:-0}" = 1 ] && SKIP_triad="not built or BENCH_NO_TRIAD=1"
for s in "${SERVERS[@]}"; do
	var="SKIP_$s"
	[ -z "${!var:-}" ] && launch "$s"
done
BENCH_VERSIONS="triad $(triad_version);"
[ -n "${BENCH_BASELINE:-}" ] && BENCH_VERSIONS+=" base $BENCH_BASELINE/triad-httpd;"
BENCH_VERSIONS+=" nginx $(deb_version nginx-light); lighttpd $(deb_version lighttpd);"
BENCH_VERSIONS+=" h2o $(deb_file_version h2o); wrk $(deb_version wrk); workers $BENCH_WORKERS"

# ---------------------------------------------------------------- loads

# Idle memory is read IDLE_SETTLE_S after the last response, summed over the server's
# process tree: the way issue 10 states the target (a server that frees buffers lazily
# must have done so by then).
IDLE_SETTLE_S=8
load_idle() { # server run: on a freshly started server, so growth is per connection
	local n=$1 out before after ok secs
	launch "$n"
	local var="SKIP_$n"
	[ -z "${!var:-}" ] || return 1
	out=$(bounded 120 $PY "$BENCH_DIR/tools/idle_conns.py" "${HTTP[$n]}" /1k.txt "$IDLE_CONNS" \
		"$IDLE_SETTLE_S" "${PID[$n]}") || return 1
	read -r before after ok secs <<<"$out"
	if [ "$ok" != "$IDLE_CONNS" ]; then
		say "  $n idle: only $ok of $IDLE_CONNS connections got 200"
		return 1
	fi
	record "idle-$IDLE_CONNS RSS" KiB lo "$n" "$after"
	# Issue 10's figure: the whole tree's RSS over the connections it holds.
	record "idle KiB/conn (total RSS)" KiB lo "$n" \
		"$(awk -v a="$after" -v c="$ok" 'BEGIN { printf "%.3f", a / c }')"
	record "idle KiB/conn (RSS growth)" KiB lo "$n" \
		"$(awk -v a="$after" -v b="$before" -v c="$ok" 'BEGIN { printf "%.3f", (a - b) / c }')"
	sleep 1 # let the closes drain before the next server's run
}

wrk_run() { # name workload-tag url [wrk args...]: prints "rps p99 mibps bad"
	local n=$1 tag=$2 url=$3
	shift 3
	bounded $((DUR + 20)) wrk -t2 -c100 -d"${DUR}s" --latency "$@" "$url" \
		>"$T/log/wrk-$tag-$n.out" 2>&1 || return 1
	# wrk's own CPU time: this (command-substitution) shell's children, on
	# times's second line ("0m1.234s 0m0.567s"; not through a pipe, whose
	# shell would have no children).
	times >"$T/log/wrk-$tag-$n.times"
	$PY "$BENCH_DIR/tools/wrkparse.py" <"$T/log/wrk-$tag-$n.out"
}

# CPU time (user + system) of a server's whole process tree, in ms.
cpu_tree() { $PY "$BENCH_DIR/tools/cputree.py" --split "$1"; }

wrk_load() { # server run tag scheme path metric... (metric: rps p99 mibps cpu)
	local n=$1 r=$2 tag=$3 scheme=$4 path=$5 port out rps p99 mibps bad u0 s0 u1 s1 reqs
	shift 5
	local extra=()
	case $tag in *close*) extra=(-H "Connection: close") ;; esac
	if [ "$scheme" = https ]; then port=${HTTPS[$n]}; else port=${HTTP[$n]}; fi
	read -r u0 s0 < <(cpu_tree "${PID[$n]}")
	out=$(wrk_run "$n" "$tag-$r" "$scheme://127.0.0.1:$port$path" "${extra[@]}") || return 1
	read -r u1 s1 < <(cpu_tree "${PID[$n]}")
	reqs=$(awk '/ requests in /{print $1; exit}' "$T/log/wrk-$tag-$r-$n.out")
	read -r rps p99 mibps bad <<<"$out"
	if [ "$bad" != 0 ]; then
		say "  $n $tag: $bad errors or non-2xx responses (see $T/log/wrk-$tag-$r-$n.out)"
		[ "$(awk -v b="$bad" -v r="$rps" -v d="$DUR" 'BEGIN { print (b > r * d / 100) }')" = 1 ] &&
			return 1 # more than 1% bad: not a valid run
	fi
	local m
	for m in "$@"; do
		case $m in
		rps) record "$tag req/s" req/s hi "$n" "$rps" ;;
		p99) record "$tag p99" ms lo "$n" "$p99" ;;
		mibps) record "$tag MiB/s" MiB/s hi "$n" "$mibps" ;;
		cpu)
			# The server's CPU per request: what req/s hides when wrk and the server
			# share the cores (every server gets the same wrk).
			[ "${reqs:-0}" -gt 0 ] 2>/dev/null || continue
			record "$tag CPU/req" µs lo "$n" \
				"$(awk -v c=$((u1 - u0 + s1 - s0)) -v q="$reqs" 'BEGIN { printf "%.2f", c * 1000 / q }')"
			record "$tag user CPU/req" µs lo "$n" \
				"$(awk -v c=$((u1 - u0)) -v q="$reqs" 'BEGIN { printf "%.2f", c * 1000 / q }')"
			# wrk's CPU per request against this server: req/s on 2 shared cores
			# follows the server's and wrk's CPU per request together, and how a
			# server paces its answers changes wrk's share (issue 10: 12-16 us).
			local wcpu
			wcpu=$(awk -v q="$reqs" 'NR == 2 {
				split($1, u, /[ms]/); split($2, s, /[ms]/)
				printf "%.2f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1e6 / q }' \
				"$T/log/wrk-$tag-$r-$n.times")
			[ -n "$wcpu" ] && record "$tag wrk CPU/req" µs lo "$n" "$wcpu"
			;;
		esac
	done
}

l_ka1k() { wrk_load "$1" "$2" ka-1k http /1k.txt rps p99 cpu; }
l_close1k() { wrk_load "$1" "$2" close-1k http /1k.txt rps p99 cpu; }
l_ka1m() { wrk_load "$1" "$2" ka-1m http /1m.txt mibps cpu; }
l_tlska() { wrk_load "$1" "$2" tls-ka-1k https /1k.txt rps p99 cpu; }
l_tlsclose() { wrk_load "$1" "$2" tls-close-1k https /1k.txt rps cpu; }

# Full handshakes: wrk keeps its SSL objects across reconnects (SSL_clear keeps the
# session), so its tls-close-1k connections may resume where the server allows it (all
# four do). openssl s_time -new never resumes: 2 clients (like wrk -t2), DUR seconds each.
l_tlsfull() {
	local n=$1 i total=0 c pids=()
	for ((i = 0; i < 2; i++)); do
		bounded $((DUR + 20)) openssl s_time -connect "127.0.0.1:${HTTPS[$n]}" -www /1k.txt \
			-new -time "$DUR" >"$T/stime-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in 0 1; do
		wait "${pids[$i]}" || return 1
		c=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' "$T/stime-$i.out")
		[ -n "$c" ] || return 1
		total=$((total + c))
	done
	record "tls-full-handshake conn/s" conn/s hi "$n" \
		"$(awk -v c="$total" -v d="$DUR" 'BEGIN { printf "%.1f", c / d }')"
}

say "idle: $IDLE_CONNS keep-alive connections per server"
interleave load_idle "idle-$IDLE_CONNS RSS" "${SERVERS[@]}"
say "ka-1k: wrk -t2 -c100 -d${DUR}s /1k.txt"
interleave l_ka1k "ka-1k req/s" "${SERVERS[@]}"
say "close-1k: the same with Connection: close"
interleave l_close1k "close-1k req/s" "${SERVERS[@]}"
say "ka-1m: wrk -t2 -c100 -d${DUR}s /1m.txt"
interleave l_ka1m "ka-1m MiB/s" "${SERVERS[@]}"
say "tls-ka-1k: HTTPS keep-alive"
interleave l_tlska "tls-ka-1k req/s" "${SERVERS[@]}"
say "tls-close-1k: HTTPS, a new connection per request (wrk may resume sessions)"
interleave l_tlsclose "tls-close-1k req/s" "${SERVERS[@]}"
say "tls-full-handshake: openssl s_time -new, 2 clients"
interleave l_tlsfull "tls-full-handshake conn/s" "${SERVERS[@]}"

BENCH_COMMAND="BENCH_QUICK=$BENCH_QUICK BENCH_DURATION=$DUR BENCH_RUNS=$BENCH_RUNS bench/http.sh"
bench_summary "HTTP (bench/http.sh)"
