#!/usr/bin/env bash
# bench/ftp.sh: triad-ftpd against vsftpd and pure-ftpd (issue 6).
#
# All three serve the same generated tree on 127.0.0.1 high ports with their own passive
# port ranges; every load logs in as the local user triadbench that this script creates
# (SHA-512 password hash), through PAM / /etc/shadow: triad and vsftpd with Debian's
# "vsftpd" PAM stack, pure-ftpd with its own unix login (BENCH_FTP_PAM=wrapper: triad
# uses pam_wrapper + pam_matrix instead, as the integration tests do). triad runs twice:
# "triad" as configured by default (sync_uploads = on: uploads fsynced before their 226) and
# "triad-nosync" (sync_uploads = off: no fsync, as the peers). Loads, interleaved triad,
# triad-nosync, vsftpd, pure-ftpd, triad... BENCH_RUNS times each:
#   down-big    download of the big file (1 GiB; 64 MiB with BENCH_QUICK=1 or when the
#               disk has less than 6 GiB free), bench/tools/ftppar.py with 1 session: MiB/s
#   up-big      upload of the same file (bench/tools/ftpup.py, sendfile): MiB/s from STOR
#               to the server's 226
#   small-500   500 files of 4 KiB uploaded in one session (bench/tools/ftpsmall.py): s
#   par50-10m   50 sessions at once (bench/tools/ftppar.py, one process, 50 threads), each
#               downloading a 10 MiB file: aggregate MiB/s
# For every triad instance also its process tree's CPU time (user + system) per transfer
# in the same loads: ms per GiB for the big file, µs per small file, ms per 10 MiB
# download of par50. BENCH_BASELINE adds "base-nosync" (an older build), BENCH_TRIAD_EXTRA
# adds "x-nosync" (this build, sync_uploads = off, plus those configuration lines).
# Usage: bench/ftp.sh [--record]; BENCH_QUICK=1 for a smoke run. See bench/README.md.
set -u
. "$(dirname "$0")/lib.sh"
bench_init ftp "$@"

PEERS=${BENCH_PEERS:-vsftpd pureftpd}
FTP_USER=triadbench
FTP_PASS=bench-$(id -u)-pass
PARALLEL=50
# system: triad authenticates through PAM service "vsftpd" (pam_unix, /etc/shadow) like
# the peers; wrapper: through pam_wrapper + pam_matrix, as the integration tests do.
FTP_PAM=${BENCH_FTP_PAM:-system}
SMALL_COUNT=500
SMALL_SIZE=4096

bench_need_pkgs vsftpd curl libpam-wrapper openssl
PURE_ROOT=
case " $PEERS " in
*" pureftpd "*)
	PURE_ROOT=$(bench_unpack_deb pure-ftpd) || SKIP_pureftpd="pure-ftpd .deb not available"
	;;
esac
triad_build ftpd
bench_cert

# ---------------------------------------------------------------- files

avail_kib=$(df -Pk /tmp | awk 'NR == 2 { print $4 }')
if [ "$BENCH_QUICK" != 1 ] && [ "$avail_kib" -gt $((6 * 1024 * 1024)) ]; then
	BIG_MIB=${BENCH_FTP_BIG_MIB:-1024}
else
	BIG_MIB=${BENCH_FTP_BIG_MIB:-64}
fi
TRIAD_ROOT=$T/root
FTPROOT=$TRIAD_ROOT/www
SRC=$T/src
mkdir -p "$FTPROOT" "$TRIAD_ROOT/mail" "$SRC"
say "generating a ${BIG_MIB} MiB file"
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$FTPROOT/big.bin"
head -c $((10 * 1048576)) /dev/urandom >"$FTPROOT/f10m.bin"
ln "$FTPROOT/big.bin" "$SRC/big.bin" # what curl uploads: the same bytes, already cached
for s in triad triad_nosync base_nosync x_nosync $PEERS; do mkdir -p "$FTPROOT/up/$s"; done
chown -R nobody:nogroup "$TRIAD_ROOT"
chmod -R a+rX "$TRIAD_ROOT"
chmod 0777 "$FTPROOT"/up/*

# The peers authenticate local users: one test user whose home is the FTP root.
if ! id "$FTP_USER" >/dev/null 2>&1; then
	useradd -M -d "$FTPROOT" -s /bin/sh -c "triad bench FTP user" "$FTP_USER" ||
		die "useradd $FTP_USER failed"
fi
usermod -d "$FTPROOT" "$FTP_USER"
# SHA-512 crypt (5,000 rounds, about a millisecond) rather than Debian's default yescrypt
# (tens of milliseconds of CPU per login): 50 parallel logins would otherwise measure
# the password hash, not the FTP server.
echo "$FTP_USER:$FTP_PASS" | chpasswd -c SHA512

# ---------------------------------------------------------------- servers

declare -A PORT DPID

ftp_greets() { # port: the greeting is 220
	$PY "$BENCH_DIR/tools/probe.py" ftpd "$1"
}

login_works() { # name: a directory listing comes back (3 tries: a slow machine)
	local i
	for i in 1 2 3; do
		curl -sS --max-time 10 --ftp-method singlecwd -l \
			"ftp://$FTP_USER:$FTP_PASS@127.0.0.1:${PORT[$1]}/" 2>>"$T/log/login-$1.err" |
			grep -q '^big.bin' && return 0
		sleep 1
	done
	tail -n 3 "$T/log/login-$1.err" >&2
	return 1
}

# start_triad NAME [KEY=VALUE...]: one triad-ftpd with the bench INI plus these [ftpd] keys
# (base_nosync: the BENCH_BASELINE build's triad-ftpd; x_nosync: this build with
# BENCH_TRIAD_EXTRA's lines).
start_triad() {
	local n=$1 var="SKIP_$1" kv bin=$TRIAD_BIN
	shift
	[ "$n" = base_nosync ] && bin=$BENCH_BASELINE/triad-ftpd
	mkdir -p "$T/$n"
	TRIAD_FTP_PORT=$(free_port)
	TRIAD_PASV=$(free_port_range 200) || die "no free passive port range"
	PORT[$n]=$TRIAD_FTP_PORT
	if [ "$FTP_PAM" = system ]; then
		# The same PAM stack and user as vsftpd (pam_unix); triad's PAM helper keeps root.
		TRIAD_PAM_SERVICE=vsftpd
		triad_conf_write "$T/$n/triad.conf"
	else
		mkdir -p "$T/$n/pam/services"
		printf '%s:%s:triadbench\n' "$FTP_USER" "$FTP_PASS" >"$T/$n/pam/passdb"
		PAM_MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
		printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
			"$PAM_MATRIX" "$T/$n/pam/passdb" "$PAM_MATRIX" "$T/$n/pam/passdb" \
			>"$T/$n/pam/services/triadbench"
		printf 'auth required pam_deny.so\naccount required pam_deny.so\n' \
			>"$T/$n/pam/services/other"
		triad_conf_write "$T/$n/triad.conf"
	fi
	for kv in "$@"; do
		sed -i "/^\[ftpd\]/a $kv" "$T/$n/triad.conf"
	done
	[ "$n" = x_nosync ] && triad_conf_set "$T/$n/triad.conf" "$BENCH_TRIAD_EXTRA"
	if [ "$FTP_PAM" = system ]; then
		bench_start "$n" "$bin" -c "$T/$n/triad.conf"
	else
		bench_start "$n" env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
			"PAM_WRAPPER_SERVICE_DIR=$T/$n/pam/services" "$bin" -c "$T/$n/triad.conf"
	fi
	DPID[$n]=$BENCH_LAST_PID
	if ! wait_port "${PORT[$n]}" 10; then
		printf -v "$var" '%s' "did not start (see log)"
		say "$n: did not start:"
		tail -n 5 "$T/log/$n.log" >&2
	elif ! ftp_greets "${PORT[$n]}"; then
		printf -v "$var" '%s' "not serving yet"
		say "$n: not serving yet, skipped"
	elif ! login_works "$n"; then
		printf -v "$var" '%s' "login or listing failed"
		say "$n: login or LIST failed; skipped"
	fi
}

# triad twice: as configured by default (sync_uploads = on: every upload is fsynced, file
# and directory, before its 226) and with sync_uploads = off, the peers' durability (they
# never fsync). "triad_nosync" is reported as triad-nosync (bash names cannot hold a dash).
SERVERS=(triad triad_nosync)
if [ "${BENCH_NO_TRIAD:-0}" = 1 ]; then
	SKIP_triad="not built or BENCH_NO_TRIAD=1"
	SKIP_triad_nosync=$SKIP_triad
else
	start_triad triad
	start_triad triad_nosync "sync_uploads = off"
	if [ -n "${BENCH_TRIAD_EXTRA:-}" ]; then
		SERVERS+=(x_nosync)
		start_triad x_nosync "sync_uploads = off"
	fi
	if [ -n "${BENCH_BASELINE:-}" ]; then
		# Another build of triad, like-for-like with triad-nosync: a before/after in one run.
		[ -x "$BENCH_BASELINE/triad-ftpd" ] || die "BENCH_BASELINE: no $BENCH_BASELINE/triad-ftpd"
		SERVERS+=(base_nosync)
		start_triad base_nosync "sync_uploads = off"
	fi
fi

label() { # server name as the tables show it
	case $1 in
	triad_nosync) echo triad-nosync ;;
	base_nosync) echo base-nosync ;;
	x_nosync) echo x-nosync ;;
	*) echo "$1" ;;
	esac
}

# cpu_mark NAME, then cpu_record NAME WORKLOAD UNIT MUL DIV: for a triad instance, the CPU
# time (user + system, ms) its process tree used since the mark, times MUL / DIV.
declare -A CPU0
cpu_mark() {
	[ -n "${DPID[$1]:-}" ] && CPU0[$1]=$($PY "$BENCH_DIR/tools/cputree.py" "${DPID[$1]}")
	return 0
}
cpu_record() {
	local n=$1 ms
	[ -n "${DPID[$n]:-}" ] || return 0
	ms=$(($($PY "$BENCH_DIR/tools/cputree.py" "${DPID[$n]}") - CPU0[$n]))
	record "$2" "$3" lo "$(label "$n")" "$(awk -v ms="$ms" -v m="$4" -v d="$5" 'BEGIN { printf "%.1f", ms * m / d }')"
}

start_peer() { # name
	local n=$1 var="SKIP_$1" range
	SERVERS+=("$n")
	[ -n "${!var:-}" ] && return
	export PEER_DIR=$T/$n FTP_PORT FTPROOT PASV_LOW PASV_HIGH
	FTP_PORT=$(free_port)
	range=$(free_port_range 200) || die "no free passive port range"
	PASV_LOW=${range%-*} PASV_HIGH=${range#*-}
	PORT[$n]=$FTP_PORT
	mkdir -p "$PEER_DIR/empty"
	chmod 0755 "$PEER_DIR" "$PEER_DIR/empty"
	case $n in
	vsftpd)
		render "$BENCH_DIR/peers/vsftpd.conf" "$PEER_DIR/vsftpd.conf"
		bench_start vsftpd vsftpd "$PEER_DIR/vsftpd.conf"
		;;
	pureftpd)
		render "$BENCH_DIR/peers/pure-ftpd.args" "$PEER_DIR/pure-ftpd.args"
		mapfile -t args < <(grep -v '^#' "$PEER_DIR/pure-ftpd.args" | grep .)
		bench_start pureftpd "$PURE_ROOT/usr/sbin/pure-ftpd" "${args[@]}"
		;;
	*) die "unknown peer $n" ;;
	esac
	if ! wait_port "$FTP_PORT" 10 || ! ftp_greets "$FTP_PORT" || ! login_works "$n"; then
		printf -v "SKIP_$n" '%s' "did not start or log in (see log)"
		say "$n: did not start or log in:"
		tail -n 5 "$T/log/$n.log" "$PEER_DIR"/*.log 2>/dev/null >&2
	fi
}

for p in $PEERS; do start_peer "$p"; done
BENCH_VERSIONS="triad $(triad_version); vsftpd $(deb_version vsftpd); pure-ftpd $(deb_file_version pure-ftpd)"
BENCH_VERSIONS+="; clients python3 $(deb_version python3) ftplib; big file $BIG_MIB MiB"
BENCH_VERSIONS+="; triad workers $BENCH_WORKERS"
BENCH_VERSIONS+=" (vsftpd and pure-ftpd: a process per session)"

# ---------------------------------------------------------------- loads

BIG_BYTES=$((BIG_MIB * 1048576))

# The big transfers use light Python clients (recv_into a 256 KiB buffer; sendfile for
# uploads): curl moved 20-40 % fewer bytes per second here with the same server.
l_down() {
	local n=$1 rate
	cpu_mark "$n"
	rate=$(bounded 300 $PY "$BENCH_DIR/tools/ftppar.py" "${PORT[$n]}" "$FTP_USER" "$FTP_PASS" \
		big.bin "$BIG_BYTES" 1 2>"$T/log/down-$n.err") || {
		tail -n 2 "$T/log/down-$n.err" >&2
		return 1
	}
	record "down-big ${BIG_MIB}MiB" MiB/s hi "$(label "$n")" "$rate"
	cpu_record "$n" "down-big CPU" ms/GiB 1024 "$BIG_MIB"
}

l_up() {
	local n=$1 r=$2 rate stored dest="$FTPROOT/up/$1/big-$2.bin"
	cpu_mark "$n"
	rate=$(bounded 300 $PY "$BENCH_DIR/tools/ftpup.py" "${PORT[$n]}" "$FTP_USER" "$FTP_PASS" \
		"$SRC/big.bin" "/up/$n/big-$r.bin" 2>"$T/log/up-$n.err") || {
		tail -n 2 "$T/log/up-$n.err" >&2
		rm -f "$dest"
		return 1
	}
	stored=$(stat -c %s "$dest" 2>/dev/null || echo 0)
	rm -f "$dest"
	[ "$stored" = "$BIG_BYTES" ] || { say "  $n: stored $stored of $BIG_BYTES bytes"; return 1; }
	record "up-big ${BIG_MIB}MiB" MiB/s hi "$(label "$n")" "$rate"
	cpu_record "$n" "up-big CPU" ms/GiB 1024 "$BIG_MIB"
}

l_small() {
	local n=$1 r=$2 dir="$FTPROOT/up/$1/small-$2" secs got
	mkdir -p "$dir"
	chmod 0777 "$dir"
	cpu_mark "$n"
	secs=$(bounded 120 $PY "$BENCH_DIR/tools/ftpsmall.py" "${PORT[$n]}" "$FTP_USER" "$FTP_PASS" \
		"/up/$n/small-$r" "$SMALL_COUNT" "$SMALL_SIZE" 2>"$T/log/small-$n.err") || {
		tail -n 2 "$T/log/small-$n.err" >&2
		return 1
	}
	got=$(find "$dir" -maxdepth 1 -type f -name 'f*.bin' -size "${SMALL_SIZE}c" | wc -l)
	# Deleted only once every run is done (small_cleanup): ext4 without a journal (as
	# here) skips inodes freed in the last minute one at a time when it allocates
	# (find_inode_bit -> recently_deleted), so whoever ran next paid for this cleanup.
	[ "$got" = "$SMALL_COUNT" ] || { say "  $n: $got of $SMALL_COUNT files stored"; return 1; }
	record "small-$SMALL_COUNT x 4KiB upload" s lo "$(label "$n")" "$secs"
	cpu_record "$n" "small CPU per file" µs 1000 "$SMALL_COUNT"
}

# PARALLEL sessions at once from one client process (bench/tools/ftppar.py): 50 curl
# processes spent more CPU starting (about 45 ms each here) than transferring.
l_par() {
	local n=$1 rate
	cpu_mark "$n"
	rate=$(bounded 120 $PY "$BENCH_DIR/tools/ftppar.py" "${PORT[$n]}" "$FTP_USER" "$FTP_PASS" \
		f10m.bin $((10 * 1048576)) "$PARALLEL" 2>"$T/log/par-$n.err") || {
		tail -n 2 "$T/log/par-$n.err" >&2
		return 1
	}
	record "par$PARALLEL x 10MiB down (aggregate)" MiB/s hi "$(label "$n")" "$rate"
	cpu_record "$n" "par CPU per 10MiB download" ms 1 "$PARALLEL"
}

say "down-big: ${BIG_MIB} MiB download"
interleave l_down "down-big ${BIG_MIB}MiB" "${SERVERS[@]}"
say "up-big: ${BIG_MIB} MiB upload"
interleave l_up "up-big ${BIG_MIB}MiB" "${SERVERS[@]}"
say "small: $SMALL_COUNT files of $SMALL_SIZE bytes in one session"
interleave l_small "small-$SMALL_COUNT x 4KiB upload" "${SERVERS[@]}"
rm -rf "$FTPROOT"/up/*/small-* # small_cleanup: every run's files at once, after the runs
say "par: $PARALLEL clients downloading 10 MiB each"
interleave l_par "par$PARALLEL x 10MiB down (aggregate)" "${SERVERS[@]}"

BENCH_COMMAND="BENCH_QUICK=$BENCH_QUICK BENCH_RUNS=$BENCH_RUNS"
[ -n "${BENCH_BASELINE:-}" ] && BENCH_COMMAND+=" BENCH_BASELINE=$BENCH_BASELINE"
[ -n "${BENCH_TRIAD_EXTRA:-}" ] && BENCH_COMMAND+=" BENCH_TRIAD_EXTRA='$BENCH_TRIAD_EXTRA'"
BENCH_COMMAND+=" bench/ftp.sh"
bench_summary "FTP (bench/ftp.sh)"

# The same runs with triad-nosync as the reference: summary.py computes its ratio column
# against the server named "triad", so the durable triad rows are left out and
# triad-nosync's are renamed to it.
if grep -q $'\ttriad-nosync\t' "$T/results.tsv"; then
	awk -F'\t' -v OFS='\t' '$4 == "triad" { next } $4 == "triad-nosync" { $4 = "triad" } 1' \
		"$T/results.tsv" >"$T/results-nosync.tsv"
	nosync_args=("$T/results-nosync.tsv" --title "FTP, triad with sync_uploads = off (its rows say triad)"
		--command "$BENCH_COMMAND" --load-start "$BENCH_LOAD0" --versions "$BENCH_VERSIONS")
	$PY "$BENCH_DIR/tools/summary.py" "${nosync_args[@]}"
	if [ "$BENCH_RECORD" = 1 ]; then
		$PY "$BENCH_DIR/tools/summary.py" "${nosync_args[@]}" --markdown >>"$BENCH_DIR/RESULTS.md"
	fi
fi
