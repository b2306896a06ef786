# bench/lib.sh: what http.sh, ftp.sh and smtp.sh share (sourced, never run).
#
# Contract:
# - bench_init NAME "$@": parses --record/--help, sets BENCH_DURATION, BENCH_RUNS,
#   BENCH_WORKERS, BENCH_QUICK, makes the temporary directory $T (0755, under /tmp) and
#   installs traps that stop every process started with bench_start and remove $T.
# - bench_need_pkgs PKG...: apt-get installs what is missing without letting maintainer
#   scripts start system services (a policy-rc.d answering 101 during the install).
# - bench_unpack_deb PKG: apt-get download + dpkg -x into a cache; prints the unpack root.
# - free_port, free_port_range N, wait_port PORT [SECONDS]: loopback ports only.
# - bench_start NAME CMD...: runs CMD in its own session (so its whole process group can
#   be killed), output to $T/log/NAME.log; sets BENCH_LAST_PID.
# - bench_stop PID: SIGTERM to the group, SIGKILL after 5 s.
# - bounded SECONDS CMD...: CMD under timeout(1), killed hard 5 s after SECONDS.
# - record WORKLOAD UNIT BETTER SERVER VALUE / record_skip WORKLOAD SERVER REASON: one row
#   of $T/results.tsv; bench_summary prints medians, min-max and triad/peer ratios (and
#   appends them to bench/RESULTS.md with --record).
# - triad_build DAEMON, triad_conf_write, triad_probe: build triad, write its INI, tell
#   whether a daemon does its protocol yet (the skeletons answer HTTP 503 / FTP-SMTP 421).
# - triad_conf_set FILE TEXT: set INI keys in FILE ("key = value" lines, newline or " | "
#   between them, "[section]" lines; tools/confset.py). BENCH_TRIAD_EXTRA holds such text
#   for one more instance of the new build (smtp.sh, ftp.sh: server triad-x), so that e.g.
#   "sandbox = off" runs beside triad and base in the same rounds.
# - interleave: BENCH_ONLY="prefix..." limits the workloads run; runs stop being started once BENCH_BUDGET seconds (default 540) have passed
#   since bench_init, so a whole script stays under 10 minutes even on a slow machine.
# Everything listens on 127.0.0.1 high ports; nothing else on the machine is touched except
# packages installed and, for ftp.sh, one local test user (vsftpd/pure-ftpd need one).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PY=/usr/bin/python3
BENCH_CACHE=${BENCH_CACHE:-/var/cache/triad-bench}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

bench_usage() {
	cat <<EOF
usage: bench/$BENCH_NAME.sh [--record] [--help]
  --record   append the summary table to bench/RESULTS.md
environment:
  BENCH_QUICK=1       short smoke run (small files, ~2 s loads)
  BENCH_DURATION=N    seconds per timed load (default 5, quick 2)
  BENCH_RUNS=N        runs per server and workload, interleaved (default 3, minimum 3)
  BENCH_WORKERS=N     worker processes/threads for every server (default: nproc)
  BENCH_PEERS="..."   subset of peers to run (default: all of this protocol's)
  BENCH_NO_TRIAD=1    measure the peers only
  BENCH_KEEP=1        keep the temporary directory (configs, logs) after the run
  BENCH_BUDGET=N      start no load after N seconds (default 540)
  BENCH_ONLY="a b"    run only the workloads whose names start with a or b
  BENCH_TRIAD_EXTRA="key = value | [section] | key = value"
                      smtp.sh, ftp.sh: also run the new build with these config lines,
                      as server triad-x (e.g. "sandbox = off")
EOF
}

bench_init() {
	BENCH_NAME=$1
	shift
	BENCH_RECORD=0
	for a in "$@"; do
		case $a in
		--record) BENCH_RECORD=1 ;;
		-h | --help) bench_usage; exit 0 ;;
		*) bench_usage >&2; exit 2 ;;
		esac
	done
	[ "$(id -u)" = 0 ] || die "run as root (installs packages, starts peers that drop privileges)"
	BENCH_QUICK=${BENCH_QUICK:-0}
	if [ "$BENCH_QUICK" = 1 ]; then
		BENCH_DURATION=${BENCH_DURATION:-2}
	else
		BENCH_DURATION=${BENCH_DURATION:-5}
	fi
	BENCH_RUNS=${BENCH_RUNS:-3}
	[ "$BENCH_RUNS" -ge 3 ] 2>/dev/null || die "BENCH_RUNS must be at least 3"
	BENCH_WORKERS=${BENCH_WORKERS:-$(nproc)}
	BENCH_BUDGET=${BENCH_BUDGET:-540}
	BENCH_STARTED=$(date +%s)
	BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	BENCH_PIDS=()
	BENCH_CLEANUPS=()
	T=$(mktemp -d "/tmp/triad-bench-$BENCH_NAME.XXXXXX")
	chmod 0755 "$T"
	mkdir -p "$T/log"
	: >"$T/results.tsv"
	trap bench_cleanup EXIT
	trap 'say "bench: interrupted"; exit 130' INT TERM
	# Idle-connection loads need many descriptors; the hard limit is what we may have.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	say "bench $BENCH_NAME: duration ${BENCH_DURATION}s, runs $BENCH_RUNS, workers" \
		"$BENCH_WORKERS, quick=$BENCH_QUICK, tmp $T"
}

bench_at_exit() { BENCH_CLEANUPS+=("$*"); }

bench_cleanup() {
	local rc=$? c p
	trap - EXIT INT TERM
	for c in "${BENCH_CLEANUPS[@]}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	for p in "${BENCH_PIDS[@]}"; do
		bench_stop "$p"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "bench: kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- packages

bench_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "bench: installing ${missing[*]}"
	local made_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# invoke-rc.d asks this before starting a service: 101 = not allowed.
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >"$T/log/apt.log" 2>&1; then
		apt-get update -qq >>"$T/log/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >>"$T/log/apt.log" 2>&1 || {
			[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
			tail -5 "$T/log/apt.log" >&2
			die "apt-get install ${missing[*]} failed"
		}
	fi
	[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
	# Without systemd the policy file is the only guard; make sure nothing was left running
	# on the well-known ports by a maintainer script that ignored it.
	local svc
	for svc in nginx lighttpd vsftpd postfix; do
		case " ${missing[*]} " in *" $svc"*) service "$svc" stop >/dev/null 2>&1 || true ;; esac
	done
	return 0
}

bench_unpack_deb() {
	local pkg=$1 dir="$BENCH_CACHE/$1"
	if [ ! -e "$dir/.unpacked" ]; then
		mkdir -p "$BENCH_CACHE/debs"
		(cd "$BENCH_CACHE/debs" && rm -f "${pkg}"_*.deb &&
			apt-get download "$pkg" >"$T/log/download-$pkg.log" 2>&1) ||
			(apt-get update -qq >/dev/null 2>&1 && cd "$BENCH_CACHE/debs" &&
				apt-get download "$pkg" >>"$T/log/download-$pkg.log" 2>&1) ||
			{ say "bench: apt-get download $pkg failed"; return 1; }
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$BENCH_CACHE"/debs/"${pkg}"_*.deb "$dir" || return 1
		touch "$dir/.unpacked"
	fi
	echo "$dir"
}

deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

deb_file_version() { # version of an unpacked .deb from the cache
	local f
	f=$(ls "$BENCH_CACHE"/debs/"$1"_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] && dpkg-deb -f "$f" Version || echo "?"
}

# ---------------------------------------------------------------- ports and processes

free_port() {
	$PY - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# LOW-HIGH of N consecutive ports that were all free a moment ago (passive FTP ranges),
# taken outside the kernel's ephemeral range so that clients' ports and TIME_WAIT
# leftovers of earlier loads do not collide with it.
free_port_range() {
	$PY - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    eph_low, eph_high = (int(x) for x in f.read().split())
spans = [(lo, hi) for lo, hi in ((20000, eph_low - 1), (eph_high + 1, 65535)) if hi - lo >= n]
if not spans:
    spans = [(1024, 65535)]
for _ in range(2000):
    lo, hi = random.choice(spans)
    low = random.randint(lo, hi - n + 1)
    socks, ok = [], True
    for p in range(low, low + n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", p))
            socks.append(s)
        except OSError:
            ok = False
            break
    for s in socks:
        s.close()
    if ok:
        print(f"{low}-{low + n - 1}")
        sys.exit(0)
sys.exit("free_port_range: no free range")
EOF
}

wait_port() {
	local port=$1 secs=${2:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

bench_start() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$T/log/$name.log" 2>&1 &
	BENCH_LAST_PID=$!
	BENCH_PIDS+=("$BENCH_LAST_PID")
}

bench_stop() {
	local pid=$1 i p keep=()
	# Forget it first: a pid stopped once must never be signalled again (it may be reused).
	for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	BENCH_PIDS=("${keep[@]}")
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

bounded() {
	local secs=$1
	shift
	timeout -k 5 "$secs" "$@"
}

# Sum of VmRSS (KiB) of PID and all its descendants.
rss_tree() { $PY "$BENCH_DIR/tools/rss.py" "$@"; }

# ---------------------------------------------------------------- results

record() { # workload unit better(hi|lo) server value
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$T/results.tsv"
	say "  $4 $1: $5 $2"
}

record_skip() { # workload server reason
	printf '%s\t-\t-\t%s\tSKIP:%s\n' "$1" "$2" "$3" >>"$T/results.tsv"
}

# Runs "FUNC SERVER RUN" for RUN in 1..BENCH_RUNS and every SERVER in turn (triad, peer,
# triad, peer...). A server whose SKIP_<server> variable is set is skipped with that reason;
# a FUNC that returns non-zero leaves a FAIL row under WORKLOAD (the summary counts them).
interleave() {
	local fn=$1 workload=$2
	shift 2
	local r s var w
	if [ -n "${BENCH_ONLY:-}" ]; then
		for w in $BENCH_ONLY; do
			case $workload in "$w"*) break ;; esac
			w=
		done
		[ -n "$w" ] || return 0
	fi
	for ((r = 1; r <= BENCH_RUNS; r++)); do
		for s in "$@"; do
			var="SKIP_$s"
			[ -n "${!var:-}" ] && continue
			if [ $(($(date +%s) - BENCH_STARTED)) -ge "$BENCH_BUDGET" ]; then
				say "  $s $workload run $r: not started, the ${BENCH_BUDGET}s budget is spent"
				printf '%s\t-\t-\t%s\tFAIL:budget\n' "$workload" "$s" >>"$T/results.tsv"
				continue
			fi
			"$fn" "$s" "$r" || {
				say "  $s $workload run $r: failed (see $T/log)"
				printf '%s\t-\t-\t%s\tFAIL:run %s\n' "$workload" "$s" "$r" >>"$T/results.tsv"
			}
		done
	done
	for s in "$@"; do
		var="SKIP_$s"
		[ -n "${!var:-}" ] && record_skip "$workload" "$s" "${!var}"
	done
	return 0
}

bench_summary() {
	local title=$1
	shift
	local elapsed=$(($(date +%s) - BENCH_STARTED))
	local args=("$T/results.tsv" --title "$title" --elapsed "$elapsed"
		--command "${BENCH_COMMAND:-bench/$BENCH_NAME.sh}" --load-start "$BENCH_LOAD0")
	[ -n "${BENCH_VERSIONS:-}" ] && args+=(--versions "$BENCH_VERSIONS")
	[ -n "${BENCH_NOTES:-}" ] && args+=(--notes "$BENCH_NOTES")
	$PY "$BENCH_DIR/tools/summary.py" "${args[@]}"
	if [ "$BENCH_RECORD" = 1 ]; then
		$PY "$BENCH_DIR/tools/summary.py" "${args[@]}" --markdown >>"$BENCH_DIR/RESULTS.md"
		say "bench: appended to bench/RESULTS.md"
	fi
}

# ---------------------------------------------------------------- triad

triad_build() { # daemon: make -C the repo (plain build) for build/triad-<daemon>
	[ "${BENCH_NO_TRIAD:-0}" = 1 ] && return 0
	TRIAD_BIN=$REPO/build/triad-$1
	make -C "$REPO" "build/triad-$1" >"$T/log/make.log" 2>&1 && return 0
	tail -n 8 "$T/log/make.log" >&2
	if [ -x "$TRIAD_BIN" ]; then
		# Others may be editing the tree; a build that ran before is still worth measuring.
		say "bench: make failed; measuring the existing build/triad-$1 instead"
	else
		say "bench: make failed and build/triad-$1 is missing; triad is skipped"
		BENCH_NO_TRIAD=1
	fi
}

triad_version() { "$TRIAD_BIN" -V 2>/dev/null | head -1 || echo "?"; }

# triad_conf_write FILE: the one INI file from $TRIAD_ROOT and TRIAD_* port variables.
# Benchmark settings: access_log off, log_level warn, the same worker count as the peers.
triad_conf_write() {
	cat >"$1" <<EOF
; generated by bench/lib.sh
[global]
root      = $TRIAD_ROOT
user      = nobody
tls_cert  = $BENCH_CERT
tls_key   = $BENCH_KEY
log       = stderr
log_level = warn
workers   = $BENCH_WORKERS
shutdown_timeout = 3s

[httpd]
listen      = 127.0.0.1:${TRIAD_HTTP_PORT:-$(free_port)}
listen_tls  = 127.0.0.1:${TRIAD_HTTPS_PORT:-$(free_port)}
docroot     = www
index       = index.html
autoindex   = off
access_log  = off
keepalive_timeout = 75s
; the peers take 19000 (nginx worker_connections, lighttpd/h2o max-connections); left
; unset, RLIMIT_NOFILE 20000 would cap triad at (20000 - headroom) / 2 = 9976, under
; http.sh's 10,000 idle connections
max_connections = 19000

[ftpd]
listen          = 127.0.0.1:${TRIAD_FTP_PORT:-$(free_port)}
ftp_root        = www
anonymous       = off
pam_service     = ${TRIAD_PAM_SERVICE:-triadbench}
passive_ports   = ${TRIAD_PASV:-$(free_port_range 10)}
tls             = off
idle_timeout    = 5m
; one client address runs every load (50 parallel FTP clients); the peers do not limit it
max_connections_per_ip = 0

[smtpd]
listen           = 127.0.0.1:${TRIAD_SMTP_PORT:-$(free_port)}
hostname         = mx.example.org
domains          = example.org
maildir_root     = mail
max_message_size = 25M
tls              = off
max_recipients   = 100
timeout          = 5m
; 20 smtp-source sessions reconnecting from one address; Postfix exempts mynetworks
max_connections_per_ip = 0
EOF
}

# triad_conf_set FILE TEXT: INI lines into FILE, replacing keys it already sets.
triad_conf_set() {
	$PY "$BENCH_DIR/tools/confset.py" "$1" "$2" || die "BENCH_TRIAD_EXTRA or keys: $2"
}

# A self-signed P-256 certificate for 127.0.0.1, shared by triad and the peers.
bench_cert() {
	BENCH_CERT=$T/tls/cert.pem
	BENCH_KEY=$T/tls/key.pem
	mkdir -p "$T/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$BENCH_KEY" -out "$BENCH_CERT" >/dev/null 2>&1 || die "openssl req failed"
	chmod 0644 "$BENCH_CERT" "$BENCH_KEY"
}

# triad_probe httpd|ftpd|smtpd PORT: 0 when the daemon speaks its protocol, 1 when it
# still answers "service not available" (HTTP 503, FTP/SMTP 421) or not at all.
triad_probe() {
	$PY "$BENCH_DIR/tools/probe.py" "$1" "$2"
}

# Substitutes @NAME@ in a peer config template with the shell variable NAME.
render() { # template output
	$PY - "$1" "$2" <<'EOF'
import os, re, sys
src = open(sys.argv[1]).read()
def sub(m):
    v = os.environ.get(m.group(1))
    if v is None:
        sys.exit(f"render: {sys.argv[1]}: @{m.group(1)}@ is not set")
    return v
open(sys.argv[2], "w").write(re.sub(r"@([A-Z_][A-Z0-9_]*)@", sub, src))
EOF
}
