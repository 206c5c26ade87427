#!/bin/sh
# heal.sh: self-healing after data node faults, on real daemons (issue 6,
# promises 2 and 3 of DESIGN.md).  A data node killed with SIGKILL is
# declared dead and its blocks re-replicated, the most urgent first; when
# it comes back its surplus replicas are trimmed.  Replicas corrupted on
# disk are read around, reported and replaced; the block scanner finds a
# flipped byte that nobody reads; and on a cluster with exactly as many
# nodes as the replication factor the corrupt replica is replaced on the
# same node (HDFS-17798).  The bytes written are the oracle: every good
# replica on disk must equal them (tests/integ/heal_check.py).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
HB="--heartbeat 1 --dead-timeout 4"
DEAD=4
CHECK="$top_srcdir/tests/integ/heal_check.py"
mkdir "$T/in" "$T/out"

# check ARGS...: fsck exits 0 and heal_check.py agrees with the disks.
check() {
	dfs fsck / >/dev/null 2>&1 || return 1
	dfs fsck / --blocks >"$T/fsck" 2>&1 || return 1
	"$PYTHON" "$CHECK" "$C" --srcdir "$T/in" "$@" <"$T/fsck"
}

# The listen address and data directory of data node N.
dn_addr() {
	sed -n 's/^listen *= *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
	    "$C/datanode$1.conf"
}

# flip FILE OFFSET: invert one bit of a byte on disk.
flip() {
	"$PYTHON" -c 'import sys
f = open(sys.argv[1], "r+b"); o = int(sys.argv[2])
f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 1])); f.close()' \
	    "$1" "$2"
}

# all_read_back: every file of $T/in reads back with its sha256.
all_read_back() {
	for f in "$T"/in/*; do
		n=${f##*/}
		rm -f "$T/out/$n"
		dfs get "/$n" "$T/out/$n" 2>/dev/null || return 1
		[ "$(sha256sum <"$f")" = "$(sha256sum <"$T/out/$n")" ] ||
		    return 1
	done
}

# report_field NAME: a number from the summary line of `dfs report`.
report_field() {
	dfs report | sed -n "s/.*$1: \([0-9]*\).*/\1/p" | head -n 1
}

# === 1. A data node killed: re-replicated, then trimmed ===================
cluster_start -n 4 -b 64K -r 3 $HB -o datanode.scan_period=1h
i=1
while [ $i -le 20 ]; do
	head -c $((100000 + i * 13007)) /dev/urandom >"$T/in/f$i"
	dfs put "$T/in/f$i" "/f$i" || echo "   put /f$i failed"
	i=$((i + 1))
done
head -c 1048576 /dev/urandom >"$T/in/big"
dfs put "$T/in/big" /big
ok "21 files stored, every block with 3 replicas equal to the source" \
    check --repl 3 --disk-exact

victim=$(cat "$C/run/datanode2.pid")
vaddr=$(dn_addr 2)
held=$(find "$C/datanode2/current" -name 'blk_*[0-9]' | wc -l)
echo "# killing data node 2 ($vaddr, pid $victim) holding $held replicas"
t0=$(date +%s)
kill -9 "$victim"
dead_seen() { dfs report | grep -q "3 live, 1 dead"; }
ok "the killed node is declared dead after the dead timeout" \
    wait_for $((DEAD + 6)) dead_seen
dfs report >"$T/report1"
under=$(sed -n 's/.*under-replicated: \([0-9]*\).*/\1/p' "$T/report1")
pending=$(sed -n 's/.*pending replications: \([0-9]*\).*/\1/p' \
    "$T/report1")
echo "# when declared dead: under-replicated $under, pending $pending"
ok "dfs report shows the pending replications" \
    test "$pending" -gt 0 -a "$pending" -ge "$under"
left=$((DEAD + 30 - ($(date +%s) - t0)))
ok "within dead-timeout + 30 s fsck is healthy and every block has 3 \
live replicas equal to the source" wait_for $left check --repl 3 \
    --skip "$vaddr"
echo "# healthy again $(($(date +%s) - t0)) s after the kill"
ok "dfs report: no pending replications left" \
    test "$(report_field 'pending replications')" -eq 0
ok "every file reads back with its sha256" all_read_back
grep -q "queued for re-replication" "$C/logs/namenode.log"
ok "the namenode queued the dead node's blocks at once" test $? -eq 0

t1=$(date +%s)
"$top_builddir/dfs" cluster up "$C" >"$T/up2.log" 2>&1
ok "the killed node restarts" test $? -eq 0
ok "within 30 s its surplus replicas are gone (3 block files per block \
on the disks, no over-replicated block)" wait_for 30 check --repl 3 \
    --disk-exact --no-orphans
echo "# trimmed $(($(date +%s) - t1)) s after the restart"
ok "fsck shows no over-replicated block" sh -c "! '$top_builddir/dfs' -c \
    '$C/client.conf' fsck / --blocks | grep -q OVER-REPLICATED"

# === 2. Corrupt replicas on disk: read around, reported, replaced =========
# Two of the three replicas of every block of /big get a flipped byte.
# Every read must return the right bytes; a replica that a read meets is
# reported (by the data node that refused to serve it, and by the reader).
# Readers are sent elsewhere once a replica is reported, so reading again
# meets the others until all are known: a scanner is not needed here.
dfs fsck /big --blocks >"$T/fsck.big"
: >"$T/flipped"
for bid in $(sed -n 's/^ *block \([0-9]*\) gen.*/\1/p' "$T/fsck.big"); do
	n=0
	for i in 1 2 3 4; do
		f=$(ls "$C"/datanode$i/current/blk_${bid}_* 2>/dev/null |
		    grep -v meta)
		[ -n "$f" ] && [ $n -lt 2 ] || continue
		flip "$f" $(( (bid * 7919) % 65536 ))
		node=$(grep "^ *block $bid " "$T/fsck.big" |
		    sed -n "s/.* \([0-9]*\)@$(dn_addr $i).*/\1/p")
		echo "$bid $node" >>"$T/flipped"
		n=$((n + 1))
	done
done
echo "# flipped a byte in $(wc -l <"$T/flipped") replicas of /big"
# all_reported: the namenode logged every flipped replica as bad.
all_reported() {
	while read -r bid node; do
		grep -q "replica of block $bid on node $node is bad" \
		    "$C/logs/namenode.log" || return 1
	done <"$T/flipped"
}
t2=$(date +%s)
gets=0
right=0
while [ $gets -lt 40 ]; do
	gets=$((gets + 1))
	rm -f "$T/out/big"
	dfs get /big "$T/out/big" 2>>"$T/get.err" &&
	    cmp -s "$T/in/big" "$T/out/big" && right=$((right + 1))
	sleep 0.2
	all_reported && break
done
echo "# $gets gets, $right with the right bytes"
ok "every dfs get returns the right bytes" test $right -eq $gets
ok "the reader met checksum errors and read around them" \
    grep -q "checksum error" "$T/get.err"
ok "the data nodes refused to serve the corrupt replicas" \
    grep -q "READ of block .*checksum error in block" "$C"/logs/datanode*.log
ok "every corrupt replica was reported to the namenode" all_reported
ok "within 30 s fsck is healthy again and every block has 3 good \
replicas (the corrupt ones deleted)" wait_for 30 check --repl 3 \
    --disk-exact --no-orphans
echo "# repaired $(($(date +%s) - t2)) s after the first read"
rm -f "$T/out/big"
dfs get /big "$T/out/big" 2>/dev/null
ok "/big reads back identical after the repair" cmp -s "$T/in/big" \
    "$T/out/big"

# === 3. Priority: blocks down to one replica are copied first ==============
# A fifth node gives the copies somewhere to go; then two nodes die at
# once, leaving some blocks with one replica and many with two.
"$top_builddir/dfs" cluster up "$C" -n 5 -b 64K -r 3 $HB \
    -o datanode.scan_period=1h >"$T/up3.log" 2>&1
ok "a fifth data node joins" test $? -eq 0
wait_for 10 check --repl 3 >/dev/null
lines=$(wc -l <"$C/logs/namenode.log")
kill -9 "$(cat "$C/run/datanode3.pid")" "$(cat "$C/run/datanode4.pid")"
both_dead() { dfs report | grep -q "3 live, 2 dead"; }
wait_for $((DEAD + 6)) both_dead
ok "after two of five nodes die, fsck is healthy within 30 s" \
    wait_for 30 check --repl 3 --skip "$(dn_addr 3)" --skip "$(dn_addr 4)"
tail -n +"$lines" "$C/logs/namenode.log" >"$T/nn3.log"
# The first pass after both were declared dead (maybe a second apart).
second=$(grep -n " is dead: " "$T/nn3.log" | sed -n 2p | cut -d: -f1)
first=$(tail -n +"${second:-1}" "$T/nn3.log" |
    grep -m 1 "replication: [0-9]* cop")
echo "# first pass:${first#*info:}"
copies=$(echo "$first" | sed -n 's/.*: \([0-9]*\) cop.*/\1/p')
urgent=$(echo "$first" | sed -n 's/.*(\([0-9]*\) of blocks.*/\1/p')
ok "the first pass copied blocks down to one replica, and only those" \
    test "${urgent:-0}" -gt 0 -a "${urgent:-0}" = "${copies:-x}"
# No pass queued more than NN_REPL_STREAMS_URGENT (8) copies from a node.
throttled() {
	awk '/ copies it to / { for (i = 1; i < NF; i++)
		if ($i == "node" && $(i + 2) == "copies") n[$(i + 1)]++ }
	    /replication: [0-9]* cop/ { for (k in n) if (n[k] > 8) bad = 1
		delete n }
	    END { exit bad }' "$T/nn3.log"
}
ok "copies from one node are throttled per pass" throttled
passes=$(grep -c "replication: [0-9]* cop" "$T/nn3.log")
echo "# $(grep -c " copies it to " "$T/nn3.log") copies in $passes passes"
ok "the copies were spread over several passes" test "$passes" -gt 1

# === 4. The scanner alone, and repair on the same node ====================
# Three nodes, replication 3: a corrupt replica has nowhere else to go.
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
rm -rf "$C" "$T/in"/*
cluster_start -n 3 -b 64K -r 3 $HB -o datanode.scan_period=3s
head -c 300000 /dev/urandom >"$T/in/g"
dfs put "$T/in/g" /g
ok "/g stored with 3 replicas on the 3 nodes" check --repl 3 --disk-exact
bid=$(dfs fsck /g --blocks | sed -n 's/^ *block \([0-9]*\) gen.*/\1/p' |
    sed -n 2p)
f=$(ls "$C"/datanode2/current/blk_${bid}_* | grep -v meta)
lines2=$(wc -l <"$C/logs/datanode2.log")
flip "$f" 4321
echo "# flipped a byte of $f; no reads from now on"
t3=$(date +%s)
found() {
	tail -n +"$lines2" "$C/logs/datanode2.log" |
	    grep -q "scanner: replica of block $bid .* is bad"
}
ok "the scanner finds the flipped byte within its period (3 s)" \
    wait_for 5 found
echo "# found $(($(date +%s) - t3)) s after the flip"
ok "the scanner logs its passes" grep -q "scanner: pass [0-9]* verified" \
    "$C/logs/datanode2.log"
ok "the namenode marks that replica bad" \
    grep -q "replica of block $bid on node [0-9]* is bad" \
    "$C/logs/namenode.log"
ok "within 30 s the block has 3 good replicas again, one of them a new \
copy on the node that had the corrupt one" wait_for 30 check --repl 3 \
    --disk-exact --no-orphans
echo "# repaired $(($(date +%s) - t3)) s after the flip"
replaced() {
	tail -n +"$lines2" "$C/logs/datanode2.log" >"$T/dn2.log"
	grep -q "deleted block $bid " "$T/dn2.log" &&
	    grep -q "stored block $bid " "$T/dn2.log" &&
	    [ "$(grep -n "deleted block $bid " "$T/dn2.log" | cut -d: -f1)" \
	    -lt "$(grep -n "stored block $bid " "$T/dn2.log" | cut -d: -f1)" ]
}
ok "the node deleted its corrupt replica, then stored the new copy" replaced
ok "fsck is healthy" dfs fsck /
finish
