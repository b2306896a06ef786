#!/bin/sh
# `make valgrind`, first step: the openat2 shim (tests/valgrind/openat2_shim.c)
# must answer every case of tests/valgrind/shim_check.c as the kernel does:
# the same program runs over the same scratch tree without and with the shim
# preloaded, and the two outputs must be identical. Usage: CHECK SHIM.
set -eu
check=$1
shim=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/tree"
"$check" "$dir/tree" >"$dir/kernel"
LD_PRELOAD=$shim "$check" "$dir/tree" >"$dir/shim"
if ! diff -u "$dir/kernel" "$dir/shim"; then
	echo "valgrind-shim-check: the openat2 shim differs from the kernel (above: - kernel, + shim)" >&2
	exit 1
fi
echo "valgrind-shim-check: the shim answers $(wc -l <"$dir/kernel") openat2 cases as the kernel does"
