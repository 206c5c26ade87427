#!/bin/sh
# ha-partition.sh: a namenode group split by the network (issue 12).
# Each of three namenodes runs in a network namespace of its own, joined
# by a bridge to the data nodes and clients.  The leader is cut off (its
# link down): the two others elect a leader and go on taking writes; the
# old leader, alone, takes none (a client beside it is refused, and its
# write never appears); healed, it follows the new leader and catches up,
# and the three databases hold the same namespace.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/group.sh"
set -u

ID=$(($$ % 100000))
A=$((200 + ID % 50))
B=$((ID % 250))
S="10.$A.$B"		# member K serves on $S.K, in namespace nph$ID-K
R="10.$A.$(((B + 1) % 250))"	# the host's end of its link to member K: $R.K
# No bridge and no forwarding (a host's firewall may drop forwarded
# packets): every namespace has a link of its own to the host and to
# each other member, and its address on each, with the far end as peer.
partition_cleanup() {
	for k in 1 2 3; do
		ip netns del "nph$ID-$k" 2>/dev/null
		ip link del "nhr$ID$k" 2>/dev/null
	done
	cluster_cleanup
}
trap partition_cleanup EXIT
conf_get() {	# conf_get FILE KEY (in [section] key = "value" form)
	sed -n "s/^$2 = \"\(.*\)\"\$/\1/p" "$1"
}

# --- the network ----------------------------------------------------------
net() {
	for k in 1 2 3; do
		ns="nph$ID-$k"
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
		ip link add "nhr$ID$k" type veth peer name "nhh$ID$k" &&
		    ip link set "nhh$ID$k" netns "$ns" &&
		    ip addr add "$R.$k" peer "$S.$k" dev "nhr$ID$k" &&
		    ip link set "nhr$ID$k" up &&
		    ip -n "$ns" addr add "$S.$k" peer "$R.$k" dev "nhh$ID$k" &&
		    ip -n "$ns" link set "nhh$ID$k" up || return 1
	done
	for pair in "1 2" "1 3" "2 3"; do
		set -- $pair
		ip -n "nph$ID-$1" link add "nhm$ID$1$2" type veth \
		    peer name "nhm$ID$2$1" netns "nph$ID-$2" &&
		    ip -n "nph$ID-$1" addr add "$S.$1" peer "$S.$2" \
		    dev "nhm$ID$1$2" &&
		    ip -n "nph$ID-$2" addr add "$S.$2" peer "$S.$1" \
		    dev "nhm$ID$2$1" &&
		    ip -n "nph$ID-$1" link set "nhm$ID$1$2" up &&
		    ip -n "nph$ID-$2" link set "nhm$ID$2$1" up || return 1
	done
}
if ! net 2>"$T/net.err"; then
	echo "not ok - cannot make the namespaces (this test needs root and"
	echo "         network namespaces): $(cat "$T/net.err")"
	exit 1
fi
# cut K up|down: member K's links to the host and to the others, set from
# their far ends (member K itself sees only a carrier lost).
cut() {
	ip link set "nhr$ID$1" "$2"
	for j in 1 2 3; do
		[ "$j" -eq "$1" ] && continue
		ip -n "nph$ID-$j" link set "nhm$ID$j$1" "$2"
	done
}

# --- the cluster, its namenodes moved into the namespaces ---------------
cluster_start --namenodes 3 -n 3 -b 64K -r 2 --heartbeat 1 \
    --dead-timeout 30 -o namenode.election_timeout=1000
# Moved, the members start their log afresh from the same namespace: a
# Raft log keeps the addresses it was started with.  Wait until every
# member applied the same entries, stop, and drop the logs; the entries'
# serials start again with them (a member with entries and no log would
# refuse to start: it must rejoin, nn-join.c).
same() {
	[ "$("$top_builddir/dfs" cluster status "$C" |
	    sed -n 's/.* applied \([0-9]*\)$/\1/p' | sort -u | wc -l)" -eq 1 ]
}
wait_for 30 same
"$top_builddir/dfs" cluster down "$C" >/dev/null
rm -rf "$C"/namenode*/raft
for db in "$C"/namenode*/namespace.db; do
	"$PYTHON" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE meta SET value = 0 WHERE key = ?", ("raft_serial",))
c.commit()' "$db"
done
names="namenode namenode2 namenode3"
k=1
for n in $names; do
	port=$(conf_get "$C/$n.conf" listen | sed 's/.*://')
	sed -i "s/127\.0\.0\.1:$port/$S.$k:$port/g" "$C"/*.conf
	k=$((k + 1))
done
ok "every config names the namespaced members" \
    test "$(grep -l "$S.3:" "$C"/*.conf | wc -l)" -ge 7
start_nn() {	# start_nn K: member K in its namespace, as cluster up would
	n=namenode
	[ "$1" -gt 1 ] && n="namenode$1"
	ip netns exec "nph$ID-$1" "$top_builddir/dfs-namenode" \
	    -c "$C/$n.conf" >>"$C/logs/$n.log" 2>&1 &
	echo $! >"$C/run/$n.pid"
}
for k in 1 2 3; do
	start_nn $k
done
# `dfs cluster up` below starts whatever it finds not running, and a PID
# whose program is still "ip" (netns exec before its exec) looks so: it
# would start a second member outside the namespace and take over the
# PID file (seen under load: the group's status then lost two members).
execd() {
	for n in namenode namenode2 namenode3; do
		tr '\0' ' ' <"/proc/$(cat "$C/run/$n.pid")/cmdline" 2>/dev/null |
		    grep -q dfs-namenode || return 1
	done
}
wait_for 10 execd
# The data nodes (and a wait for them to be live through the group).
ok "the data nodes come up and register" \
    "$top_builddir/dfs" cluster up "$C"
st() { "$top_builddir/dfs" cluster status "$C" 2>/dev/null; }
ok "one leader" wait_for 30 sh -c \
    "'$top_builddir/dfs' cluster status '$C' | grep -q ' leader term '"
L=$(st | awk '$6 == "leader" { print $1 }')
case $L in
namenode) LK=1 ;; namenode2) LK=2 ;; namenode3) LK=3 ;; *) LK=0 ;;
esac
ok "the leader is $L" test "$LK" -ne 0
if [ "$LK" -eq 0 ]; then
	st | sed 's/^/# /'
	finish
	exit 1
fi
ok "a write before the cut" dfs mkdir /before

# --- cut the leader off ---------------------------------------------------
cut "$LK" down
t0=$(date +%s)
newleader() {
	st | awk -v old="$L" '$6 == "leader" && $1 != old { f = 1 }
	    END { exit !f }'
}
ok "the majority elects another leader" wait_for 30 newleader
echo "# a new leader $(($(date +%s) - t0)) s after the cut"
ok "the majority takes writes" dfs mkdir /after-cut
ok "and files" sh -c "head -c 200000 /dev/urandom >'$T/f' &&
    '$top_builddir/dfs' -c '$C/client.conf' put '$T/f' /after-cut/f"
# A client beside the old leader, asking it alone.
sed "s/^address = .*/address = \"$S.$LK:$(conf_get "$C/$L.conf" listen |
    sed 's/.*://')\"/" "$C/client.conf" >"$T/lonely.conf"
out=$(ip netns exec "nph$ID-$LK" "$top_builddir/dfs" -c "$T/lonely.conf" \
    -o client.timeout=5s mkdir /minority 2>&1)
rc=$?
echo "# the old leader said: $out"
ok "the old leader, alone, refuses a write" test "$rc" -ne 0
ok "saying it is not the leader (or not answering in time)" sh -c \
    "echo '$out' | grep -qi 'not the leader\|timed out\|timeout'"

# --- heal -----------------------------------------------------------------
cut "$LK" up
caught_up() {
	s=$(st)
	echo "$s" | grep "^$L " | grep -q " follower term " &&
	    [ "$(echo "$s" | sed -n 's/.* applied \([0-9]*\)$/\1/p' |
	    sort -u | wc -l)" -eq 1 ] &&
	    [ "$(echo "$s" | grep -c ' applied ')" -eq 3 ]
}
ok "healed, the old leader follows and has caught up" wait_for 60 caught_up
st | sed 's/^/# /'
ok "a write after the heal" dfs mkdir /after-heal
ls=$(dfs ls / | tr '\n' ' ')
ok "the namespace has every acknowledged write: $ls" sh -c \
    "echo '$ls' | grep -q 'before' && echo '$ls' | grep -q 'after-cut' &&
    echo '$ls' | grep -q 'after-heal'"
ok "and not the refused one" sh -c "! echo '$ls' | grep -q minority"
ok "the file written during the cut reads back" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' get /after-cut/f '$T/f2' &&
    cmp '$T/f' '$T/f2'"
ok "every member applied the same log" wait_for 30 caught_up
"$top_builddir/dfs" cluster down "$C" >/dev/null
ok "the three databases hold the same namespace" same_namespace
finish
