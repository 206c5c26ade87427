#!/bin/sh
# nn-hostile.sh: dfs-namenode against hostile frames (truncated, forged
# headers, bad payloads, random garbage), its namespace operations and
# their errors through the raw protocol, its block map through fake data
# nodes, and its namespace across a clean stop and a kill -9.  The checks
# themselves are in nn_hostile.py; this script starts and stops the daemon
# (by PID, in a private temp dir) and looks for sanitizer reports in its
# log.
set -u
top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
PYTHON=${PYTHON:-/usr/bin/python3}
export top_srcdir
NN="$top_builddir/dfs-namenode"
PY="$top_srcdir/tests/integ/nn_hostile.py"

T=$(mktemp -d "${TMPDIR:-/tmp}/nn-hostile.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

: >"$T/results"
result() {	# result ok|not-ok DESCRIPTION
	if [ "$1" = ok ]; then
		echo "ok - $2" | tee -a "$T/results"
	else
		echo "not ok - $2" | tee -a "$T/results"
	fi
}

umask 077
. "$top_srcdir/tests/lib/pki.sh"
pki_make "$T/pki" nn:namenode dn:datanode root:superuser || exit 1
NPDFS_TEST_CONF=$T/pki/root.conf
NPDFS_TEST_DN_CONF=$T/pki/dn.conf
export NPDFS_TEST_CONF NPDFS_TEST_DN_CONF

# start_nn LOGNAME: start the namenode on a free port; sets pid and ADDR.
start_nn() {
	rm -f "$T/port"
	# shellcheck disable=SC2046
	"$NN" $(pki_opts "$T/pki" nn) \
	    -o namenode.listen=127.0.0.1:0 -o namenode.meta_dir="$T/meta" \
	    -o namenode.heartbeat=1s -o namenode.dead_timeout=4s \
	    -o cluster.replication=2 -o namenode.safemode_timeout=0 \
	    -o namenode.delete_grace=0 \
	    --port-file "$T/port" -d 2>"$T/$1.log" &
	pid=$!
	i=0
	while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -s "$T/port" ]; then
		result not-ok "namenode starts ($1)"
		cat "$T/$1.log"
		pid=
		return 1
	fi
	ADDR=$(cat "$T/port")
	result ok "namenode starts on a free port ($1: $ADDR)"
}

# sanitizers LOGNAME: nothing reported by ASan, LSan or UBSan.
sanitizers() {
	if grep -q 'Sanitizer\|runtime error:' "$T/$1.log"; then
		result not-ok "no sanitizer reports in the $1 log"
		grep -A 30 'Sanitizer\|runtime error:' "$T/$1.log" | head -60
	else
		result ok "no sanitizer reports in the $1 log"
	fi
}

run_py() {
	PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$PY" "$@" | tee -a "$T/results"
}

if "$NN" -o namenode.meta_dir="$T/meta" \
    --format >"$T/format.out" 2>"$T/format.log" &&
    grep -q '^cluster id ' "$T/format.out"; then
	result ok "--format makes a namespace and prints its cluster id"
else
	result not-ok "--format makes a namespace and prints its cluster id"
	cat "$T/format.log"
fi

if start_nn first; then
	run_py main "$ADDR"
	if kill -0 "$pid" 2>/dev/null; then
		result ok "the namenode survived everything"
	else
		result not-ok "the namenode survived everything"
		tail -40 "$T/first.log"
	fi
	kill -TERM "$pid"
	wait "$pid"
	st=$?
	pid=
	if [ "$st" -eq 0 ]; then
		result ok "SIGTERM stops it cleanly (exit 0)"
	else
		result not-ok "SIGTERM stops it cleanly (exit $st)"
	fi
	sanitizers first
fi

if start_nn second; then
	run_py persist "$ADDR" 1
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	pid=
	sanitizers second
fi

if start_nn third; then
	run_py persist "$ADDR" 2
	kill -TERM "$pid"
	wait "$pid"
	pid=
	sanitizers third
fi

passed=$(grep -c '^ok - ' "$T/results")
failed=$(grep -c '^not ok - ' "$T/results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
