#!/bin/sh
# `make run`: starts triad-httpd, triad-ftpd and triad-smtpd in the foreground
# on a demo configuration under build/demo/: HTTP 8080, HTTPS 8443, FTP 2121
# (FTPS via AUTH TLS), SMTP 2525, a self-signed certificate and two sites
# (docs/sites.md): "main" for the host 127.0.0.1 (demo/www, FTP login demo,
# mail for postmaster@example.org) and "local" for localhost (demo/localhost,
# its own certificate, FTP login local, mail for info@localhost.example).
# Logins use pam_wrapper + pam_matrix (demo/demo, local/local), so no
# system account or /etc/pam.d change is needed. Ctrl-C stops all three.
#
# Usage: tools/run-demo.sh [--detach | --stop] [BUILD]   (run from the repository)
#   --detach  start the daemons in the background, logging to DIR/<daemon>.log,
#             and return once all three logged "ready" (exit 1 if one did not)
#   --stop    SIGTERM the daemons a --detach run started, wait for them, clean up
# Environment (today's fixed values are the defaults): TRIAD_DEMO_HTTP_PORT (8080),
# TRIAD_DEMO_HTTPS_PORT (8443), TRIAD_DEMO_FTP_PORT (2121), TRIAD_DEMO_SMTP_PORT
# (2525), TRIAD_DEMO_PASV_PORTS (50000-50100), TRIAD_DEMO_DIR (build/demo).
# tests/integration/test_demo.py runs it this way on free ports.
set -e
MODE=run
case ${1:-} in
--detach) MODE=detach; shift ;;
--stop) MODE=stop; shift ;;
esac
BUILD=${1:-build}
DEMO=${TRIAD_DEMO_DIR:-$(pwd)/build/demo}
HTTP_PORT=${TRIAD_DEMO_HTTP_PORT:-8080}
HTTPS_PORT=${TRIAD_DEMO_HTTPS_PORT:-8443}
FTP_PORT=${TRIAD_DEMO_FTP_PORT:-2121}
SMTP_PORT=${TRIAD_DEMO_SMTP_PORT:-2525}
PASV_PORTS=${TRIAD_DEMO_PASV_PORTS:-50000-50100}

# Running: not gone and not a zombie (exited, not reaped yet by its parent).
running() { st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [ "${st%% *}" != Z ]; }

# --stop: the daemons of a --detach run (their pids in DIR/demo.pids).
if [ "$MODE" = stop ]; then
	[ -s "$DEMO/demo.pids" ] || { echo "run-demo: no $DEMO/demo.pids: nothing to stop" >&2; exit 1; }
	read -r pids <"$DEMO/demo.pids"
	# shellcheck disable=SC2086 # a list of pids
	kill -TERM $pids 2>/dev/null || true
	i=0
	while [ $i -lt 100 ]; do
		alive=""
		for p in $pids; do running "$p" && alive="$alive $p"; done
		[ -z "$alive" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$DEMO/pam.dir" ] && rm -rf "$(cat "$DEMO/pam.dir")"
	rm -f "$DEMO/demo.pids" "$DEMO/pam.dir"
	if [ -n "$alive" ]; then
		echo "run-demo: still running 10 s after SIGTERM, killed:$alive" >&2
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $alive 2>/dev/null || true
		exit 1
	fi
	exit 0
fi

# The PAM stack lives under /tmp: the login helper runs under Landlock, which
# under pam_wrapper lets it read the system's directories and /tmp only
# (docs/security.md), so a service directory under build/ would refuse every login.
PAM_DIR=$(mktemp -d /tmp/triad-demo-pam.XXXXXX)
mkdir -p "$DEMO/root/www" "$DEMO/root/sites/local/www" "$DEMO/tls"
for box in example.org/postmaster localhost.example/info; do
	mkdir -p "$DEMO/root/mail/$box/tmp" "$DEMO/root/mail/$box/new" "$DEMO/root/mail/$box/cur"
done
cp -R demo/www/. "$DEMO/root/www/"
cp -R demo/localhost/. "$DEMO/root/sites/local/www/"
if [ ! -s "$DEMO/tls/cert.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
		-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 \
		-keyout "$DEMO/tls/key.pem" -out "$DEMO/tls/cert.pem" 2>/dev/null
fi
if [ ! -s "$DEMO/tls/localhost.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
		-subj "/O=triad demo site local/CN=localhost" -addext subjectAltName=DNS:localhost \
		-keyout "$DEMO/tls/localhost.key" -out "$DEMO/tls/localhost.pem" 2>/dev/null
fi
MATRIX=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so
printf 'demo:demo:triad\nlocal:local:triad\n' > "$PAM_DIR/passdb"
printf 'auth required %s passdb=%s\naccount required %s passdb=%s\n' \
	"$MATRIX" "$PAM_DIR/passdb" "$MATRIX" "$PAM_DIR/passdb" > "$PAM_DIR/triad"
cat > "$DEMO/triad.conf" <<CONF
; triad demo configuration, written by tools/run-demo.sh
[global]
root      = $DEMO/root
tls_cert  = tls/cert.pem
tls_key   = tls/key.pem
log       = stderr
log_level = info
workers   = 2
shutdown_timeout = 5s

[httpd]
listen     = 127.0.0.1:$HTTP_PORT [::1]:$HTTP_PORT
listen_tls = 127.0.0.1:$HTTPS_PORT [::1]:$HTTPS_PORT
docroot    = www
autoindex  = on
access_log = access.log

[ftpd]
listen        = 127.0.0.1:$FTP_PORT [::1]:$FTP_PORT
ftp_root      = www
anonymous     = read
pam_service   = triad
passive_ports = $PASV_PORTS
tls           = optional

[smtpd]
listen       = 127.0.0.1:$SMTP_PORT [::1]:$SMTP_PORT
hostname     = mx.example.org
domains      = example.org
maildir_root = mail
tls          = optional
pam_service  = triad

; Two sites: the Host (and over HTTPS the SNI name) picks one; see docs/sites.md.
[site main]
hosts        = 127.0.0.1 [::1]
docroot      = www
ftp_users    = demo
mail_domains = example.org

[site local]
hosts          = localhost
tls_cert       = tls/localhost.pem
tls_key        = tls/localhost.key
ftp_users      = local
mail_domains   = localhost.example
try_extensions = .html
error_pages    = 404=/404.html
CONF
# Only the daemons with logins need pam_wrapper preloaded. A sanitizer build
# (make run SANITIZE=1) wants the ASan runtime first in LD_PRELOAD, and there
# pam_wrapper must not dlopen libpam with RTLD_DEEPBIND, which ASan refuses
# (every login failed): pam_wrapper skips it when LD_PRELOAD names libasan.
# --detach: each daemon's log goes to DIR/<daemon>.log instead of the terminal.
start() { # daemon
	if [ "$1" = httpd ]; then
		"$BUILD/triad-$1" -c "$DEMO/triad.conf" &
	else
		asan=$(ldd "$BUILD/triad-$1" 2>/dev/null | awk '/libasan\.so/ { print $3; exit }')
		env LD_PRELOAD="${asan:+$asan }libpam_wrapper.so" PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$PAM_DIR" \
			"$BUILD/triad-$1" -c "$DEMO/triad.conf" &
	fi
}
pids=""
for d in httpd ftpd smtpd; do
	if [ "$MODE" = detach ]; then
		start $d >"$DEMO/$d.log" 2>&1
	else
		start $d
	fi
	pids="$pids $!"
done
banner() {
	echo "triad demo, two sites${1:-}:"
	echo "  main:  http://127.0.0.1:$HTTP_PORT/  https://127.0.0.1:$HTTPS_PORT/  ftp://demo:demo@127.0.0.1:$FTP_PORT/  mail postmaster@example.org"
	echo "  local: http://localhost:$HTTP_PORT/  https://localhost:$HTTPS_PORT/  ftp://local:local@127.0.0.1:$FTP_PORT/  mail info@localhost.example"
	echo "  smtp 127.0.0.1:$SMTP_PORT"
}

if [ "$MODE" = detach ]; then
	echo "$pids" >"$DEMO/demo.pids"
	echo "$PAM_DIR" >"$DEMO/pam.dir"
	# Ready when each daemon has logged "ready" (server.c, after its listeners
	# are open); one that exits or takes over 30 s fails the start.
	i=0
	for d in httpd ftpd smtpd; do
		while ! grep -qw ready "$DEMO/$d.log"; do
			dead=""
			for p in $pids; do running "$p" || dead=1; done
			if [ -n "$dead" ] || [ $i -ge 300 ]; then
				echo "run-demo: triad-$d did not start:" >&2
				tail -n 20 "$DEMO/$d.log" >&2
				"$0" --stop "$BUILD" || true
				exit 1
			fi
			sleep 0.1
			i=$((i + 1))
		done
	done
	banner " (tools/run-demo.sh --stop stops them; logs in $DEMO/*.log)"
	exit 0
fi
trap 'kill -TERM $pids 2>/dev/null; wait; rm -rf "$PAM_DIR"' INT TERM
banner " (Ctrl-C stops)"

wait
rm -rf "$PAM_DIR"
