# dnfake.sh: sourced by tests that run real data nodes beside a fake
# namenode (tests/integ/dn_keys.py, which hands them the token key in
# $T/keys as a namenode does over its authenticated connection).  Sets up
# $T (removed at exit, with every PID in $PIDS killed), ok() and the
# PASSED/FAILED counts, CLOSED (a port nothing listens on), $DN (the data
# node program) and, with dnfake_start, the certificates and the fake
# namenode (its address in NNADDR, its PID in NNPID).
#
#   DNFAKE=name . "$top_srcdir/tests/lib/dnfake.sh"
#   dnfake_start a:datanode ...        # certificates besides root and nn
set -u
top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
PYTHON=${PYTHON:-python3}
DN=${DFS_DATANODE:-$top_builddir/dfs-datanode}
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

T=$(mktemp -d "${TMPDIR:-/tmp}/npdfs-${DNFAKE:-dn}.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

PASSED=0
FAILED=0
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

# A port nothing listens on: bind one, note it, let it go.
CLOSED=127.0.0.1:$("$PYTHON" -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

. "$top_srcdir/tests/lib/pki.sh"

# dnfake_start CERT...: certificates in $T/pki (CERTs as pki_make takes
# them, plus root:superuser for the Python checks and nn:namenode for the
# fake namenode), one token key valid for an hour, and the fake namenode
# handing it out.
dnfake_start() {
	pki_make "$T/pki" "$@" root:superuser nn:namenode || exit 1
	NPDFS_TEST_CONF=$T/pki/root.conf
	NPDFS_TEST_NN_CONF=$T/pki/nn.conf
	export NPDFS_TEST_CONF NPDFS_TEST_NN_CONF
	"$PYTHON" -c 'import os, time, random
print(random.randrange(1, 1 << 32), int(time.time()) + 3600,
      os.urandom(32).hex())' >"$T/keys"
	"$PYTHON" "$top_srcdir/tests/integ/dn_keys.py" "$T/nn.port" \
	    "$T/keys" 2>"$T/nn.log" &
	NNPID=$!
	PIDS="$PIDS $NNPID"
	i=0
	while [ ! -s "$T/nn.port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	NNADDR=$(cat "$T/nn.port")
}

# dnfake_finish LOG...: no sanitizer report in any LOG; on a failure the
# tails of every log in $T; the summary; exit status 0 only when nothing
# failed.
dnfake_finish() {
	for f in "$@"; do
		ok "no sanitizer report in $(basename "$f")" \
		    sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|\
runtime error|ThreadSanitizer' '$f'"
	done
	if [ "$FAILED" -ne 0 ]; then
		for f in "$T"/*.log*; do
			echo "--- $f"
			tail -n 30 "$f"
		done
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
