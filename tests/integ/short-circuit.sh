#!/bin/sh
# short-circuit.sh: short-circuit local reads on a real 3-node cluster
# (replication 2, 256 KiB blocks).  A client on the data nodes' machine
# gets each replica's files from its node's Unix socket and reads them
# itself: `dfs get`, `dfs cat` and dfs-mount return the bytes written
# (cmp, np.load), every block read so and none over TCP (the nodes log
# each TCP READ and each LOCAL_OPEN at debug level), and with
# client.short_circuit=false none read so.  A flipped byte in a replica is
# read around and reported as for TCP reads; a node killed (-9) mid-read
# does not stop a reader; tokens and hostile frames on the socket are
# checked by short_circuit.py.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse

M="$C/mnt"
sc_cleanup() {
	if grep -q " $M fuse" /proc/mounts 2>/dev/null; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
	fi
	cluster_cleanup
}
trap sc_cleanup EXIT

# tcp_reads: TCP READs the data nodes served so far.
tcp_reads() { cat "$C"/logs/datanode*.log | grep -c "debug: READ block"; }
# local_opens: replicas the data nodes handed out on their local sockets.
local_opens() { cat "$C"/logs/datanode*.log | grep -c "debug: LOCAL_OPEN"; }
# blocks PATH: how many blocks the file has.
blocks() { dfs fsck "$1" --blocks | grep -c '^ *block '; }
# sc_blocks FILE: distinct blocks a `dfs -d` run read short-circuit.
sc_blocks() {
	sed -n 's/.*short-circuit read of block \([0-9]*\) .*/\1/p' "$1" |
	    sort -u | wc -l
}
dn_addr() {
	sed -n 's/^listen = "\(.*\)"$/\1/p' "$C/datanode$1.conf"
}
# flip FILE OFFSET: invert one byte of a file in place.
flip() {
	"$PYTHON" -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    b = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xFF]))' "$1" "$2"
}

cluster_start -n 3 -b 256K -r 2 -o log.level=debug --mount \
    -o "namenode.test_key_file=$C/keys"
mkdir "$T/in" "$T/out"
: >"$T/in/empty"
head -c 1000 /dev/urandom >"$T/in/small"
head -c 262144 /dev/urandom >"$T/in/one"
head -c 3000017 /dev/urandom >"$T/in/multi"
"$PYTHON" -c 'import numpy as np, sys
np.save(sys.argv[1], np.arange(300000, dtype="<f8") * 0.5 - 7)' \
    "$T/in/arr.npy"
FILES="empty small one multi arr.npy"
for f in $FILES; do
	dfs put "$T/in/$f" "/$f"
done

for i in 1 2 3; do
	ok "data node $i listens on its local socket, in run/" \
	    test -S "$C/run/datanode$i.sock"
	ok "data node $i logs where" grep -q \
	    "short-circuit local reads on $C/run/datanode$i.sock" \
	    "$C/logs/datanode$i.log"
done

# --- dfs get and cat read every block short-circuit -----------------------
tcp0=$(tcp_reads)
for f in $FILES; do
	dfs -d get "/$f" "$T/out/$f" 2>"$T/get.$f"
	ok "dfs get /$f short-circuit: the bytes written" \
	    cmp "$T/in/$f" "$T/out/$f"
done
nb=$(blocks /multi)
ok "every one of the $nb blocks of /multi was read short-circuit" \
    test "$(sc_blocks "$T/get.multi")" -eq "$nb"
ok "so was every block of /arr.npy" \
    test "$(sc_blocks "$T/get.arr.npy")" -eq "$(blocks /arr.npy)"
ok "np.load of the .npy read back gives the array written" \
    "$PYTHON" -c 'import numpy as np, sys
a, b = np.load(sys.argv[1]), np.arange(300000, dtype="<f8") * 0.5 - 7
sys.exit(0 if a.dtype == b.dtype and (a == b).all() else 1)' \
    "$T/out/arr.npy"
dfs cat /multi /small >"$T/out/cat"
ok "dfs cat short-circuit: the bytes written" sh -c \
    "cat '$T/in/multi' '$T/in/small' | cmp - '$T/out/cat'"
ok "not one block went over TCP" test "$(tcp_reads)" -eq "$tcp0"

# --- client.short_circuit=false -------------------------------------------
tcp0=$(tcp_reads)
open0=$(local_opens)
dfs -d -o client.short_circuit=false get /multi "$T/out/multi.tcp" \
    2>"$T/get.tcp"
ok "with client.short_circuit=false: the bytes written" \
    cmp "$T/in/multi" "$T/out/multi.tcp"
ok "and no block read short-circuit" test "$(sc_blocks "$T/get.tcp")" -eq 0
ok "no replica handed out" test "$(local_opens)" -eq "$open0"
ok "every block read over TCP" test "$(($(tcp_reads) - tcp0))" -ge "$nb"

# --- through the mount ----------------------------------------------------
MPID=$(cat "$C/run/mount.pid")
tcp0=$(tcp_reads)
for f in $FILES; do
	ok "read through the mount, /$f: the bytes written" \
	    cmp "$T/in/$f" "$M/$f"
done
ok "np.load(mmap_mode='r') through the mount gives the array" \
    "$PYTHON" -c 'import numpy as np, sys
a = np.load(sys.argv[1], mmap_mode="r")
b = np.arange(300000, dtype="<f8") * 0.5 - 7
sys.exit(0 if (a == b).all() else 1)' "$M/arr.npy"
ok "the data nodes handed the mount (pid $MPID) its replicas" \
    grep -q "LOCAL_OPEN .* handed to pid $MPID " "$C"/logs/datanode*.log
ok "the mount read no block over TCP" test "$(tcp_reads)" -eq "$tcp0"

# --- the node's socket: tokens and hostile frames -------------------------
dfs fsck /multi --blocks >"$T/fsck"
line=$(grep '^ *block ' "$T/fsck" | sed -n 2p)
bid=$(echo "$line" | sed 's/^ *block \([0-9]*\) .*/\1/')
bgen=$(echo "$line" | sed 's/.* gen \([0-9]*\) .*/\1/')
boff=$(echo "$line" | sed 's/.* offset \([0-9]*\) .*/\1/')
blen=$(echo "$line" | sed 's/.* len \([0-9]*\) .*/\1/')
k=
for i in 1 2 3; do
	[ -e "$C/datanode$i/current/blk_${bid}_$bgen" ] && k=$i && break
done
o=$((k % 3 + 1))
# short_circuit.py tries the socket as uid 65534 too: let others search
# the private directories on the way to it (as /var/lib/npdfs/run is).
chmod o+x "$T" "$C" "$C/run"
"$PYTHON" "$top_srcdir/tests/integ/short_circuit.py" --keys "$C/keys" \
    --node "$(dn_addr "$k")" --dir "$C/datanode$k" \
    --sock "$C/run/datanode$k.sock" --block "$bid" \
    --gen "$bgen" --len "$blen" --src "$T/in/multi" --offset "$boff" \
    --other-uuid "$(cat "$C/datanode$o/node.uuid")" >"$T/py.out" 2>&1
py=$?
grep -E '^(not )?ok - ' "$T/py.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/py.out")))
FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/py.out")))
if [ $py -ne 0 ] && ! grep -q '^not ok - ' "$T/py.out"; then
	echo "not ok - short_circuit.py exited $py:"
	cat "$T/py.out"
	FAILED=$((FAILED + 1))
fi
ok "data node $k still runs" kill -0 "$(cat "$C/run/datanode$k.pid")"
ok "and logged the refused tokens" grep -q \
    "local read of block .* refused: token refused" "$C/logs/datanode$k.log"

# --- a corrupt replica: read around, reported -----------------------------
# Flip a byte in the replica each block of /multi was first read from; the
# replicas are offered in random order, so read until one is met.
sed -n 's/.*short-circuit read of block \([0-9]*\) generation /\1 /p' \
    "$T/get.multi" | sed 's/ from data node .*\/run\/\(datanode[0-9]*\)\.sock)$/ \1/' |
    sort -u -k1,1n >"$T/first"
while read -r b g d; do
	flip "$C/$d/current/blk_${b}_$g" $(( (b * 7919) % 100000 ))
done <"$T/first"
echo "# flipped a byte in $(wc -l <"$T/first") replicas of /multi"
gets=0
right=0
: >"$T/bad.err"
while [ $gets -lt 10 ]; do
	gets=$((gets + 1))
	rm -f "$T/out/multi"
	dfs get /multi "$T/out/multi" 2>>"$T/bad.err" &&
	    cmp -s "$T/in/multi" "$T/out/multi" && right=$((right + 1))
	grep -q "(local replica)" "$T/bad.err" && break
done
ok "every get of /multi returned the bytes written ($right of $gets)" \
    test "$right" -eq "$gets"
ok "the reader found a bad chunk in a local replica and read on" \
    grep -q "checksum error in block .* (local replica); going on over TCP" \
    "$T/bad.err"
bad=$(sed -n 's/.*checksum error in block \([0-9]*\) .*(local replica).*/\1/p' \
    "$T/bad.err" | head -n 1)
ok "the data node refused that replica over TCP too" \
    grep -q "READ of block $bad .*checksum error" "$C"/logs/datanode*.log
ok "the namenode was told block $bad has a bad replica" \
    grep -q "replica of block $bad on node [0-9]* is bad" \
    "$C/logs/namenode.log"
fsck_repaired() {
	dfs fsck /multi --blocks >"$T/fsck2" 2>&1 &&
	    [ "$(grep -c 'HEALTHY replicas 2:' "$T/fsck2")" -eq "$nb" ]
}
ok "within 30 s fsck shows /multi healthy again (the replica replaced)" \
    wait_for 30 fsck_repaired

# --- a data node killed mid-read ------------------------------------------
head -c $((16 << 20)) /dev/urandom >"$T/in/big"
dfs put "$T/in/big" /big
( dfs cat /big 2>"$T/kill.err" | slow 0.05 >"$T/out/big.cat" ) &
r1=$!
( slow 0.05 <"$M/big" >"$T/out/big.mnt" ) &
r2=$!
sleep 0.5
kill -9 "$(cat "$C/run/datanode1.pid")"
wait "$r1"
st1=$?
wait "$r2"
st2=$?
ok "dfs cat with data node 1 killed mid-read succeeds" test "$st1" -eq 0
ok "and reads the bytes written" cmp "$T/in/big" "$T/out/big.cat"
ok "a read through the mount with data node 1 killed succeeds" \
    test "$st2" -eq 0
ok "and reads the bytes written" cmp "$T/in/big" "$T/out/big.mnt"
rm -f "$T/out/big"
ok "dfs get with data node 1 dead (its socket file left behind) succeeds" \
    sh -c "'$top_builddir/dfs' -c '$C/client.conf' get /big '$T/out/big' \
    2>'$T/dead.err' && cmp '$T/in/big' '$T/out/big'"
lines=$(wc -l <"$C/logs/datanode1.log")
cluster_start
# (up returns when the namenode counts 3 live nodes, which it may still
# do for the killed one: give the new process a moment.)
ok "restarted, data node 1 replaces its stale socket" wait_for 10 sh -c \
    "tail -n +$lines '$C/logs/datanode1.log' | grep -q \
    'short-circuit local reads on $C/run/datanode1.sock'"
ok "no sanitizer report in the logs" sh -c "! grep -Eq \
    'AddressSanitizer|LeakSanitizer|runtime error' '$C'/logs/*.log"
finish
