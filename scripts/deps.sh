#!/usr/bin/env bash
# Installs the Debian packages mapletree needs to build, test and benchmark.
# Idempotent: when everything is already installed it does not touch apt.
# Works as root (CI, fresh Debian 12) or as a user with sudo.
set -euo pipefail

packages=(
	build-essential    # gcc, make, libc headers
	meson
	ninja-build
	pkg-config
	liburcu-dev        # userspace RCU (memb flavour by default)
	clang              # the sanitizer builds
	libclang-rt-14-dev # clang's ASan/UBSan/TSan runtimes on bookworm
	valgrind
	libbsd-dev         # benchmark baselines
	libjudy-dev        # benchmark baseline (Judy arrays)
	gnuplot-nox        # mapletree-bench --plot (run as a program, not linked)
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$pkg")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "deps: done"
