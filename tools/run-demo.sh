#!/bin/sh
# `make run`: starts triad-httpd, triad-ftpd and triad-smtpd in the foreground
# on a demo configuration under build/demo/: HTTP 8080, HTTPS 8443, FTP 2121
# (FTPS via AUTH TLS), SMTP 2525, a self-signed certificate and two sites
# (docs/sites.md): "main" for the host 127.0.0.1 (demo/www, FTP login demo,
# mail for postmaster@example.org) and "local" for localhost (demo/localhost,
# its own certificate, FTP login local, mail for info@localhost.example).
# Logins use pam_wrapper + pam_matrix (demo/demo, local/local), so no
# system account or /etc/pam.d change is needed. Ctrl-C stops all three.
set -e
BUILD=${1:-build}
DEMO=$(pwd)/build/demo
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
listen     = 127.0.0.1:8080 [::1]:8080
listen_tls = 127.0.0.1:8443 [::1]:8443
docroot    = www
autoindex  = on
access_log = access.log

[ftpd]
listen        = 127.0.0.1:2121 [::1]:2121
ftp_root      = www
anonymous     = read
pam_service   = triad
passive_ports = 50000-50100
tls           = optional

[smtpd]
listen       = 127.0.0.1:2525 [::1]:2525
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
# Only the daemons with logins need pam_wrapper preloaded (ASan builds want
# their runtime first, hence verify_asan_link_order=0 for those).
pids=""
for d in httpd ftpd smtpd; do
	if [ "$d" = httpd ]; then
		"$BUILD/triad-$d" -c "$DEMO/triad.conf" &
	else
		env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAM_DIR" \
			ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
			"$BUILD/triad-$d" -c "$DEMO/triad.conf" &
	fi
	pids="$pids $!"
done
trap 'kill -TERM $pids 2>/dev/null; wait; rm -rf "$PAM_DIR"' INT TERM
echo "triad demo, two sites (Ctrl-C stops):"
echo "  main:  http://127.0.0.1:8080/  https://127.0.0.1:8443/  ftp://demo:demo@127.0.0.1:2121/  mail postmaster@example.org"
echo "  local: http://localhost:8080/  https://localhost:8443/  ftp://local:local@127.0.0.1:2121/  mail info@localhost.example"
echo "  smtp 127.0.0.1:2525"

wait
rm -rf "$PAM_DIR"
