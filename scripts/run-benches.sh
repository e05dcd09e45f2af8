#!/usr/bin/env bash
# run-benches.sh BUILD_DIR: runs every benchmark program (bench_*) built in BUILD_DIR in turn.
set -euo pipefail
build=${1:?build dir}
for bin in $(find "$build/bench" -maxdepth 3 -type f -name 'bench_*' -perm -u+x | sort); do
	echo "=== $(basename "$bin")"
	"$bin"
done
