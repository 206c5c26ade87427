# cluster.sh: sourced by integration tests.  Starts a real local cluster
# with `dfs cluster up` in a private temp dir and guarantees, through an
# EXIT trap, that every process it started is stopped by PID and the
# directory removed, even when the test fails.
#
#   . "$top_srcdir/tests/lib/cluster.sh"
#   cluster_start -n 3 -b 64K          # any `dfs cluster up` options
#   dfs put ...                        # dfs talks to the cluster
#   ok "what was checked" test ...     # record a check
#   finish                             # prints "N passed, M failed"

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
PYTHON=${PYTHON:-/usr/bin/python3}
export PYTHON
PASSED=0
FAILED=0
T=$(mktemp -d "${TMPDIR:-/tmp}/npdfs-test.XXXXXX")
C="$T/cluster"
# Python helpers (tests/lib/npdfs_wire.py) connect with the certificate
# of the cluster's client; cluster_start sets it again for a test's $C.
NPDFS_TEST_CONF="$C/client.conf"
export NPDFS_TEST_CONF

cluster_cleanup() {
	if [ -d "$C/run" ]; then
		"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1 || true
		# Anything still alive that we started: by recorded PID only.
		for f in "$C"/run/*.pid; do
			[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
		done
	fi
	rm -rf "$T"
}
trap cluster_cleanup EXIT
trap 'exit 1' INT TERM

dfs() {
	"$top_builddir/dfs" -c "$C/client.conf" "$@"
}

# cluster_start [OPTIONS]: dfs cluster up on $C.  Replicas may be deleted
# at once after start-up (namenode.delete_grace=0), which the tests of
# other things expect; identity.sh tests the grace with its own setting.
cluster_start() {
	# Python helpers (tests/lib/npdfs_wire.py) connect with the
	# certificate of the cluster's client (a test may start several).
	NPDFS_TEST_CONF="$C/client.conf"
	export NPDFS_TEST_CONF
	if ! "$top_builddir/dfs" cluster up "$C" -o namenode.delete_grace=0 \
	    "$@" >"$T/up.log" 2>&1; then
		echo "not ok - cluster up failed:"
		cat "$T/up.log"
		tail -n 20 "$C"/logs/*.log 2>/dev/null
		exit 1
	fi
	# NPDFS_TEST_LOWLEVEL=true|false: the mounts of the test use that
	# mount.lowlevel (their configurations are the cluster's).
	if [ -n "${NPDFS_TEST_LOWLEVEL:-}" ]; then
		for f in "$C/client.conf" "$C/host.conf"; do
			[ -f "$f" ] && printf '\n[mount]\nlowlevel = %s\n' \
			    "$NPDFS_TEST_LOWLEVEL" >>"$f"
		done
	fi
}

# wait_for SECONDS COMMAND...: poll once a second until the command
# succeeds; on timeout, run it once more to show why.
wait_for() {
	limit=$1
	shift
	w0=$(date +%s)
	while ! "$@" >/dev/null 2>&1; do
		if [ $(($(date +%s) - w0)) -ge "$limit" ]; then
			"$@" 2>&1 | head -n 10
			return 1
		fi
		sleep 1
	done
}

# slow SECONDS: copy stdin to stdout 1 MiB at a time, pausing SECONDS
# after each, so a read lasts long enough to stop or kill a node in the
# middle of it.
slow() {
	"$PYTHON" -c 'import sys, time
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = i.read(1 << 20)
    if not b:
        break
    o.write(b)
    time.sleep(float(sys.argv[1]))' "$1"
}

# sanitized: this build runs under a sanitizer (configure --enable-asan
# or --enable-ubsan), whose time and memory are not a plain build's.
sanitized() {
	grep -q -e '--enable-asan' -e '--enable-ubsan' \
	    "$top_builddir/config.status" 2>/dev/null
}

# ok DESCRIPTION COMMAND...: run a check and record the result.
ok() {
	desc=$1
	shift
	if "$@"; then
		PASSED=$((PASSED + 1))
		echo "ok - $desc"
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $desc"
	fi
}

# fails_with PATTERN COMMAND...: the command exits 1 and says PATTERN.
fails_with() {
	pat=$1
	shift
	out=$("$@" 2>&1) && st=0 || st=$?
	if [ "$st" -ne 1 ]; then
		echo "   exit status $st, wanted 1: $out"
		return 1
	fi
	if ! printf '%s' "$out" | grep -qi -- "$pat"; then
		echo "   message '$out' does not say '$pat'"
		return 1
	fi
	return 0
}

finish() {
	if [ "$FAILED" -ne 0 ] && [ -d "$C/logs" ]; then
		for f in "$C"/logs/*.log; do
			echo "--- $f"
			tail -n 15 "$f"
		done
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
