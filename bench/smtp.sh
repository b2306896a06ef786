#!/usr/bin/env bash
# bench/smtp.sh: triad-smtpd against Postfix, both delivering to a Maildir (issue 6).
#
# smtp-source sends BENCH_SMTP_MESSAGES (5,000; quick 500) messages of 4 KiB over 20
# parallel sessions to one mailbox; the clock stops when every message is a file in the
# mailbox's new/ (polled), so a server that answers 250 before the message is delivered
# gains nothing. Two variants: a new connection per message (smtp-source's default) and
# persistent sessions (-d). Runs interleave triad, postfix, triad... BENCH_RUNS times.
# In the same run, the disk's own ceiling: 4 KiB write + fsync + rename + directory fsync
# per second, from 1 thread and from 20 (bench/tools/diskceil.py), on the same filesystem.
# For every triad build (triad, base with BENCH_BASELINE, triad-x with BENCH_TRIAD_EXTRA)
# also the CPU time (user + system) of its process tree per message, and its user time
# alone, measured around the same loads: msg/s is bound by fsync on this disk, CPU per
# message is what the code costs. And the system calls per message: strace -c -f on the
# daemon for BENCH_SMTP_STRACE_MESSAGES (300) messages over a connection each.
# Postfix is a private instance (bench/peers/postfix-main.cf, postfix-master.cf): its own
# config, queue and data directories under the temp dir, virtual(8) delivery as nobody.
# Usage: bench/smtp.sh [--record]; BENCH_QUICK=1 for a smoke run. See bench/README.md.
set -u
. "$(dirname "$0")/lib.sh"
bench_init smtp "$@"

if [ "$BENCH_QUICK" = 1 ]; then
	MSGS=${BENCH_SMTP_MESSAGES:-500}
else
	MSGS=${BENCH_SMTP_MESSAGES:-5000}
fi
SESSIONS=20
PAYLOAD=4096
export SMTP_PAYLOAD=$PAYLOAD
LIMIT=120 # seconds one load may take before it counts as failed

bench_need_pkgs postfix openssl strace
triad_build smtpd
bench_cert
export BENCH_CERT BENCH_KEY
export NOBODY_UID NOBODY_GID
NOBODY_UID=$(id -u nobody) NOBODY_GID=$(id -g nobody)

declare -A PORT MAILDIR
SERVERS=(triad postfix)

# An earlier run's mailbox is moved aside, not deleted, and the lot is deleted once every
# run is done (trash_empty): on ext4 without a journal (this machine's root) allocating
# an inode skips the ones freed in the last minute one at a time (recently_deleted), so
# whichever server ran next paid for the previous run's rm in CPU (a third of the
# daemon's profile here) and in msg/s.
TRASH=$T/trash
mkdir -p "$TRASH"
new_mailbox() { # dir: an empty Maildir owned by nobody
	[ -e "$1" ] && mv "$1" "$(mktemp -u "$TRASH/box.XXXXXX")"
	mkdir -p "$1/tmp" "$1/new" "$1/cur"
	chown -R nobody:nogroup "$1"
}
trash_empty() { rm -rf "$TRASH" && mkdir -p "$TRASH"; }

# ---------------------------------------------------------------- triad

TRIAD_ROOT=$T/root
# start_triad NAME BIN ROOT [KEYS]: one triad-smtpd delivering below ROOT, with its own
# root so that the counts stay apart (base: the BENCH_BASELINE build, a before/after in one
# run; triad_x: the new build with BENCH_TRIAD_EXTRA's lines).
declare -A DPID
start_triad() {
	local n=$1 bin=$2 var="SKIP_$1"
	TRIAD_ROOT=$3
	mkdir -p "$T/$n" "$TRIAD_ROOT/www"
	MAILDIR[$n]=$TRIAD_ROOT/mail/example.org/bench
	new_mailbox "${MAILDIR[$n]}"
	chown -R nobody:nogroup "$TRIAD_ROOT"
	TRIAD_SMTP_PORT=$(free_port)
	PORT[$n]=$TRIAD_SMTP_PORT
	triad_conf_write "$T/$n/triad.conf"
	[ -n "${4:-}" ] && triad_conf_set "$T/$n/triad.conf" "$4"
	bench_start "$n" "$bin" -c "$T/$n/triad.conf"
	DPID[$n]=$BENCH_LAST_PID
	TRIADS+=("$n")
	if ! wait_port "${PORT[$n]}" 10; then
		printf -v "$var" '%s' "did not start (see log)"
		say "$n: did not start:"
		tail -n 5 "$T/log/$n.log" >&2
	elif ! triad_probe smtpd "${PORT[$n]}"; then
		printf -v "$var" '%s' "not serving yet"
		say "$n: not serving yet, skipped"
	fi
}
label() { # server name as the tables show it (bash names cannot hold a dash)
	case $1 in triad_x) echo triad-x ;; *) echo "$1" ;; esac
}
TRIADS=()
if [ "${BENCH_NO_TRIAD:-0}" = 1 ]; then
	SKIP_triad="not built or BENCH_NO_TRIAD=1"
else
	start_triad triad "$TRIAD_BIN" "$TRIAD_ROOT"
	if [ -n "${BENCH_TRIAD_EXTRA:-}" ]; then
		SERVERS=(triad triad_x postfix)
		start_triad triad_x "$TRIAD_BIN" "$T/rootx" "$BENCH_TRIAD_EXTRA"
	fi
	if [ -n "${BENCH_BASELINE:-}" ]; then
		[ -x "$BENCH_BASELINE/triad-smtpd" ] || die "BENCH_BASELINE: no $BENCH_BASELINE/triad-smtpd"
		SERVERS=("${TRIADS[@]}" base postfix)
		start_triad base "$BENCH_BASELINE/triad-smtpd" "$T/rootbase"
	fi
fi

# ---------------------------------------------------------------- postfix

export PEER_DIR=$T/postfix MAILBASE=$T/pfmail SMTP_PORT
SMTP_PORT=$(free_port)
PORT[postfix]=$SMTP_PORT
MAILDIR[postfix]=$MAILBASE/example.org/bench
mkdir -p "$PEER_DIR/etc" "$PEER_DIR/queue" "$PEER_DIR/data"
chmod 0755 "$PEER_DIR" "$PEER_DIR/etc"
chown postfix "$PEER_DIR/data"
new_mailbox "${MAILDIR[postfix]}"
chown -R nobody:nogroup "$MAILBASE"
render "$BENCH_DIR/peers/postfix-main.cf" "$PEER_DIR/etc/main.cf"
render "$BENCH_DIR/peers/postfix-master.cf" "$PEER_DIR/etc/master.cf"
printf 'bench@example.org example.org/bench/\n' >"$PEER_DIR/etc/vmailbox"
postfix_stop() { postfix -c "$PEER_DIR/etc" stop; }
# start-fg keeps master(8) in the foreground, in our process group.
bench_start postfix postfix -c "$PEER_DIR/etc" start-fg
bench_at_exit postfix_stop
if ! wait_port "$SMTP_PORT" 20 || ! triad_probe smtpd "$SMTP_PORT"; then
	SKIP_postfix="did not start (see log)"
	say "postfix: did not start:"
	tail -n 8 "$T/log/postfix.log" "$PEER_DIR/maillog" 2>/dev/null >&2
fi

BENCH_VERSIONS="triad $(triad_version); postfix $(deb_version postfix) (smtp-source from it)"
BENCH_VERSIONS+="; workers $BENCH_WORKERS (Postfix: a process per session, default_process_limit 100)"

# ---------------------------------------------------------------- loads

cpu_tree() { # pid: "user_ms system_ms" of it and its descendants
	$PY "$BENCH_DIR/tools/cputree.py" --split "$1"
}

smtp_load() { # server run tag [smtp-source flags]
	local n=$1 tag=$3 out secs rate intact u0 s0 u1 s1
	shift 3
	new_mailbox "${MAILDIR[$n]}"
	[ -n "${DPID[$n]:-}" ] && read -r u0 s0 < <(cpu_tree "${DPID[$n]}")
	out=$(bounded $((LIMIT + 10)) $PY "$BENCH_DIR/tools/smtpload.py" "${MAILDIR[$n]}" "$MSGS" \
		"$LIMIT" -- smtp-source "$@" -s "$SESSIONS" -m "$MSGS" -l "$PAYLOAD" \
		-M client.example.net -f sender@example.net -t bench@example.org \
		"127.0.0.1:${PORT[$n]}" 2>"$T/log/smtpload-$n.err") || {
		tail -n 3 "$T/log/smtpload-$n.err" >&2
		return 1
	}
	[ -n "${DPID[$n]:-}" ] && read -r u1 s1 < <(cpu_tree "${DPID[$n]}")
	read -r secs rate intact <<<"$out"
	if [ "$intact" != "$MSGS" ]; then
		say "  $n $tag: only $intact of $MSGS messages intact"
		return 1
	fi
	record "$tag msg/s" msg/s hi "$(label "$n")" "$rate"
	if [ -n "${DPID[$n]:-}" ]; then
		record "$tag CPU/msg" "µs" lo "$(label "$n")" $(((u1 - u0 + s1 - s0) * 1000 / MSGS))
		record "$tag user CPU/msg" "µs" lo "$(label "$n")" $(((u1 - u0) * 1000 / MSGS))
	fi
}

l_conn() { smtp_load "$1" "$2" "smtp conn/msg"; }
l_persist() { smtp_load "$1" "$2" "smtp persistent" -d; }

# strace -c -f attached to the daemon (every thread) for a short load; the count of every
# call made, errors included, per message. strace slows the daemon: only the count is kept.
STRACE_MSGS=${BENCH_SMTP_STRACE_MESSAGES:-300}
l_strace() {
	local n=$1 sp calls
	new_mailbox "${MAILDIR[$n]}"
	strace -c -f -q -p "${DPID[$n]}" -o "$T/log/strace-$n.txt" 2>>"$T/log/strace-$n.err" &
	sp=$!
	sleep 1 # attached to every thread before the first message
	bounded $((LIMIT + 10)) $PY "$BENCH_DIR/tools/smtpload.py" "${MAILDIR[$n]}" "$STRACE_MSGS" \
		"$LIMIT" -- smtp-source -s "$SESSIONS" -m "$STRACE_MSGS" -l "$PAYLOAD" \
		-M client.example.net -f sender@example.net -t bench@example.org \
		"127.0.0.1:${PORT[$n]}" >/dev/null 2>"$T/log/smtpload-$n.err" || {
		kill -INT "$sp" 2>/dev/null
		wait "$sp"
		return 1
	}
	sleep 0.5 # the last replies and closes
	kill -INT "$sp" 2>/dev/null
	wait "$sp"
	# the total line: % time, seconds, usecs/call, calls, errors, "total"
	calls=$(awk '$NF == "total" { print $4 }' "$T/log/strace-$n.txt")
	[ -n "$calls" ] || return 1
	cp "$T/log/strace-$n.txt" "$T/log/strace-$n-run$2.txt"
	record "smtp conn/msg syscalls/msg (strace, $STRACE_MSGS msgs)" calls lo "$(label "$n")" \
		"$($PY -c "print(round($calls / $STRACE_MSGS, 1))")"
}

DISK_SECS=$BENCH_DURATION
l_disk() { # pseudo-server "disk1" / "disk20": the filesystem's ceiling
	local threads=${1#disk} rate
	rate=$(bounded $((DISK_SECS + 30)) $PY "$BENCH_DIR/tools/diskceil.py" "$T/disk" \
		"$DISK_SECS" "$threads") || return 1
	record "disk ceiling (write+fsync+rename+dir fsync)" ops/s hi "$1" "$rate"
}

say "smtp: $MSGS messages of $PAYLOAD bytes, $SESSIONS sessions, a connection per message"
interleave l_conn "smtp conn/msg msg/s" "${SERVERS[@]}"
trash_empty
say "smtp: the same over persistent sessions (smtp-source -d)"
interleave l_persist "smtp persistent msg/s" "${SERVERS[@]}"
trash_empty
if [ ${#TRIADS[@]} -gt 0 ]; then
	say "syscalls: strace -c -f on each triad build, $STRACE_MSGS messages"
	interleave l_strace "smtp conn/msg syscalls/msg (strace, $STRACE_MSGS msgs)" "${TRIADS[@]}"
fi
say "disk ceiling: ${DISK_SECS}s from 1 and from 20 threads"
interleave l_disk "disk ceiling (write+fsync+rename+dir fsync)" disk1 disk20
trash_empty

BENCH_COMMAND="BENCH_QUICK=$BENCH_QUICK BENCH_RUNS=$BENCH_RUNS BENCH_SMTP_MESSAGES=$MSGS"
[ -n "${BENCH_BASELINE:-}" ] && BENCH_COMMAND+=" BENCH_BASELINE=$BENCH_BASELINE"
[ -n "${BENCH_TRIAD_EXTRA:-}" ] && BENCH_COMMAND+=" BENCH_TRIAD_EXTRA='$BENCH_TRIAD_EXTRA'"
BENCH_COMMAND+=" bench/smtp.sh"
BENCH_NOTES="msg/s counted until every message is a file in new/; disk1/disk20: the"
BENCH_NOTES+=" filesystem's own ceiling from 1 and 20 threads"
bench_summary "SMTP (bench/smtp.sh)"
