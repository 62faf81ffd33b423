#!/usr/bin/env bash
# Build and install the library into a scratch prefix, then build and run
# the examples out of tree with nothing but what pkg-config says: the way a
# user consumes it. Ends with "N passed, N failed".
#
# Usage: scripts/install_check.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix
build=$scratch/build
pass=0 fail=0

check() {	# check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >"$scratch/out" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "install_check: FAIL: $what" >&2
		tail -n 20 "$scratch/out" >&2
	fi
}

check "meson setup --prefix" meson setup "$build" "$root" --prefix "$prefix"
check "build" ninja -C "$build"
check "meson install" meson install -C "$build" --no-rebuild
pcdir=$(dirname "$(find "$prefix" -name mapletree.pc | head -n 1)")
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir mapletree)
export PKG_CONFIG_PATH=$pcdir

for f in include/mapletree/maple_tree.h include/mapletree/node_alloc.h \
	 include/mapletree/gpuvm.h share/man/man3/mtree_load.3 share/man/man7/mapletree.7; do
	check "installed $f" test -s "$prefix/$f"
done
check "shared library" test -e "$libdir/libmapletree.so"
check "static library" test -e "$libdir/libmapletree.a"
check "VA manager shared library" test -e "$libdir/libmapletree-gpuvm.so"
check "VA manager static library" test -e "$libdir/libmapletree-gpuvm.a"

for ex in basic prealloc alloc_tree regions; do
	# shellcheck disable=SC2046  # pkg-config's words are meant to split
	check "build examples/$ex.c out of tree" \
		cc -std=gnu11 -Wall -Wextra -Werror -o "$scratch/$ex" \
		"$root/examples/$ex.c" $(pkg-config --cflags --libs mapletree)
	check "run $ex against the installed library" \
		env LD_LIBRARY_PATH="$libdir" "$scratch/$ex"
done
# shellcheck disable=SC2046
check "link examples/basic.c statically against libmapletree.a" \
	cc -std=gnu11 -o "$scratch/basic_static" "$root/examples/basic.c" \
	$(pkg-config --cflags mapletree) "$libdir/libmapletree.a" \
	$(pkg-config --libs-only-other --libs-only-L --static mapletree | sed 's/-lmapletree//') \
	-lurcu-memb -lurcu-common -lpthread
check "run the static build" "$scratch/basic_static"

for ex in gpuvm_ops bind_queue; do
	# shellcheck disable=SC2046
	check "build examples/$ex.c out of tree" \
		cc -std=gnu11 -Wall -Wextra -Werror -o "$scratch/$ex" \
		"$root/examples/$ex.c" $(pkg-config --cflags --libs mapletree-gpuvm)
	check "run $ex against the installed libraries" \
		env LD_LIBRARY_PATH="$libdir" "$scratch/$ex"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
