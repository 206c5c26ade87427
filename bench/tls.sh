#!/bin/sh
# bench/tls.sh BUILD_DIR [N]: what mutual TLS costs a short command.
#
# Every npdfs connection begins with a full TLS 1.3 handshake (no session
# resumption: nothing resumable is stored anywhere).  This measures, on a
# local cluster, a whole `dfs stat /` (process start, configuration,
# certificate and key loading, one handshake with the namenode, one
# request), then the handshake alone: N TLS connections with HELLO
# against N bare TCP connects to the same port, from one Python process
# using the same OpenSSL.  The ratio says whether resumption would pay.
set -eu
B=$(cd "${1:?usage: bench/tls.sh BUILD_DIR [N]}" && pwd)
N=${2:-200}
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
t=$(mktemp -d "${TMPDIR:-/tmp}/npdfs-bench-tls.XXXXXX")
trap '"$B/dfs" cluster down "$t/c" >/dev/null 2>&1 || true; rm -rf "$t"' EXIT
. "$top/bench/lib.sh"

"$B/dfs" cluster up "$t/c" -n 1 >/dev/null
export NPDFS_CONF="$t/c/client.conf"
"$B/dfs" stat / >/dev/null

s=$(now)
i=0
while [ $i -lt "$N" ]; do
	"$B/dfs" stat / >/dev/null
	i=$((i + 1))
done
e=$(now)
echo "$N $s $e" | awk '{ printf "dfs stat /: %.2f ms per command\n", \
    ($3 - $2) * 1000 / $1 }'

NPDFS_TEST_CONF="$t/c/client.conf" "$PY" - "$N" <<EOF
import os, socket, sys, time
sys.path.insert(0, "$top/tests/lib")
import npdfs_wire as w
n = int(sys.argv[1])
conf = w.read_conf("$t/c/client.conf")
host, port = conf["namenode.address"].rsplit(":", 1)
t0 = time.perf_counter()
for _ in range(n):
    socket.create_connection((host, int(port))).close()
t1 = time.perf_counter()
for _ in range(n):
    w.Conn(host, int(port)).close()
t2 = time.perf_counter()
tcp, tls = (t1 - t0) * 1000 / n, (t2 - t1) * 1000 / n
print("TCP connect: %.3f ms; TLS 1.3 handshake + HELLO: %.3f ms "
      "(handshake about %.3f ms)" % (tcp, tls, tls - tcp))
EOF
