#!/bin/sh
# cluster-basic.sh: a real 3-node cluster (replication 3, 64 KiB blocks):
# put/get round trips at every block edge, the block map against the
# disks, .npy array metadata and element-aligned blocks, restart with
# `cluster down/up`, the ports reserved for a cluster's life (and two
# clusters started at once), namespace operations and their errors, and
# many clients at once.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
PORTS=/tmp/npdfs-ports
EXTRA=""	# the other clusters this test starts, stopped on exit

# Those clusters' daemons by recorded PID, then $C's and $T (cluster.sh).
basic_cleanup() {
	for d in $EXTRA; do
		[ -d "$d/run" ] || continue
		"$top_builddir/dfs" cluster down "$d" >/dev/null 2>&1
		for f in "$d"/run/*.pid; do
			[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
		done
	done
	cluster_cleanup
}
trap basic_cleanup EXIT
B=65536
cluster_start -n 3 -b 64K -r 3

sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- put/get at every block edge -----------------------------------------
mkdir "$T/in" "$T/out"
for n in 0 1 $((B - 1)) $B $((B + 1)) $((10 * B + 17)); do
	head -c "$n" /dev/urandom >"$T/in/f$n"
	ok "put of $n bytes" dfs put "$T/in/f$n" "/f$n"
	ok "get of $n bytes" dfs get "/f$n" "$T/out/f$n"
	ok "$n bytes read back with the same sha256" \
	    test "$(sha "$T/in/f$n")" = "$(sha "$T/out/f$n")"
	ok "stat says $n bytes" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
	    stat /f$n | grep -qx 'size: $n'"
done
ok "cat streams a file" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    cat /f$((B + 1)) | cmp - '$T/in/f$((B + 1))'"
ok "put from stdin" sh -c "'$top_builddir/dfs' -c '$C/client.conf' put - \
    /stdin <'$T/in/f$B'"
ok "stdin put reads back" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    cat /stdin | cmp - '$T/in/f$B'"

# --- a NumPy array --------------------------------------------------------
"$PYTHON" -c "import numpy as np; np.save('$T/in/a.npy', \
np.arange(70000, dtype='<f8').reshape(700, 100) * 0.5)"
"$PYTHON" -c "import numpy as np; np.save('$T/in/b.npy', \
np.arange(30001, dtype='>i2'))"
ok "put of a .npy" dfs put "$T/in/a.npy" /a.npy
ok "put of a big-endian int16 .npy" dfs put "$T/in/b.npy" /b.npy
dfs stat /a.npy >"$T/stat.a"
ok "stat shows the dtype" grep -qx 'dtype: <f8' "$T/stat.a"
ok "stat shows the shape" grep -qx 'shape: (700, 100)' "$T/stat.a"
ok "stat shows the data offset" grep -qx 'data_offset: 128' "$T/stat.a"
ok "stat shows int16 big-endian" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' stat /b.npy | grep -qx 'dtype: >i2'"
ok "a plain file has no array metadata" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' stat /f1 | grep -qx 'array: none'"
dfs get /a.npy "$T/out/a.npy"
ok ".npy reads back byte for byte" cmp "$T/in/a.npy" "$T/out/a.npy"
ok "np.load of the copy equals the original" "$PYTHON" -c "import numpy as \
np; a=np.load('$T/out/a.npy'); assert a.shape == (700, 100); \
assert (a == np.arange(70000).reshape(700, 100) * 0.5).all()"

# --- the block map against the disks --------------------------------------
dfs fsck / --blocks >"$T/fsck" 2>&1
ok "fsck is healthy (exit 0)" dfs fsck /
ok "every block on 3 distinct nodes, files the size the map says, .npy \
blocks on element boundaries" "$PYTHON" \
    "$top_srcdir/tests/integ/blockmap_check.py" "$C" 3 \
    --npy /a.npy 128 8 --npy /b.npy 128 2 <"$T/fsck"
ok "a 10-block file has 11 blocks" sh -c "'$top_builddir/dfs' -c '$C/client.conf' stat /f$((10 * B + 17)) | \
    grep -qx 'blocks: 11'"

# --- down and up again ----------------------------------------------------
ok "cluster down" sh -c "'$top_builddir/dfs' cluster down '$C' >/dev/null"
ok "nothing runs after down" sh -c "! '$top_builddir/dfs' cluster status \
    '$C' | grep -q running"
ok "cluster up on the same DIR" sh -c "'$top_builddir/dfs' cluster up '$C' \
    >/dev/null"
for n in 0 1 $((B - 1)) $B $((B + 1)) $((10 * B + 17)); do
	rm -f "$T/out/f$n"
	dfs get "/f$n" "$T/out/f$n"
	ok "after restart, $n bytes read back identical" \
	    cmp "$T/in/f$n" "$T/out/f$n"
done
ok "after restart, fsck is healthy" dfs fsck /
ok "after restart, the array metadata is there" sh -c "'$top_builddir/dfs' \
    -c '$C/client.conf' stat /a.npy | grep -qx 'shape: (700, 100)'"
ok "up again starts nothing new" sh -c "'$top_builddir/dfs' cluster up '$C' \
    >/dev/null && '$top_builddir/dfs' cluster status '$C' | \
    grep -c running | grep -qx 4"

# --- ports reserved for the cluster's life --------------------------------
# listen_ports DIR: the port of every daemon in DIR's config files.
listen_ports() {
	sed -n 's/^listen = ".*:\([0-9]*\)"$/\1/p' "$1"/*.conf
}

# reserved_for DIR: every daemon port of DIR is reserved for DIR.
reserved_for() {
	rf_dir=$(cd "$1" && pwd -P)
	rf_ports=$(listen_ports "$1")
	[ -n "$rf_ports" ] || return 1
	for p in $rf_ports; do
		rf_owner=$(cat "$PORTS/$p" 2>/dev/null)
		if [ "$rf_owner" != "$rf_dir" ]; then
			echo "   port $p is reserved for '$rf_owner'"
			return 1
		fi
	done
}

# free_run N: the first of N consecutive ports, each free now and not
# reserved, for NPDFS_TEST_PORT_RANGE (a variable for the tests alone).
free_run() {
	"$PYTHON" - "$1" "$PORTS" <<'PY'
import os, random, socket, sys
n, ports = int(sys.argv[1]), sys.argv[2]
with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
    lo, hi = map(int, f.read().split())
first, last = (10000, lo - 1) if lo > 11024 else (hi + 1, 65535)

def free(q):
    if os.path.exists('%s/%d' % (ports, q)):
        return False
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', q))
        return True
    except OSError:
        return False
    finally:
        s.close()

for _ in range(1000):
    p = random.randrange(first, last - n + 2)
    if all(free(q) for q in range(p, p + n)):
        print(p)
        sys.exit(0)
sys.exit(1)
PY
}

ok "the confs name 4 daemon ports" test "$(listen_ports "$C" | wc -l)" -eq 4
ok "every daemon port is reserved for DIR in $PORTS" reserved_for "$C"
p=$(listen_ports "$C" | head -1)
rm -f "$PORTS/$p"
"$top_builddir/dfs" cluster up "$C" >"$T/up3.log" 2>&1
ok "up on DIR reserves again a port whose reservation was lost" \
    reserved_for "$C"

# Of three ports, one held for a cluster whose DIR exists and one for a
# cluster whose DIR is gone: a new cluster skips the first and reclaims
# the second.
C2="$T/c2"
EXTRA="$EXTRA $C2"
mkdir "$T/holder"
if P=$(free_run 3); then
	echo "$T/holder" >"$PORTS/$P"
	echo "$T/gone" >"$PORTS/$((P + 1))"
	NPDFS_TEST_PORT_RANGE="$P-$((P + 2))" "$top_builddir/dfs" cluster up \
	    "$C2" -n 1 -o namenode.delete_grace=0 >"$T/up-c2.log" 2>&1
	ok "a cluster comes up in a range of 3 ports, one reserved" \
	    grep -q "1 data node(s) live" "$T/up-c2.log"
	ok "it has the stale port and the free one, not the reserved one" \
	    test "$(listen_ports "$C2" | sort | tr '\n' ' ')" = \
	    "$((P + 1)) $((P + 2)) "
	ok "the stale reservation now names the new cluster" \
	    reserved_for "$C2"
	ok "the live reservation is untouched" \
	    test "$(cat "$PORTS/$P")" = "$T/holder"
	"$top_builddir/dfs" cluster down "$C2" >/dev/null 2>&1
else
	ok "3 free ports in a row to test with" false
fi

# Two new clusters started at once, with 4 ports between them: disjoint
# ports, both up.
C3="$T/c3"
C4="$T/c4"
EXTRA="$EXTRA $C3 $C4"
if P=$(free_run 4); then
	NPDFS_TEST_PORT_RANGE="$P-$((P + 3))" "$top_builddir/dfs" cluster up \
	    "$C3" -n 1 -o namenode.delete_grace=0 >"$T/up-c3.log" 2>&1 &
	pid3=$!
	NPDFS_TEST_PORT_RANGE="$P-$((P + 3))" "$top_builddir/dfs" cluster up \
	    "$C4" -n 1 -o namenode.delete_grace=0 >"$T/up-c4.log" 2>&1 &
	pid4=$!
	st=0
	wait "$pid3" || st=1
	wait "$pid4" || st=1
	ok "two clusters started at once both come up" test $st -eq 0
	ok "their 4 ports are disjoint" test "$( (listen_ports "$C3"; \
	    listen_ports "$C4") | sort -u | wc -l)" -eq 4
	ok "the first one's ports are reserved for it" reserved_for "$C3"
	ok "the second one's ports are reserved for it" reserved_for "$C4"
	[ $st -eq 0 ] || cat "$T/up-c3.log" "$T/up-c4.log"
	"$top_builddir/dfs" cluster down "$C3" >/dev/null 2>&1
	"$top_builddir/dfs" cluster down "$C4" >/dev/null 2>&1
else
	ok "4 free ports in a row to test with" false
fi

# --- namespace operations and their errors --------------------------------
ok "mkdir -p of nested directories" dfs mkdir -p /x/y/z/w
ok "mkdir -p of an existing tree" dfs mkdir -p /x/y
ok "ls shows the nested directory" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' ls /x/y | grep -qx z"
ok "mv of a file over another" dfs mv /f1 /f0
ok "the moved file has the source's bytes" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /f0 | cmp - '$T/in/f1'"
ok "the source name is gone" fails_with "no such file" dfs stat /f1
ok "mv of a directory" dfs mv /x/y /moved
ok "the directory's children moved too" dfs stat /moved/z/w
ok "mv into an existing directory keeps the name" dfs mv /f0 /moved
ok "the file is inside" dfs stat /moved/f0
ok "rm of a missing path fails clearly" fails_with "no such file" \
    dfs rm /nope
ok "stat of a missing path fails clearly" fails_with "no such file" \
    dfs stat /nope/deeper
ok "get of a missing path fails clearly" fails_with "no such file" \
    dfs get /nope "$T/out/nope"
ok "put over an existing file without -f fails" fails_with "exists" \
    dfs put "$T/in/f1" /f$B
ok "the file refused is unchanged" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /f$B | cmp - '$T/in/f$B'"
ok "put -f overwrites" dfs put -f "$T/in/f1" /f$B
ok "the overwritten file has the new bytes" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /f$B | cmp - '$T/in/f1'"
ok "rm of a non-empty directory without -r fails" fails_with "not empty\|non-empty" \
    dfs rm /moved
ok "put into a missing directory fails" fails_with "no such file" \
    dfs put "$T/in/f1" /missing/dir/f
ok "mkdir of an existing path fails" fails_with "exists" dfs mkdir /moved
ok "rm -r of a tree" dfs rm -r /moved
ok "the tree is gone" fails_with "no such file" dfs stat /moved/z

# A directory of 10,000 entries, listed in full and in order.
dfs mkdir /big
i=0
while [ $i -lt 10 ]; do
	names=$(seq -f "/big/e%05g" $((i * 1000)) $((i * 1000 + 999)))
	dfs mkdir $names
	i=$((i + 1))
done
dfs ls /big >"$T/big.ls"
ok "ls of a directory with 10,000 entries lists them all" \
    test "$(wc -l <"$T/big.ls")" -eq 10000
ok "in name order" sh -c "sort -c '$T/big.ls' && test \"\$(head -1 \
    '$T/big.ls')\" = e00000 && test \"\$(tail -1 '$T/big.ls')\" = e09999"
ok "ls -l shows a mode and a size" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' ls -l / | grep -q '^-rw-.* 65537 .* f65537\$'"

# --- many clients at once -------------------------------------------------
for i in $(seq 1 16); do
	head -c $((B * 3 + i * 1000)) /dev/urandom >"$T/in/c$i"
done
(
	end=$(($(date +%s) + 120))
	while [ ! -f "$T/stop" ] && [ "$(date +%s)" -lt $end ]; do
		dfs ls / >/dev/null 2>&1 || echo "ls failed" >>"$T/bg.err"
		dfs stat /a.npy >/dev/null 2>&1 || echo "stat" >>"$T/bg.err"
	done
) &
bg=$!
pids=""
for i in $(seq 1 16); do
	dfs put "$T/in/c$i" "/c$i" >"$T/put$i.log" 2>&1 &
	pids="$pids $!"
done
st=0
for p in $pids; do wait "$p" || st=1; done
ok "16 concurrent puts succeed" test $st -eq 0
pids=""
for i in $(seq 1 16); do
	dfs get "/c$i" "$T/out/c$i" >"$T/get$i.log" 2>&1 &
	pids="$pids $!"
done
st=0
for p in $pids; do wait "$p" || st=1; done
ok "16 concurrent gets succeed" test $st -eq 0
touch "$T/stop"
wait $bg
st=0
for i in $(seq 1 16); do cmp -s "$T/in/c$i" "$T/out/c$i" || st=1; done
ok "all 16 files read back identical" test $st -eq 0
ok "ls and stat never failed beside them" test ! -s "$T/bg.err"
ok "fsck is healthy at the end" dfs fsck /
finish
