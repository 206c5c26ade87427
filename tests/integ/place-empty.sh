#!/bin/sh
# place-empty.sh: data nodes added to a running cluster receive the new
# blocks first (issue 14).  Placement ranks nodes by the bytes of
# replicas they store (their dfs_used, `dfs report`'s "stored") plus the
# blocks on their way to them, not by their file system's used space,
# which every node of a one-machine cluster shares.
#
# 3 data nodes (replication 3) store 20 one-block files: each holds 20
# blocks.  `dfs cluster up -n 5` on the running cluster adds 2 empty
# nodes without restarting anything.  Then 15 more one-block files: a new
# node holds at most 15 blocks after them, an old one 20 or more, so with
# the emptiest nodes first every one of the 15 new blocks must have a
# replica on both new nodes (30 of their 45 replicas, the most
# possible).  Chance alone (ties broken at random, or the disk's shared
# used space, which is noise) puts both new nodes in a block's 3 targets
# with probability 3/10: for all 15 blocks, about 1 in 70 million.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
B=65536
mkdir "$T/in" "$T/out"
cluster_start -n 3 -b 64K -r 3 --heartbeat 1

# A node's "stored" bytes in `dfs report` (column 6), by address.
stored() {
	dfs report | awk -v a="$1" '$2 == a { print $6 }'
}

# The listen address of data node N (its [datanode] section's: a config
# rewritten by `cluster up -n` also carries the namenode's).
dn_addr() {
	sed -n '/^\[datanode\]/,/^\[/{
	    s/^listen *= *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p
	}' "$C/datanode$1.conf"
}

# put_files FROM TO: one-block files /fFROM .. /fTO, each exactly a block.
put_files() {
	i=$1
	while [ "$i" -le "$2" ]; do
		head -c $B /dev/urandom >"$T/in/f$i"
		dfs put "$T/in/f$i" "/f$i" || echo "   put /f$i failed"
		i=$((i + 1))
	done
}

put_files 1 20
# Every old node has said by heartbeat that it stores its 20 blocks.
all_stored() {
	for n in 1 2 3; do
		s=$(stored "$(dn_addr $n)")
		[ -n "$s" ] && [ "$s" -ge $((20 * B)) ] || return 1
	done
}
ok "dfs report shows the 20 blocks each old node stores" wait_for 10 \
    all_stored
dfs report >"$T/report1"
cat "$T/report1" | sed 's/^/# /'
# Capacity and used are the shared disk's; "stored" is npdfs's own.
ok "dfs report has a 'stored' column" grep -q '^id .* used  *stored ' \
    "$T/report1"

nnpid=$(cat "$C/run/namenode.pid")
oldpids=$(cat "$C/run/datanode1.pid" "$C/run/datanode2.pid" \
    "$C/run/datanode3.pid")
"$top_builddir/dfs" cluster up "$C" -n 5 >"$T/up2.log" 2>&1
ok "cluster up -n 5 on the running cluster succeeds" test $? -eq 0
ok "... and 5 data nodes are live" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' report | grep -q 'data nodes: 5 live, 0 dead'"
ok "... with the same namenode and old data nodes (nothing restarted)" \
    test "$nnpid $(echo $oldpids)" = "$(cat "$C/run/namenode.pid") $(cat \
    "$C/run/datanode1.pid" "$C/run/datanode2.pid" \
    "$C/run/datanode3.pid" | tr '\n' ' ' | sed 's/ $//')"
n4=$(dn_addr 4)
n5=$(dn_addr 5)
ok "the new nodes store nothing yet" test "$(stored "$n4")" -eq 0 -a \
    "$(stored "$n5")" -eq 0

put_files 21 35
dfs fsck / --blocks >"$T/fsck" 2>&1
ok "fsck is healthy" grep -q "status: HEALTHY" "$T/fsck"
both=0
on_new=0
i=21
while [ $i -le 35 ]; do
	line=$(sed -n "/^\/f$i:/{n;p;}" "$T/fsck")
	h4=0
	h5=0
	case "$line" in *"@$n4"*) h4=1 ;; esac
	case "$line" in *"@$n5"*) h5=1 ;; esac
	on_new=$((on_new + h4 + h5))
	[ $h4 -eq 1 ] && [ $h5 -eq 1 ] && both=$((both + 1))
	i=$((i + 1))
done
echo "# of the 15 new blocks, $both have a replica on both new nodes;" \
    "the new nodes got $on_new of their 45 replicas"
ok "every one of the 15 new blocks has a replica on both new nodes" \
    test "$both" -eq 15
ok "... so the new nodes got 30 of the 45 new replicas" test "$on_new" -eq 30
# The old nodes got the rest (one each per block, 15 in all).
old=0
for n in 1 2 3; do
	c=$(grep -c "@$(dn_addr $n)" "$T/fsck")
	old=$((old + c))
done
ok "the old nodes hold the 60 old replicas and 15 new ones" \
    test "$old" -eq 75

ok_read() {
	for i in $(seq 1 35); do
		dfs get "/f$i" "$T/out/f$i" 2>/dev/null || return 1
		cmp -s "$T/in/f$i" "$T/out/f$i" || return 1
	done
}
ok "all 35 files read back identical" ok_read
finish
