#!/usr/bin/env bash
# run-fuzzers.sh BUILD_DIR SECONDS: runs every libFuzzer target built in BUILD_DIR (files named
# fuzz_*) for SECONDS each, seeded with tests/fuzz/corpus/<name>. New inputs go to a scratch
# directory, never into the committed corpus. Exits non-zero on the first crash, keeping its input.
set -euo pipefail
build=${1:?build dir}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
found=0
for bin in $(find "$build" -maxdepth 4 -type f -name 'fuzz_*' -perm -u+x | sort); do
	name=$(basename "$bin")
	found=1
	scratch=$(mktemp -d)
	seed="$root/tests/fuzz/corpus/$name"
	mkdir -p "$build/fuzz-artifacts"
	echo "fuzz: $name for ${seconds}s"
	"$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" "$scratch" $( [ -d "$seed" ] && echo "$seed" ) \
		2>"$build/fuzz-artifacts/$name.log" || {
		echo "fuzz: $name FAILED, see $build/fuzz-artifacts/$name.log" >&2
		tail -40 "$build/fuzz-artifacts/$name.log" >&2
		rm -rf "$scratch"
		exit 1
	}
	grep -E '^(Done|#[0-9]+ +DONE)' "$build/fuzz-artifacts/$name.log" | tail -1 || true
	rm -rf "$scratch"
done
[ $found = 1 ] || echo "fuzz: no targets built"
