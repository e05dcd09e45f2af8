#!/usr/bin/env bash
# Installs the Debian packages Tessera needs to build, test and benchmark, and only those that are
# missing. Called by the Makefile before every build, so a fresh Debian 12 machine needs nothing else.
set -euo pipefail

# Build toolchain and libraries (one line per outside library, see docs/ARCHITECTURE.md).
PKGS_BUILD="build-essential cmake pkg-config
  libisal-dev libssl-dev openssl libsodium-dev
  libprotobuf-c-dev protobuf-c-compiler
  libsqlite3-dev libpq-dev libmicrohttpd-dev
  libcmocka-dev"
# Test oracles and fuzzing: zfec is an independent RS implementation, argon2 (the reference CLI)
# cross-checks our libsodium argon2id, clang brings libFuzzer.
PKGS_TEST="python3 python3-zfec argon2 clang libclang-rt-14-dev"
# A throwaway PostgreSQL 15 server for the database tests (scripts/pg-throwaway.sh, docs/db.md).
PKGS_TEST="$PKGS_TEST postgresql"
# S3 clients that drive the gateway in its integration tests and benchmark.
PKGS_TEST="$PKGS_TEST awscli s3cmd rclone python3-boto3"

want="$PKGS_BUILD $PKGS_TEST"
if [ "${1:-}" = "--extra" ]; then
	shift
	want="$want $*"
fi

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing missing Debian packages:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first attempt fails.
# shellcheck disable=SC2086
$SUDO apt-get install -y --no-install-recommends $missing ||
	{ $SUDO apt-get update && $SUDO apt-get install -y --no-install-recommends $missing; }
