#!/bin/sh
# identity.sh: the cluster never deletes data because of one wrong fact
# about who it is.  A namenode whose database is missing, empty, garbage
# or another cluster's does not start, or is refused by every data node,
# and no block file goes; with the right database back everything reads
# back identical.  DELETEs wait for namenode.delete_grace after start-up;
# a replica the namespace does not know is kept; a replica whose sidecar
# is damaged is kept by its own node (issue 15).
set -u
. "$top_srcdir/tests/lib/cluster.sh"

NN="$top_builddir/dfs-namenode"
nblocks() {	# block data files on every data node
	find "$C"/datanode*/current -name 'blk_*' ! -name '*.meta' | wc -l
}
up() {		# up [OPTIONS]: dfs cluster up on the test's DIR
	"$top_builddir/dfs" cluster up "$C" "$@" >"$T/up.out" 2>&1
}
down() {
	"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
}
says() {	# says PATTERN FILE
	grep -qi -- "$1" "$2" || { echo "   $2 does not say '$1':"; \
	    tail -n 5 "$2"; return 1; }
}

# Block reports in parts of 7 replicas: every report here has several.
cluster_start -n 3 -b 64K --heartbeat 1s -o namenode.delete_grace=20s \
    -o namenode.block_report_part=7
mkdir -p "$T/in" "$T/out"
for i in 1 2 3 4; do
	head -c $((300000 + i * 77777)) /dev/urandom >"$T/in/f$i"
	dfs put "$T/in/f$i" "/f$i"
done
"$PYTHON" -c "import numpy as np; np.save('$T/in/a.npy', \
np.arange(100000, dtype='<f8'))"
dfs put "$T/in/a.npy" /a.npy
n0=$(nblocks)
echo "# $n0 block files on 3 nodes"
ok "the puts made block files on the nodes" test "$n0" -ge 30
ok "every data node recorded the cluster id it joined" sh -c \
    "test \$(cat '$C'/datanode*/cluster.id | sort -u | wc -l) -eq 1"
ok "the namenode logged the same id" grep -q \
    "$(cat "$C/datanode1/cluster.id")" "$C/logs/namenode.log"
down

# 1. No database: the namenode refuses to start, `up` exits 1 and says
# why; the data nodes it started keep every block.
mv "$C/namenode/namespace.db" "$T/namespace.db"
up && st=0 || st=$?
ok "cluster up without the database exits 1" test "$st" -eq 1
ok "... and shows the namenode's reason" says "dfs-namenode --format" \
    "$T/up.out"
ok "... naming the missing file" says "namespace.db: No such file" \
    "$T/up.out"
sleep 3		# the data nodes run and knock meanwhile
ok "no block file was deleted (missing database)" test "$(nblocks)" -eq "$n0"
ok "nothing made a database behind our back" \
    test ! -e "$C/namenode/namespace.db"

# 2. An empty file and a garbage file in its place are refused too.
: >"$C/namenode/namespace.db"
up && st=0 || st=$?
ok "cluster up with an empty database exits 1" test "$st" -eq 1
ok "... saying it holds no namespace" says "holds no namespace" "$T/up.out"
head -c 100000 /dev/urandom >"$C/namenode/namespace.db"
up && st=0 || st=$?
ok "cluster up with a corrupt database exits 1" test "$st" -eq 1
ok "... saying it is not a namespace database" \
    says "not a namespace database" "$T/up.out"
ok "no block file was deleted (empty, corrupt database)" \
    test "$(nblocks)" -eq "$n0"

# 3. Another cluster's database: the namenode starts, every data node is
# refused, nothing is deleted.
rm -f "$C/namenode/namespace.db"
"$NN" -c "$C/namenode.conf" -o namenode.meta_dir="$T/other" --format \
    >"$T/other.out" 2>&1
ok "--format makes another cluster's database" grep -q '^cluster id' \
    "$T/other.out"
ok "--format refuses to replace an existing database" sh -c \
    "! '$NN' -c '$C/namenode.conf' -o namenode.meta_dir='$T/other' \
    --format >/dev/null 2>'$T/again.err' && grep -q exists '$T/again.err'"
cp "$T/other/namespace.db" "$C/namenode/namespace.db"
"$NN" -c "$C/namenode.conf" -o namenode.delete_grace=0 \
    2>"$T/foreign.log" &
FOREIGN=$!
refused() {
	test "$(grep -c 'refused REGISTER from a data node of cluster' \
	    "$T/foreign.log")" -ge 3
}
ok "the foreign namenode refuses the data nodes" wait_for 60 refused
ok "... and the data nodes say why" grep -q \
    'this namenode serves cluster' "$C/logs/datanode1.log"
ok "no data node is live on it" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' report | \
    grep -q 'data nodes: 0 live'"
ok "no block file was deleted (foreign database)" test "$(nblocks)" -eq "$n0"
kill "$FOREIGN"
wait "$FOREIGN" 2>/dev/null
down

# 4. The right database back: every file identical, fsck healthy.
cp "$T/namespace.db" "$C/namenode/namespace.db"
up
ok "cluster up with the right database exits 0" test $? -eq 0
same=0
for f in f1 f2 f3 f4 a.npy; do
	dfs get "/$f" "$T/out/$f" && cmp -s "$T/in/$f" "$T/out/$f" &&
	    same=$((same + 1))
done
ok "every file reads back identical" test "$same" -eq 5
ok "fsck is healthy" wait_for 30 dfs fsck /
ok "the data nodes' block reports came in several parts" grep -q \
    "block report: [0-9]* blocks in [2-9][0-9]* parts" "$C/logs/datanode1.log"
ok "... each taken whole by the namenode" grep -q \
    "block report from node [0-9]* (part [2-9][0-9]* of [2-9][0-9]*)" \
    "$C/logs/namenode.log"

# 5. Within namenode.delete_grace (20 s here) of start-up no replica is
# deleted; after it, the deleted file's blocks go.
dfs rm /f4
sleep 2
ok "a file removed within the grace keeps its block files" \
    test "$(nblocks)" -eq "$n0"
ok "... and loses them once the grace is over" wait_for 60 sh -c \
    "test \$(find '$C'/datanode*/current -name 'blk_*' ! -name '*.meta' | \
    wc -l) -lt $n0"

# 6. A replica the namespace never handed out (a block id above the
# counter) is kept on its node, however long; one whose sidecar header is
# damaged is kept by its own node across a restart, and the file still
# reads back from the others.
d1="$C/datanode1/current"
src=$(ls "$d1" | grep '^blk_[0-9]*_[0-9]*$' | head -n 1)
cp "$d1/$src" "$d1/blk_987654321_1"
cp "$d1/$src.meta" "$d1/blk_987654321_1.meta"
# Every node holds every block (3 nodes, replication 3).
vfile=$(dfs fsck /f1 --blocks 2>/dev/null |
    sed -n 's/^  block \([0-9]*\) gen \([0-9]*\) .*/blk_\1_\2/p' | head -n 1)
ok "node 1 holds the first block of /f1" test -f "$d1/$vfile"
printf 'XXXX' | dd of="$d1/$vfile.meta" bs=1 seek=0 conv=notrunc 2>/dev/null
down
up
ok "the cluster comes back" test $? -eq 0
# Its own node kept the damaged replica (the same files, damage and all);
# the namenode may later have it replaced, once a good copy is verified.
ok "the replica with a damaged sidecar is still on disk" sh -c \
    "test -f '$d1/$vfile' && test \"\$(head -c 4 '$d1/$vfile.meta')\" = XXXX"
sleep 25	# past the grace, several heartbeats and a block report
ok "the unknown replica is still on disk" test -f "$d1/blk_987654321_1"
ok "its node flagged it instead of deleting it" grep -q \
    "does not check.*kept" "$C/logs/datanode1.log"
ok "the namenode listed the unknown replica as kept" grep -q \
    "replica 987654321 gen 1.*unknown.*kept" "$C/logs/namenode.log"
ok "dfs report counts it" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    report | grep -q '^unknown replicas: 1, kept'"
same=0
for f in f1 f2 f3 a.npy; do
	dfs get "/$f" "$T/out/$f" && cmp -s "$T/in/$f" "$T/out/$f" &&
	    same=$((same + 1))
done
ok "every file still reads back identical" test "$same" -eq 4
down

# 7. The data node's side: a namenode of another cluster (a fake one that
# would DELETE every replica it hears of) gets a REGISTER, and nothing
# more: no block report, no heartbeat, so no command is ever taken.
n1=$(find "$d1" -name 'blk_*' ! -name '*.meta' | wc -l)
NPDFS_TEST_NN_CONF="$C/namenode.conf" \
    "$PYTHON" "$top_srcdir/tests/integ/dn_cluster.py" "$T/fake.port" 8 \
    0badc0de-0000-4000-8000-000000000001 >"$T/fake.out" 2>&1 &
FAKE=$!
i=0
while [ ! -s "$T/fake.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
"$top_builddir/dfs-datanode" -c "$C/datanode1.conf" \
    -o namenode.address="$(cat "$T/fake.port")" 2>"$T/dn1-fake.log" &
DN1=$!
wait "$FAKE"
kill "$DN1"
wait "$DN1" 2>/dev/null
echo "# fake namenode saw: $(cat "$T/fake.out")"
ok "the data node registered with the fake namenode" \
    grep -q "register=[1-9]" "$T/fake.out"
ok "... naming its own cluster" grep -q \
    "clusters=$(cat "$C/datanode1/cluster.id")\$" "$T/fake.out"
ok "... and sent no block report and no heartbeat after REGISTERED" \
    grep -q "report=0 heartbeat=0" "$T/fake.out"
ok "... saying why" grep -q "serves cluster 0badc0de.*not joining" \
    "$T/dn1-fake.log"
ok "its block files are all still there" test \
    "$(find "$d1" -name 'blk_*' ! -name '*.meta' | wc -l)" -eq "$n1"
finish
