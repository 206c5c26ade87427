#!/bin/sh
# heal-net.sh: a network partition (issue 6, promise 3).  Four data nodes
# live in network namespaces of their own, each joined by a veth pair to a
# bridge in a fifth namespace that holds the namenode and the client; the
# addresses (10.200.0.0/24) exist only inside these namespaces, which the
# test creates and deletes.  One data node's link is cut: it is declared
# dead and its blocks re-replicated on the others.  The link comes back:
# the node registers again and the surplus replicas are trimmed.  Where
# network namespaces cannot be made (no privileges, no bridge support)
# the test says so and skips (exit 77).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
CHECK="$top_srcdir/tests/integ/heal_check.py"
HUB="npdfs$$h"
NSES=""
mkdir "$T/in" "$T/out"

net_cleanup() {
	set +e
	"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
	for f in "$C"/run/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	for ns in $NSES; do
		ip netns del "$ns" 2>/dev/null
	done
	cluster_cleanup
}
trap net_cleanup EXIT

# Without namespaces there is nothing to test: say so, and exit 77, which
# the automake test driver counts as SKIP.
skip() {
	echo "# skipped: $*"
	echo "$PASSED passed, $FAILED failed (network namespaces unavailable)"
	exit 77
}

# --- the namespaces --------------------------------------------------------
command -v ip >/dev/null 2>&1 || skip "no ip(8) command"
mkns() {
	ip netns add "$1" 2>>"$T/ns.err" || return 1
	NSES="$1 $NSES"
	ip -n "$1" link set lo up
}
mkns "$HUB" || skip "cannot create a network namespace: $(cat "$T/ns.err")"
ip -n "$HUB" link add br0 type bridge 2>>"$T/ns.err" &&
    ip -n "$HUB" addr add 10.200.0.1/24 dev br0 &&
    ip -n "$HUB" link set br0 up ||
    skip "cannot make a bridge in a namespace: $(cat "$T/ns.err")"
for i in 1 2 3 4; do
	ns="npdfs$$d$i"
	mkns "$ns" &&
	    ip -n "$HUB" link add "vp$i" type veth peer name eth0 netns "$ns" &&
	    ip -n "$HUB" link set "vp$i" master br0 &&
	    ip -n "$HUB" link set "vp$i" up &&
	    ip -n "$ns" addr add "10.200.0.$((10 + i))/24" dev eth0 &&
	    ip -n "$ns" link set eth0 up 2>>"$T/ns.err" ||
	    skip "cannot make a veth pair: $(cat "$T/ns.err")"
done

# --- a cluster whose daemons run in them -----------------------------------
# `dfs cluster up` writes the configs (and the secret); they are then
# moved onto the namespaces' addresses and the daemons started there.
cluster_start -n 4 -b 64K -r 3 --heartbeat 1 --dead-timeout 4
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
nnport=$(sed -n 's/^listen *= *"\{0,1\}127\.0\.0\.1:\([0-9]*\)"\{0,1\}$/\1/p' \
    "$C/namenode.conf")
for f in "$C"/*.conf; do
	sed -i "s/127\.0\.0\.1:$nnport/10.200.0.1:$nnport/" "$f"
done
for i in 1 2 3 4; do
	host=10.200.0.$((10 + i))
	sed -i "s/^listen *= *\"\{0,1\}127\.0\.0\.1:/listen = \"$host:/" \
	    "$C/datanode$i.conf"
done
start_in() {	# start_in NS NAME PROG
	ip netns exec "$1" "$top_builddir/$3" -c "$C/$2.conf" \
	    >>"$C/logs/$2.log" 2>&1 &
	echo $! >"$C/run/$2.pid"
}
start_in "$HUB" namenode dfs-namenode
for i in 1 2 3 4; do
	start_in "npdfs$$d$i" "datanode$i" dfs-datanode
done
dfs() {
	ip netns exec "$HUB" "$top_builddir/dfs" -c "$C/client.conf" "$@"
}
live() { dfs report | grep -q "data nodes: $1 live, $2 dead"; }
ok "four data nodes in their own namespaces register" wait_for 15 live 4 0
ns_addrs() { [ "$(dfs report | grep -c ' 10\.200\.0\.1[1-4]:')" -eq 4 ]; }
ok "they registered with their namespace addresses" ns_addrs

check() {
	dfs fsck / >/dev/null 2>&1 || return 1
	dfs fsck / --blocks >"$T/fsck" 2>&1
	"$PYTHON" "$CHECK" "$C" --srcdir "$T/in" "$@" <"$T/fsck"
}
st=0
for i in 1 2 3 4 5 6 7 8; do
	head -c $((60000 * i + 777)) /dev/urandom >"$T/in/n$i"
	dfs put "$T/in/n$i" "/n$i" || st=1
done
ok "8 files written across the namespaces" test $st -eq 0
ok "every block has 3 replicas equal to the source" check --repl 3 \
    --disk-exact

# --- cut one off -----------------------------------------------------------
t0=$(date +%s)
ip -n "$HUB" link set vp3 down
ok "the cut-off node is declared dead" wait_for 10 live 3 1
ok "within 30 s its blocks are re-replicated on the others" \
    wait_for 30 check --repl 3 --skip 10.200.0.13:"$(sed -n \
    's/^listen *= *"\{0,1\}10\.200\.0\.13:\([0-9]*\)"\{0,1\}$/\1/p' \
    "$C/datanode3.conf")"
echo "# healthy again $(($(date +%s) - t0)) s after the cut"
st=0
for i in 1 2 3 4 5 6 7 8; do
	rm -f "$T/out/n$i"
	dfs get "/n$i" "$T/out/n$i" 2>/dev/null &&
	    cmp -s "$T/in/n$i" "$T/out/n$i" || st=1
done
ok "every file reads back identical meanwhile" test $st -eq 0

# --- and back --------------------------------------------------------------
t1=$(date +%s)
lines=$(wc -l <"$C/logs/datanode3.log")
ip -n "$HUB" link set vp3 up
ok "the node comes back and registers again" wait_for 20 live 4 0
ok "within 30 s the surplus replicas are trimmed" wait_for 30 check \
    --repl 3 --disk-exact --no-orphans
echo "# trimmed $(($(date +%s) - t1)) s after the link came back"
reregistered() {
	tail -n +"$lines" "$C/logs/datanode3.log" |
	    grep -q "registered with namenode"
}
ok "the node registered again once its link was back" reregistered
finish
