#!/bin/sh
# corrupt.sh: replicas that look corrupt are handled as HDFS does (issue
# 15, promise 8 of DESIGN.md): a reader's report makes the holder verify
# its replica first; a replica its holder found bad is deleted (and
# replaced) only after another replica of the block was verified good by
# its own holder; when none is, every replica is kept and fsck says
# CORRUPT.  `dfs fsck --verify` finds damage nobody has read.  The bytes
# written are the oracle (tests/integ/heal_check.py).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
CHECK="$top_srcdir/tests/integ/heal_check.py"
mkdir "$T/in" "$T/out"

# The scanner's first pass comes one minute after start-up, its next an
# hour later: section 1 is done before it, so only fsck --verify can find
# the damage there.
cluster_start -n 3 -b 64K -r 3 --heartbeat 1 --dead-timeout 10 \
    -o datanode.scan_period=1h
t_start=$(date +%s)

# flip FILE OFFSET: invert one bit of a byte on disk.
flip() {
	"$PYTHON" -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2])
f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 1])); f.close()' \
	    "$1" "$2"
}

# smash4 FILE OFFSET: overwrite 4 bytes with their complement.
smash4() {
	"$PYTHON" -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2])
f.seek(o); b = f.read(4); f.seek(o); f.write(bytes(x ^ 0xff for x in b))
f.close()' "$1" "$2"
}

# block_id PATH N: the id of block N (from 1) of PATH.
block_id() {
	dfs fsck "$1" --blocks | sed -n 's/^ *block \([0-9]*\) gen.*/\1/p' |
	    sed -n "$2p"
}

# block_line PATH BID: the fsck --blocks line of block BID.
block_line() {
	dfs fsck "$1" --blocks | grep "^ *block $2 "
}

# replica_files BID [meta]: how many block (or .meta) files of BID the
# data nodes' disks hold.
replica_files() {
	if [ "${2:-}" = meta ]; then
		ls "$C"/datanode*/current/blk_"$1"_*.meta 2>/dev/null | wc -l
	else
		ls "$C"/datanode*/current/blk_"$1"_* 2>/dev/null |
		    grep -vc '\.meta$'
	fi
}

# node_of N: the node id the namenode gives data node N.
node_of() {
	addr=$(sed -n 's/^listen *= *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
	    "$C/datanode$1.conf")
	dfs report | awk -v a="$addr" '$2 == a { print $1 }'
}

# healthy PATH: fsck of PATH is healthy and every replica on disk holds
# the bytes of $T/in/NAME, three good replicas, three files per block.
healthy() {
	dfs fsck "$1" --blocks >"$T/fsck" 2>&1 || return 1
	"$PYTHON" "$CHECK" "$C" --srcdir "$T/in" --repl 3 --disk-exact \
	    <"$T/fsck"
}

# nn_log_since LINE: the namenode log from line LINE on.
nn_log_since() {
	tail -n +"$1" "$C/logs/namenode.log"
}

# === 1. fsck --verify finds a damaged replica that nobody read ============
exits() {	# exits STATUS COMMAND...: the command exits with STATUS
	want=$1
	shift
	"$@" >/dev/null 2>&1
	[ $? -eq "$want" ]
}
ok "fsck --timeout without a number is a usage error (2)" \
    exits 2 dfs fsck / --verify --timeout
ok "fsck --timeout 0 is a usage error (2)" \
    exits 2 dfs fsck / --verify --timeout 0
ok "fsck --timeout x is a usage error (2)" \
    exits 2 dfs fsck / --verify --timeout 5x
ok "fsck --verify of a missing path fails (1) and says so" \
    fails_with "no such file" dfs fsck /nothing-here --verify
ok "fsck --verify of an empty file system asks nobody and is healthy" \
    sh -c "'$top_builddir/dfs' -c '$C/client.conf' fsck / --verify |
    grep -q '^verify: 0 replicas asked'"
head -c 150000 /dev/urandom >"$T/in/v"
dfs put "$T/in/v" /v
ok "/v stored with 3 good replicas of each block" healthy /v
bid=$(block_id /v 2)
f=$(ls "$C"/datanode2/current/blk_"${bid}"_* | grep -v meta)
flip "$f" 777
ok "fsck without --verify still calls /v healthy (nobody read it)" \
    dfs fsck /v
dfs fsck /v --verify --blocks >"$T/verify.out" 2>&1
st=$?
cat "$T/verify.out" | sed 's/^/#   /'
ok "fsck --verify exits 1" test $st -eq 1
n2=$(node_of 2)
# It may already be on its way out (its DELETE confirmed) by the time
# the answers are all in: then it is no longer listed.
flagged() {
	line=$(grep "^ *block $bid " "$T/verify.out")
	case "$line" in
	*HEALTHY*) return 1 ;;
	*" $n2@"*"(corrupt)"*) return 0 ;;
	*" $n2@"*) return 1 ;;
	esac
	return 0
}
ok "fsck --verify shows that replica corrupt, the block unhealthy" flagged
ok "every holder answered" grep -q "every holder answered" "$T/verify.out"
ok "the holder verified it on request (not in a scanner pass)" \
    grep -q "scanner: verified block $bid generation [0-9]* on request: bad" \
    "$C/logs/datanode2.log"
ok "the scanner had not made a pass yet" \
    sh -c "! grep -q 'scanner: pass' '$C'/logs/datanode*.log"
echo "# verify done $(($(date +%s) - t_start)) s after start-up"
ok "within 30 s the replica is replaced and /v is healthy" \
    wait_for 30 healthy /v

# === 2. One replica's data damaged: read around, verified, replaced =======
head -c 200000 /dev/urandom >"$T/in/one"
dfs put "$T/in/one" /one
bid=$(block_id /one 1)
f=$(ls "$C"/datanode1/current/blk_"${bid}"_* | grep -v meta)
n1=$(node_of 1)
flip "$f" 1234
lines=$(($(wc -l <"$C/logs/namenode.log") + 1))
bad_seen() {
	nn_log_since "$lines" |
	    grep -q "replica of block $bid on node $n1 is bad"
}
# A reader picks a replica at random: read until one read met it.
gets=0
right=0
while [ $gets -lt 30 ]; do
	gets=$((gets + 1))
	rm -f "$T/out/one"
	dfs get /one "$T/out/one" 2>>"$T/get1.err" &&
	    cmp -s "$T/in/one" "$T/out/one" && right=$((right + 1))
	grep -q "checksum" "$T/get1.err" && break
done
echo "# $gets gets, $right with the right bytes"
ok "every read succeeds with the right bytes, from another replica" \
    test $right -eq $gets
ok "a read met the damaged replica" grep -q "checksum" "$T/get1.err"
ok "its holder verified it bad" wait_for 10 bad_seen
ok "the holder verified the whole replica first" grep -q \
    "scanner: verified block $bid generation [0-9]* on request: bad" \
    "$C/logs/datanode1.log"
ok "within 30 s it is replaced and /one is healthy" wait_for 30 healthy /one
nn_log_since "$lines" >"$T/nn2.log"
good_at=$(grep -n "verified its replica of block $bid good" "$T/nn2.log" |
    head -n 1 | cut -d: -f1)
del_at=$(grep -n "block $bid gen [0-9]*: node $n1 deletes its corrupt" \
    "$T/nn2.log" | head -n 1 | cut -d: -f1)
echo "# verified good at line ${good_at:-none}, delete at ${del_at:-none}"
ok "the corrupt replica was deleted only after another was verified good" \
    test -n "$good_at" -a -n "$del_at" -a "${good_at:-0}" -lt "${del_at:-0}"
rm -f "$T/out/one"
dfs get /one "$T/out/one" 2>/dev/null
ok "/one reads back identical" cmp -s "$T/in/one" "$T/out/one"

# === 3. One holder says bad while the others cannot answer ================
# All three sidecars damaged; the holders of two replicas are frozen
# (SIGSTOP), so only node 1 verifies and finds its replica bad.  The other
# two still count as good replicas on live nodes for a while, but neither
# was verified good: counting them (the old rule) would delete node 1's
# replica at the next monitor pass.
head -c 100000 /dev/urandom >"$T/in/frz"
dfs put "$T/in/frz" /frz
bid=$(block_id /frz 1)
for m in "$C"/datanode*/current/blk_"${bid}"_*.meta; do
	smash4 "$m" 24
done
lines=$(($(wc -l <"$C/logs/namenode.log") + 1))
p2=$(cat "$C/run/datanode2.pid")
p3=$(cat "$C/run/datanode3.pid")
kill -STOP "$p2" "$p3"
dfs fsck /frz --verify --timeout 2 --blocks >"$T/frz.out" 2>&1
sed 's/^/#   /' "$T/frz.out"
n1=$(node_of 1)
one_bad() {
	nn_log_since "$lines" |
	    grep -q "replica of block $bid on node $n1 is bad"
}
ok "node 1 verified its replica bad" one_bad
ok "the frozen holders' answers are awaited (verifying)" \
    grep -q "^ *block $bid .*(verifying)" "$T/frz.out"
sleep 4		# several monitor passes and heartbeats of node 1
ok "node 1 still holds its replica (the others are unverified)" \
    test -n "$(ls "$C"/datanode1/current/blk_"${bid}"_* 2>/dev/null |
    grep -v meta)"
kill -CONT "$p2" "$p3"
n2=$(node_of 2)
n3=$(node_of 3)
frz_all_bad() {
	nn_log_since "$lines" >"$T/nnf.log"
	grep -q "replica of block $bid on node $n2 is bad" "$T/nnf.log" &&
	    grep -q "replica of block $bid on node $n3 is bad" "$T/nnf.log"
}
ok "once thawed, the other holders verify theirs bad too" \
    wait_for 20 frz_all_bad
sleep 3
ok "all 3 block files of /frz are still on disk" \
    test "$(replica_files "$bid")" -eq 3
ok "fsck calls the block CORRUPT" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' fsck /frz --blocks | grep -q '^ *block $bid .*CORRUPT'"

# === 4. Every sidecar of a block damaged, the data intact =================
# With the old rule (a replica reported bad was deleted while others not
# yet reported counted as good), one read deleted two of the three.
head -c 200000 /dev/urandom >"$T/in/all"
dfs put "$T/in/all" /all
bid=$(block_id /all 2)
ok "block $bid has 3 block files and 3 sidecars" \
    test "$(replica_files "$bid")" -eq 3 -a \
    "$(replica_files "$bid" meta)" -eq 3
for m in "$C"/datanode*/current/blk_"${bid}"_*.meta; do
	smash4 "$m" 24		# the first chunk's CRC, after the header
done
lines=$(($(wc -l <"$C/logs/namenode.log") + 1))
t_read=$(date +%s)
rm -f "$T/out/all"
dfs get /all "$T/out/all" 2>"$T/get3.err"
st=$?
sed 's/^/#   /' "$T/get3.err"
ok "the read fails (dfs get exits 1)" test $st -eq 1
ok "and says why (checksum error)" grep -qi "checksum" "$T/get3.err"
all_bad() {
	nn_log_since "$lines" >"$T/nn3.log"
	for n in $(node_of 1) $(node_of 2) $(node_of 3); do
		grep -q "replica of block $bid on node $n is bad" \
		    "$T/nn3.log" || return 1
	done
}
ok "each holder verified its replica bad" wait_for 15 all_bad
sleep $((30 - ($(date +%s) - t_read)))
ok "30 s after the read all 3 block files are still on disk" \
    test "$(replica_files "$bid")" -eq 3
ok "and all 3 sidecars" test "$(replica_files "$bid" meta)" -eq 3
ok "the namenode deleted nothing" \
    sh -c "! tail -n +$lines '$C/logs/namenode.log' |
    grep -q 'block $bid .*deletes'"
ok "no data node deleted a replica of it" \
    sh -c "! grep -q 'deleted block $bid ' '$C'/logs/datanode*.log"
block_line /all "$bid" >"$T/line3"
sed 's/^/#   /' "$T/line3"
ok "fsck calls the block CORRUPT with its 3 replicas corrupt" \
    test "$(grep -c "CORRUPT replicas 3:.*(corrupt).*(corrupt).*(corrupt)" \
    "$T/line3")" -eq 1
ok "fsck of /all exits 1" sh -c "! '$top_builddir/dfs' -c '$C/client.conf' \
    fsck /all >/dev/null 2>&1"

# ... and again after every daemon restarted (the namenode forgot).
"$top_builddir/dfs" cluster down "$C" >"$T/down.log" 2>&1
ok "the cluster stops" test $? -eq 0
"$top_builddir/dfs" cluster up "$C" >"$T/up2.log" 2>&1
ok "the cluster restarts" test $? -eq 0
ok "block files are all there after the restart" \
    test "$(replica_files "$bid")" -eq 3
lines=$(($(wc -l <"$C/logs/namenode.log") + 1))
t_read=$(date +%s)
out_of_safemode() { dfs report | grep -q "safe mode: off"; }
wait_for 60 out_of_safemode
rm -f "$T/out/all"
dfs get /all "$T/out/all" 2>"$T/get4.err"
ok "after the restart the read fails again (exit 1)" test $? -eq 1
ok "each holder verified its replica bad again" wait_for 15 all_bad
dfs fsck /all --verify --blocks >"$T/verify4.out" 2>&1
st=$?
grep "^ *block $bid " "$T/verify4.out" | sed 's/^/#   /'
three_corrupt="CORRUPT replicas 3:.*(corrupt).*(corrupt).*(corrupt)"
ok "fsck --verify exits 1 and calls the block CORRUPT, 3 replicas corrupt" \
    test $st -eq 1 -a \
    "$(grep -c "^ *block $bid .*$three_corrupt" "$T/verify4.out")" -eq 1
sleep $((30 - ($(date +%s) - t_read)))
ok "30 s after that read all 3 block files are still on disk" \
    test "$(replica_files "$bid")" -eq 3
ok "and all 3 sidecars" test "$(replica_files "$bid" meta)" -eq 3
ok "no data node deleted a replica of it" \
    sh -c "! grep -q 'deleted block $bid ' '$C'/logs/datanode*.log"
ok "the other files are still healthy" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' fsck /v && '$top_builddir/dfs' -c '$C/client.conf' \
    fsck /one" >/dev/null
ok "no sanitizer report in the logs" sh -c "! grep -Eq \
    'AddressSanitizer|LeakSanitizer|runtime error' '$C'/logs/*.log"
finish
