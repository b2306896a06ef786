#!/bin/sh
# Static analysis over the tree (`make lint`, run by .ci/run): cppcheck, then
# clang-tidy with the committed .clang-tidy. Both must be silent; a finding
# fails the run. Suppressions live in .clang-tidy (checks left out, each with
# its reason), tools/cppcheck.supp, or inline NOLINT comments that say why.
# `deps.sh lint` installs cppcheck and clang-tidy.
set -u
cd "$(dirname "$0")/.."
SRC=$(ls common/*.c httpd/*.c ftpd/*.c smtpd/*.c)
CFLAGS="-std=c17 -D_GNU_SOURCE -Iinclude $(pkg-config --cflags libevent openssl libmagic inih pam 2>/dev/null) -DTRIAD_VERSION=\"lint\""
JOBS=${LINT_JOBS:-2}
rc=0

echo "== cppcheck"
# shellcheck disable=SC2086
out=$(cppcheck --std=c11 --enable=warning,portability,performance --inline-suppr --quiet \
	--error-exitcode=0 -D_GNU_SOURCE -DTRIAD_VERSION='"lint"' -Iinclude \
	--suppressions-list=tools/cppcheck.supp -j"$JOBS" \
	--template='{file}:{line}: {severity}: {id}: {message}' $SRC 2>&1)
if [ -n "$out" ]; then
	echo "$out"
	rc=1
fi

echo "== clang-tidy"
# shellcheck disable=SC2086
out=$(printf '%s\n' $SRC | xargs -P"$JOBS" -I{} clang-tidy --quiet {} -- $CFLAGS 2>&1 |
	grep -E '^[^ ].*: (error|warning): ' | sort -u)
if [ -n "$out" ]; then
	echo "$out"
	rc=1
fi
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
