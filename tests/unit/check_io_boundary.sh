#!/bin/sh
# tests/unit/check_io_boundary.sh BUILD: protocol code speaks only the conn API.
#
# httpd/, ftpd/ and smtpd/ reach a connection's bytes only through struct conn
# (triad/conn.h, common/conn_buf.c): never the buffer library, never the socket,
# never OpenSSL's I/O. So the transport under them can change without a daemon
# noticing (issue 10). Checked two ways:
#  - the sources: no #include of event2/buffer*.h or event2/bufferevent*.h, no
#    call of evbuffer_*/bufferevent_*, no conn_input()/conn_output() (private to
#    common/, common/conn_private.h);
#  - the compiled daemon code (BUILD/lib<daemon>.a and BUILD/obj/<daemon>/main.o):
#    no reference to a socket I/O or buffer-library symbol, whatever macro or
#    inline function produced it. read(2)/write(2) are allowed only in the objects
#    listed below, which use them on files (a descriptor there is never a socket).
# The nm check first proves on a small object that it can fail.
set -u
BUILD=${1:?usage: check_io_boundary.sh BUILD_DIR}
cd "$(dirname "$0")/../.." || exit 2
DIRS="httpd ftpd smtpd"
fail=0

# Not moved onto the byte API yet: may use the buffer library and
# conn_input/conn_output (never socket calls). Each entry ("dir/file: why")
# is a debt; there is none today.
NOT_YET_MOVED=""

# Objects that may call read/write, each on files only.
FILE_IO_OBJECTS="
smtpd/maildir.o: writes the spool file and the Maildir copies
ftpd/commit.o: writes the upload's temporary file (TYPE A conversion, copies)
httpd/fcache.o: reads the worker's inotify descriptor (file-change events)
"

FORBIDDEN='^(evbuffer_.*|bufferevent_.*|conn_input|conn_output|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|sendfile|sendfile64|splice|readv|writev|SSL_read.*|SSL_write.*|SSL_peek.*|SSL_sendfile)$'
FILE_ONLY='^(read|write|__read_chk)$'

# ---- sources
exempt_src=$(printf '%s\n' "$NOT_YET_MOVED" | sed -n 's/^\([^:]*\):.*/^\1\.c:/p')
not_exempt() {
	if [ -n "$exempt_src" ]; then
		printf '%s\n' "$exempt_src" >"${TMPDIR:-/tmp}/check_io_exempt.$$"
		grep -v -f "${TMPDIR:-/tmp}/check_io_exempt.$$"
		rm -f "${TMPDIR:-/tmp}/check_io_exempt.$$"
	else
		cat
	fi
}
# src_includes DIR...: includes of the buffer library's headers (or of
# common/'s private conn header, which declares conn_input/conn_output).
src_includes() {
	grep -rnE '#[[:space:]]*include[[:space:]]*[<"](event2/(buffer|bufferevent)|[./]*common/conn_private\.h|conn_private\.h)' "$@"
}
# src_calls DIR...: calls of the buffer library or of conn_input/conn_output.
src_calls() {
	grep -rnE '\b(evbuffer|bufferevent)_[a-z_]+[[:space:]]*\(|\bconn_(input|output)[[:space:]]*\(' "$@"
}
# The source checks must be able to fail too: a probe file with one of each.
mkdir -p "${TMPDIR:-/tmp}/check_io_src.$$/httpd"
cat >"${TMPDIR:-/tmp}/check_io_src.$$/httpd/probe.c" <<'PROBE'
#include "../common/conn_private.h"
#include <event2/buffer.h>
static size_t f(struct conn *c) { return evbuffer_get_length(conn_input(c)) + (conn_output (c) != 0); }
PROBE
got=$( (cd "${TMPDIR:-/tmp}/check_io_src.$$" && { src_includes httpd; src_calls httpd; }) | wc -l)
rm -rf "${TMPDIR:-/tmp}/check_io_src.$$"
if [ "$got" != 3 ]; then
	echo "check_io_boundary: the source check does not see what it must (got $got of 3 lines)"
	exit 2
fi

hits=$(src_includes $DIRS | not_exempt)
if [ -n "$hits" ]; then
	echo "protocol code includes the buffer library's headers or common/conn_private.h:"
	echo "$hits"
	fail=1
fi
hits=$(src_calls $DIRS | not_exempt)
if [ -n "$hits" ]; then
	echo "protocol code calls the buffer library or conn_input/conn_output:"
	echo "$hits"
	fail=1
fi

# ---- objects
# undefined_in FILE: "object symbol" for every undefined symbol of FILE.
undefined_in() {
	nm -A -u "$1" 2>/dev/null |
		sed -E 's/^([^:]*:)?([^:]+):[[:space:]]*U[[:space:]]+([^@[:space:]]+).*/\2 \3/'
}
# bad_symbols FILE DIR: the forbidden references of FILE (objects named DIR/x.o).
# One awk for all of them: a sanitizer build has thousands of undefined symbols.
bad_symbols() {
	allowed=$(printf '%s\n' "$FILE_IO_OBJECTS" | sed -n 's/^\([^:]*\):.*/\1/p' | tr '\n' ' ')
	notyet=$(printf '%s\n' "$NOT_YET_MOVED" | sed -n 's/^\([^:]*\):.*/\1.o/p' | tr '\n' ' ')
	undefined_in "$1" | awk -v dir="$2" -v forbidden="$FORBIDDEN" -v fileonly="$FILE_ONLY" \
		-v allowed=" $allowed" -v notyet=" $notyet" '
		{
			obj = $1
			sub(/.*\//, "", obj)
			name = dir "/" obj
			if (index(notyet, " " name " ") && $2 ~ /^(evbuffer_.*|conn_input|conn_output)$/)
				next
			if ($2 ~ forbidden)
				print name ": " $2
			else if ($2 ~ fileonly && index(allowed, " " name " ") == 0)
				print name ": " $2 " (read/write outside the file-writing objects)"
		}'
}

# The check must be able to fail: an object calling evbuffer_drain, send and
# write (not one of the file-writing objects).
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/probe.c" <<'PROBE'
struct evbuffer;
int evbuffer_drain(struct evbuffer *, unsigned long);
long send(int, const void *, unsigned long, int);
long write(int, const void *, unsigned long);
int probe(struct evbuffer *b)
{
	evbuffer_drain(b, 1);
	return (int)(send(0, "", 0, 0) + write(0, "", 0));
}
PROBE
${CC:-cc} -c -o "$tmp/probe.o" "$tmp/probe.c" || exit 2
got=$(bad_symbols "$tmp/probe.o" selftest | sort | tr '\n' '|')
want='selftest/probe.o: evbuffer_drain|selftest/probe.o: send|selftest/probe.o: write (read/write outside the file-writing objects)|'
if [ "$got" != "$want" ]; then
	echo "check_io_boundary: the symbol check does not see what it must (got: $got)"
	exit 2
fi
# ... and must let the file-writing objects write.
cp "$tmp/probe.o" "$tmp/maildir.o"
if [ -n "$(bad_symbols "$tmp/maildir.o" smtpd | grep -v 'evbuffer_drain$' | grep -v 'send$')" ]; then
	echo "check_io_boundary: the read/write allowance does not hold"
	exit 2
fi

for d in $DIRS; do
	for f in "$BUILD/lib$d.a" "$BUILD/obj/$d/main.o"; do
		if [ ! -f "$f" ]; then
			echo "check_io_boundary: $f is missing (build first)"
			exit 2
		fi
		hits=$(bad_symbols "$f" "$d")
		if [ -n "$hits" ]; then
			echo "protocol code references socket or buffer I/O directly:"
			echo "$hits"
			echo "(use the conn API, triad/conn.h; read/write on a descriptor that is never a"
			echo " socket: add the object to FILE_IO_OBJECTS in $0 with the reason)"
			fail=1
		fi
	done
done

notyet=$(printf '%s\n' "$NOT_YET_MOVED" | sed -n 's/^\([^:]*\):.*/\1/p' | tr '\n' ' ')
[ "$fail" = 0 ] && echo "check_io_boundary: httpd, ftpd and smtpd speak only the conn API" \
	"${notyet:+(not moved yet: $notyet)}"
exit "$fail"
