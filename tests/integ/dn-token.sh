#!/bin/sh
# dn-token.sh: two real data nodes, no real namenode: a fake one
# (dn_keys.py) hands them the token keys of a file this script writes, as
# a namenode does over its authenticated connection.  dn_token.py then
# checks block tokens (valid, forged, expired, wrong block, generation or
# mode), chunk CRCs (a bad one is refused before anything is stored),
# hostile frames, reads, and a two-node write pipeline.  Afterwards the
# daemons must stop cleanly on SIGTERM with logs free of sanitizer reports.
#
# Uses $top_builddir/dfs-datanode (or $DFS_DATANODE) and $PYTHON.
DNFAKE=dn-token . "${top_srcdir:-.}/tests/lib/dnfake.sh"

# Certificates: each data node's, two users' (alice uid 1001, bob 1002),
# a host's speaking for uids 1000-1999 (and the superuser's and the fake
# namenode's); b's also stands in for the next nodes of a pipeline.
dnfake_start a:datanode b:datanode alice:user:1001 bob:user:1002 \
    mnt:host:1000-1999
NPDFS_TEST_DN_CONF=$T/pki/b.conf
export NPDFS_TEST_DN_CONF

# start NAME: run a data node in the background, wait for its port file.
start() {
	# shellcheck disable=SC2046
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} \
	    "$DN" $(pki_opts "$T/pki" "$1") -o datanode.listen=127.0.0.1:0 \
	    -o "datanode.data_dir=$T/$1" \
	    -o "namenode.address=$NNADDR" \
	    -o client.timeout=5s \
	    --port-file "$T/$1.port" 2>"$T/$1.log" &
	eval "PID_$1=$!"
	PIDS="$PIDS $!"
	i=0
	while [ ! -s "$T/$1.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "not ok - data node $1 did not start:"
			cat "$T/$1.log"
			exit 1
		fi
		sleep 0.1
	done
	# Tokens are good only once the node holds the namenode's keys.
	i=0
	while ! grep -q "registered with namenode" "$T/$1.log"; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "not ok - data node $1 did not register:"
			cat "$T/$1.log"
			exit 1
		fi
		sleep 0.1
	done
}

start a
start b
A=$(cat "$T/a.port")
B=$(cat "$T/b.port")
ok "data node A listens on the port it wrote ($A)" \
    grep -q "listening on $A" "$T/a.log"
H4='[0-9a-f]{4}'
ok "data node A made a random (version 4) node uuid" \
    grep -Eqx "$H4$H4-$H4-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-$H4$H4$H4" \
    "$T/a/node.uuid"
ok "nodes A and B have different uuids" \
    test "$(cat "$T/a/node.uuid")" != "$(cat "$T/b/node.uuid")"

"$PYTHON" "$top_srcdir/tests/integ/dn_token.py" --keys "$T/keys" \
    --alice "$T/pki/alice.conf" --bob "$T/pki/bob.conf" \
    --host "$T/pki/mnt.conf" \
    --node-a "$A" --dir-a "$T/a" --node-b "$B" --dir-b "$T/b" \
    --closed "$CLOSED" >"$T/py.out" 2>&1
py=$?
grep -E '^(not )?ok - ' "$T/py.out"
PY_PASSED=$(grep -c '^ok - ' "$T/py.out")
PY_FAILED=$(grep -c '^not ok - ' "$T/py.out")
PASSED=$((PASSED + PY_PASSED))
FAILED=$((FAILED + PY_FAILED))
if [ $py -ne 0 ] && [ "$PY_FAILED" -eq 0 ]; then
	echo "not ok - dn_token.py exited $py:"
	cat "$T/py.out"
	FAILED=$((FAILED + 1))
fi

alive() { kill -0 "$1" 2>/dev/null; }
# No token key on any disk: nothing under the data directories holds the
# key's bytes, raw or in hex (the nodes were started with no secret file).
nokey() {
	"$PYTHON" - "$T/keys" "$T/a" "$T/b" <<'EOF'
import os, sys
key = bytes.fromhex(open(sys.argv[1]).read().split()[2])
pats = (key, key.hex().encode(), key.hex().upper().encode())
for top in sys.argv[2:]:
    for d, _, fs in os.walk(top):
        for f in fs:
            p = os.path.join(d, f)
            if os.path.isfile(p):
                data = open(p, "rb").read()
                if any(x in data for x in pats):
                    sys.exit("key found in " + p)
EOF
}
ok "no token key in the data directories" nokey
ok "data node A survived everything" alive "$PID_a"
ok "data node B survived everything" alive "$PID_b"

# A restart finds the blocks written before it and cleans tmp/.
NBLK=$(ls "$T/a/current" | grep -c '^blk_[0-9]*_[0-9]*$')
UUID=$(cat "$T/a/node.uuid")
kill -TERM "$PID_a"
wait "$PID_a"
st=$?
ok "data node A exits 0 on SIGTERM" test "$st" -eq 0
: >"$T/tmp-litter"
cp "$T/tmp-litter" "$T/a/tmp/blk_9_9.1"
head -c 100 /dev/urandom >"$T/a/current/blk_77_1"
mv "$T/a.log" "$T/a.log.1"
rm -f "$T/a.port"
start a
A=$(cat "$T/a.port")
# It also counts the data file without a sidecar, which it keeps, flagged
# corrupt: a node never deletes a replica on its own because it looks bad.
ok "restart finds the $NBLK blocks it holds, and the damaged one" \
    grep -q "info: $((NBLK + 1)) blocks\\?, " "$T/a.log"
ok "restart keeps a data file without a sidecar, flagged, not deleted" \
    sh -c "grep -q 'replica .*blk_77_1 does not check (no sidecar): kept' \
    '$T/a.log' && test -e '$T/a/current/blk_77_1'"
ok "restart empties tmp/" test -z "$(ls "$T/a/tmp")"
ok "restart keeps the node uuid" test "$(cat "$T/a/node.uuid")" = "$UUID"

for n in a b; do
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	wait "$pid"
	st=$?
	ok "data node $n exits 0 on SIGTERM" test "$st" -eq 0
done
PIDS=$NNPID	# the fake namenode goes with the cleanup
dnfake_finish "$T"/a.log.1 "$T"/a.log "$T"/b.log
