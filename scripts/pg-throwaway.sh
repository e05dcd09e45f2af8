#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL server for tests, from Debian's postgresql package.
#   pg-throwaway.sh start DIR   initdb + start; prints the URL (also written to DIR/url)
#   pg-throwaway.sh stop DIR    stops the server and deletes its data
#   pg-throwaway.sh url DIR     prints the URL without starting anything
# The server listens on no TCP port at all, only on a Unix socket in DIR/run (a symlink to a
# private directory under /tmp, which keeps the socket path short and lets the "postgres" user
# own it when we run as root), so the URL is fixed for a given DIR and parallel build trees never
# collide. Database superuser "tessera", trust authentication, fsync off: test data only.
set -euo pipefail

PORT=5432
DBUSER=tessera

usage() {
	echo "usage: $0 start|stop|url DIR" >&2
	exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$dir" in
/*) ;;
*) dir="$PWD/$dir" ;;
esac

pg_bin() {
	if [ -n "${PGBIN:-}" ]; then
		echo "$PGBIN"
	elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
		echo /usr/lib/postgresql/15/bin
	else
		# Another Debian major version: take the newest installed.
		ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
	fi
}

# PostgreSQL refuses to run as root: as root, run its programs as the "postgres" system user.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() {
	echo "postgresql:///postgres?host=$dir/run&port=$PORT&user=$DBUSER"
}

stop() {
	[ -L "$dir/run" ] || return 0
	local rt
	rt=$(readlink "$dir/run")
	case "$rt" in
	*/tessera-pg.*) ;;
	*)
		echo "pg-throwaway: $dir/run points at $rt, not a throwaway server: leaving it" >&2
		return 1
		;;
	esac
	if [ -f "$rt/data/postmaster.pid" ]; then
		as_owner "$BIN/pg_ctl" -D "$rt/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	fi
	rm -rf "$rt"
	rm -f "$dir/run" "$dir/url"
}

start() {
	mkdir -p "$dir"
	local sock="$dir/run/.s.PGSQL.$PORT"
	if [ ${#sock} -gt 100 ]; then
		echo "pg-throwaway: socket path $sock is too long for a Unix socket (max ~100)" >&2
		exit 1
	fi
	stop # a server left behind by an interrupted run
	local rt
	rt=$(mktemp -d "${TMPDIR:-/tmp}/tessera-pg.XXXXXX")
	chmod 755 "$rt"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || {
			echo "pg-throwaway: running as root needs the 'postgres' user (Debian's postgresql package)" >&2
			exit 1
		}
		chown postgres:postgres "$rt"
	fi
	ln -sfn "$rt" "$dir/run"
	if ! as_owner "$BIN/initdb" -D "$rt/data" -U "$DBUSER" --auth=trust --encoding=UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	cat >>"$rt/data/postgresql.conf" <<CONF
# pg-throwaway.sh: Unix socket only, no durability (test data).
listen_addresses = ''
unix_socket_directories = '$rt'
port = $PORT
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 100
log_min_messages = warning
CONF
	if ! as_owner "$BIN/pg_ctl" -D "$rt/data" -l "$rt/server.log" -w -t 60 start >/dev/null; then
		cat "$rt/server.log" >&2 || true
		exit 1
	fi
	url | tee "$dir/url"
}

BIN=$(pg_bin)
case "$cmd" in
start)
	[ -n "$BIN" ] && [ -x "$BIN/initdb" ] || {
		echo "pg-throwaway: PostgreSQL server binaries not found: apt-get install postgresql" >&2
		exit 1
	}
	start
	;;
stop) stop ;;
url) url ;;
*) usage ;;
esac
