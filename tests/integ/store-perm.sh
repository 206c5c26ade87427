#!/bin/sh
# store-perm.sh: a data node's replicas are its own (issue 11).  On a real
# 3-node cluster (replication 2): every file under every data directory
# (block files, sidecars, temporaries being written, identity files) is
# 0600 and every directory 0700, after puts, after a dead node's blocks
# were re-replicated, and after a restart; so is the namenode's database.
# A data directory left 0755 (and files left 0644) is tightened at
# start-up, with a log line.  The short-circuit socket lives outside the
# data directory (DIR/run/datanodeN.sock, 0666 in a 0755 run/), so a
# non-root user (uid 1001, its own certificate from `cluster adduser`)
# reads every block short-circuit: proven by the client's debug lines,
# the nodes' LOCAL_OPEN lines naming uid 1001, and no TCP READ.  A stale
# socket is replaced, a regular file in its place is not, and a socket
# directory other users may write is refused.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u

HB="--heartbeat 1 --dead-timeout 4"
DN="$top_builddir/dfs-datanode"
BOB=1001

# perms DIR WHAT MIN: every file under DIR is 0600 and every directory
# 0700; at least MIN files (so an empty tree cannot pass).
perms() {
	nf=$(find "$1" -type f | wc -l)
	nd=$(find "$1" -type d | wc -l)
	bf=$(find "$1" -type f ! -perm 0600 | wc -l)
	bd=$(find "$1" -type d ! -perm 0700 | wc -l)
	if [ "$nf" -lt "$3" ] || [ "$bf" -ne 0 ] || [ "$bd" -ne 0 ]; then
		echo "   $1 ($2): $nf files ($bf not 0600), $nd directories" \
		    "($bd not 0700); wanted at least $3 files"
		find "$1" \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \) \
		    -printf '   %m %p\n' | head -n 5
		return 1
	fi
	echo "# $1 ($2): $nf files 0600, $nd directories 0700"
}
# all_perms WHAT: perms on every data directory and the namenode's.
all_perms() {
	for i in 1 2 3; do
		perms "$C/datanode$i" "$1" 6 || return 1
	done
	perms "$C/namenode" "$1" 1
}
# blk_files: block data files on every node.
blk_files() {
	find "$C"/datanode*/current -name 'blk_*' ! -name '*.meta' | wc -l
}
tcp_reads() { cat "$C"/logs/datanode*.log | grep -c "debug: READ block"; }
blocks() { dfs fsck "$1" --blocks | grep -c '^ *block '; }
sc_blocks() {
	sed -n 's/.*short-circuit read of block \([0-9]*\) .*/\1/p' "$1" |
	    sort -u | wc -l
}
says() {	# says PATTERN FILE...
	grep -q -- "$@" || { echo "   $2 does not say '$1'"; return 1; }
}
healthy() {
	dfs fsck / >/dev/null 2>&1
}

mkdir "$T/in" "$T/out"
head -c 1000 /dev/urandom >"$T/in/small"
head -c 3000017 /dev/urandom >"$T/in/multi"
head -c 3000000 /dev/urandom >"$T/in/slow"

# --- a loose data directory before the first start ------------------------
# As an older version (or an operator's mkdir under umask 022) left it.
mkdir -p "$C/datanode1/current"
chmod 0755 "$C" "$C/datanode1" "$C/datanode1/current"
: >"$C/datanode1/lock"
chmod 0644 "$C/datanode1/lock"
cluster_start -n 3 -b 256K -r 2 $HB -o log.level=debug
ok "the loose data directory was tightened to 0700, and said so" says \
    "$C/datanode1 was mode 0755, open to other users: tightened to 0700" \
    "$C/logs/datanode1.log"
ok "so was its current/" says \
    "$C/datanode1/current was mode 0755, open to other users: tightened" \
    "$C/logs/datanode1.log"
ok "and the 0644 file in it, with a log line" says \
    "1 file in $C/datanode1 was open to other users: tightened" \
    "$C/logs/datanode1.log"

# --- after puts, and while a put is being written --------------------------
for f in small multi; do
	dfs put "$T/in/$f" "/$f"
done
# 128 KiB every 0.1 s into one 4 MiB block, sent in 1 MiB packets: the
# block sits in tmp/ from the first packet (~0.8 s) to the end (~2.5 s).
"$PYTHON" -c 'import sys, time
i, o = sys.stdin.buffer, sys.stdout.buffer
while True:
    b = i.read(131072)
    if not b:
        break
    o.write(b)
    o.flush()
    time.sleep(0.1)' <"$T/in/slow" | dfs put -b 4M - /slow &
sp=$!
# Every 50 ms while it runs: whatever is in the tmp/ directories.
: >"$T/tmp.ls"
polls=0
while kill -0 "$sp" 2>/dev/null; do
	find "$C"/datanode*/tmp -type f -printf '%m %p\n' >>"$T/tmp.ls"
	polls=$((polls + 1))
	sleep 0.05
done
echo "# $polls looks at tmp/ while the slow put ran"
wait "$sp"
ok "the slow put succeeded" test $? -eq 0
ntmp=$(sort -u -k2 "$T/tmp.ls" | wc -l)
ok "while it ran, files were seen in tmp/ ($ntmp)" test "$ntmp" -ge 2
ok "and every one of them was 0600" sh -c "! grep -v '^600 ' '$T/tmp.ls'"
n0=$(blk_files)
echo "# $n0 block files after the puts"
ok "the puts made block files" test "$n0" -ge 20
ok "after puts: every file 0600, every directory 0700" all_perms "puts"

# --- after re-replication --------------------------------------------------
victim=$(cat "$C/run/datanode3.pid")
held=$(find "$C/datanode3/current" -name 'blk_*' ! -name '*.meta' | wc -l)
before=$(($(blk_files) - held))
kill -9 "$victim"
echo "# killed data node 3 (pid $victim), which held $held replicas"
replicated() {
	healthy && [ "$(($(blk_files) - held))" -ge $((before + held)) ]
}
ok "within 40 s its replicas were copied to the other nodes" \
    wait_for 40 replicated
ok "the namenode queued them" says "queued for re-replication" \
    "$C/logs/namenode.log"
ok "after re-replication: every file 0600, every directory 0700" \
    all_perms "re-replication"
ok "data node 3 left its socket behind" test -S "$C/run/datanode3.sock"
lines3=$(wc -l <"$C/logs/datanode3.log")

# --- a restart, with everything loosened meanwhile -------------------------
"$top_builddir/dfs" cluster down "$C" >/dev/null
# A regular file where a socket should be is not the node's to remove.
echo keep >"$C/run/datanode1.sock"
timeout 60 "$DN" -c "$C/datanode1.conf" >"$T/dn1.out" 2>&1
st=$?
ok "a data node whose socket path is a regular file does not start" \
    test "$st" -ne 0
ok "and says why" says "exists and is not a socket" "$T/dn1.out"
ok "and leaves that file alone" sh -c \
    "test -f '$C/run/datanode1.sock' && grep -qx keep '$C/run/datanode1.sock'"
rm -f "$C/run/datanode1.sock"
mkdir "$T/open"
chmod 0777 "$T/open"
timeout 60 "$DN" -c "$C/datanode1.conf" \
    -o "datanode.local_socket=$T/open/dn.sock" >"$T/dn1w.out" 2>&1
st=$?
ok "a socket in a directory others may write is refused" sh -c \
    "test $st -ne 0 && grep -q 'is writable by other users' '$T/dn1w.out'"
ok "and no socket was made there" test ! -e "$T/open/dn.sock"
chmod 0770 "$T/open"
chgrp $BOB "$T/open"
timeout 60 "$DN" -c "$C/datanode1.conf" \
    -o "datanode.local_socket=$T/open/dn.sock" >"$T/dn1g.out" 2>&1
st=$?
ok "so is one writable by another group" sh -c \
    "test $st -ne 0 && grep -q 'is writable by other users' '$T/dn1g.out'"
# Writable by the node's own group (umask 002 with a group per user):
# accepted.  Started by hand, stopped by its PID.
chgrp "$(id -g)" "$T/open"
"$DN" -c "$C/datanode1.conf" -o "datanode.local_socket=$T/open/dn.sock" \
    >"$T/dn1o.out" 2>&1 &
dnp=$!
ok "but one writable by the node's own group is used" wait_for 20 grep -q \
    "short-circuit local reads on $T/open/dn.sock" "$T/dn1o.out"
kill "$dnp" 2>/dev/null
wait "$dnp"

chmod 0755 "$C/datanode2" "$C/datanode2/current" "$C/namenode"
chmod 0644 "$C/namenode/namespace.db"
chmod 0644 "$(find "$C/datanode2/current" -name 'blk_*' | head -n 1)"
chmod 0644 "$C/datanode2/node.uuid"
lines2=$(wc -l <"$C/logs/datanode2.log")
linesn=$(wc -l <"$C/logs/namenode.log")
cluster_start $HB
ok "restarted: data node 2's directories were tightened, logged" sh -c \
    "tail -n +$lines2 '$C/logs/datanode2.log' | grep -q \
    '$C/datanode2 was mode 0755, open to other users: tightened to 0700'"
ok "and its loose files" sh -c \
    "tail -n +$lines2 '$C/logs/datanode2.log' | grep -Eq \
    '[0-9]+ files? in $C/datanode2(/current)? (was|were) open to other'"
ok "the namenode's directory and database were tightened, logged" sh -c \
    "tail -n +$linesn '$C/logs/namenode.log' | grep -q \
    '$C/namenode was mode 0755, open to other users: tightened' &&
    tail -n +$linesn '$C/logs/namenode.log' | grep -q \
    '1 file in $C/namenode was open to other users'"
ok "data node 3 replaced its stale socket" wait_for 10 sh -c \
    "tail -n +$lines3 '$C/logs/datanode3.log' | grep -q \
    'short-circuit local reads on $C/run/datanode3.sock'"
ok "after the restart: every file 0600, every directory 0700" \
    all_perms "restart"
ok "within 30 s fsck is healthy" wait_for 30 healthy

# --- where the sockets are -------------------------------------------------
ok "run/ is 0755" test "$(stat -c %a "$C/run")" = 755
for i in 1 2 3; do
	ok "data node $i's socket is $C/run/datanode$i.sock, mode 0666" \
	    sh -c "test -S '$C/run/datanode$i.sock' &&
	    test \"\$(stat -c %a '$C/run/datanode$i.sock')\" = 666"
done
ok "no socket inside any data directory" test -z \
    "$(find "$C"/datanode[0-9]* -type s)"

# --- a short-circuit read as a non-root user -------------------------------
# The test's private directory is 0700 (mktemp): open the way to $C, and
# give bob a copy of dfs (the build tree may be out of his reach).
chmod 0755 "$T"
cp "$top_builddir/dfs" "$T/dfs-bob"
"$top_builddir/dfs" cluster adduser "$C" bob --uid $BOB --gid $BOB \
    >"$T/adduser.out"
ok "adduser wrote bob's client config" test -f "$C/users/bob.conf"
chown $BOB:$BOB "$C/users/bob.conf" "$C/users/bob.key" "$C/users/bob.crt"
as_bob() {
	setpriv --reuid $BOB --regid $BOB --clear-groups "$@"
}
ok "bob cannot read a block file (0600 in 0700)" sh -c "! setpriv \
    --reuid $BOB --regid $BOB --clear-groups cat \
    \$(find '$C/datanode1/current' -name 'blk_*' | head -n 1) \
    >/dev/null 2>&1"
nb=$(blocks /multi)
tcp0=$(tcp_reads)
as_bob "$T/dfs-bob" -c "$C/users/bob.conf" -d cat /multi \
    >"$T/out/bob.multi" 2>"$T/bob.err"
st=$?
ok "bob (uid $BOB) reads /multi: the bytes written" sh -c \
    "test $st -eq 0 && cmp '$T/in/multi' '$T/out/bob.multi'"
ok "every one of its $nb blocks short-circuit" \
    test "$(sc_blocks "$T/bob.err")" -eq "$nb"
ok "from the sockets in run/" says \
    "short-circuit read of block .* ($C/run/datanode[123].sock)" "$T/bob.err"
ok "not one block over TCP" test "$(tcp_reads)" -eq "$tcp0"
ok "the data nodes saw uid $BOB gid $BOB connect (SO_PEERCRED)" says \
    "local connection from pid [0-9]* uid $BOB gid $BOB" "$C"/logs/datanode*.log
ok "and handed uid $BOB the replicas" says \
    "LOCAL_OPEN block .* handed to pid [0-9]* uid $BOB" \
    "$C"/logs/datanode*.log
ok "no sanitizer report in the logs" sh -c "! grep -Eq \
    'AddressSanitizer|LeakSanitizer|runtime error' '$C'/logs/*.log"
finish
