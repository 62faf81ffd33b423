#!/usr/bin/env bash
# Installs the dependencies, builds mapletree (release) and runs the demo.
# Usage: scripts/demo.sh [ranges [seconds]]   (passed to mapletree-demo)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

if [ -f build/build.ninja ]; then
	meson setup --reconfigure build --buildtype=release
else
	rm -rf build
	meson setup build --buildtype=release
fi
ninja -C build tools/mapletree-demo
exec build/tools/mapletree-demo "$@"
