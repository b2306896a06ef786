#!/bin/sh
# Installs the Debian packages that building, running and testing triad need.
# As root it runs apt-get when something is missing; otherwise it prints the line.
# `deps.sh fuzz` also wants clang, its libFuzzer/sanitizer runtimes and
# llvm-symbolizer (for `make fuzz`, which `make test` never needs);
# `deps.sh lint` cppcheck and clang-tidy (`make lint`); `deps.sh soak` valgrind and gdb
# (`make soak` calls malloc_trim in the daemons through gdb).
# `deps.sh deb` also wants what `make deb` and `make test-deb` use: debhelper,
# lintian, logrotate, and the build dependencies of debian/control.
set -e
PKGS="build-essential pkg-config libevent-dev libssl-dev libmagic-dev libinih-dev
libpam0g-dev libseccomp-dev libcmocka-dev libpam-wrapper python3 python3-pytest curl lftp swaks
openssl procps mandoc systemd pebble certbot python3-seccomp haproxy php8.2-fpm python3-gunicorn"
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang libclang-rt-dev llvm"
[ "${1:-}" = lint ] && PKGS="$PKGS cppcheck clang-tidy"
[ "${1:-}" = soak ] && PKGS="$PKGS valgrind gdb"
[ "${1:-}" = deb ] && PKGS="$PKGS debhelper dpkg-dev lintian logrotate pkgconf"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends $missing || {
		apt-get update && apt-get install -y --no-install-recommends $missing
	}
else
	echo "deps: missing packages; run as root:"
	echo "  apt-get install -y$missing"
	exit 1
fi
