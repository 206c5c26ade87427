#!/bin/sh
# reuse.sh: connections to data nodes are kept between blocks
# (lib/sockpool.c), on a real 3-node cluster (replication 3) through a
# mount: 40 small files through dfs-mount cost a handful of connections,
# not one per hop of each block's pipeline (each data node logs the peer
# address a block came from); every file reads back and has its three
# replicas; a data node killed and restarted (its kept connections gone
# with it) costs no failed write and no pipeline recovery; a second
# mount reading the files over TCP (short-circuit off) reuses its
# connections from file to file; the mounts' kept connections do not
# outlive them.  Skips (exit 77) only when
# /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse
M="$T/mnt"
M2="$T/mnt2"
trap 'mounts_cleanup "$M" "$M2"' EXIT

# peers: how many distinct connections (peer host:port) brought blocks
# to the data nodes so far.
peers() {
	grep -h "stored block .* from " "$C"/logs/datanode*.log |
	    sed 's/.* from \([0-9.]*:[0-9]*\).*/\1/' | sort -u | wc -l
}
stored() { grep -h "stored block .* from " "$C"/logs/datanode*.log | wc -l; }

# write_files FIRST LAST: 4 KiB files through the mount, kept in $T/in.
write_files() {
	for i in $(seq "$1" "$2"); do
		head -c 4096 /dev/urandom >"$T/in/f$i" || return 1
		cp "$T/in/f$i" "$M/d/f$i" || return 1
	done
}
same_files() {
	for i in $(seq "$1" "$2"); do
		cmp -s "$T/in/f$i" "$M/d/f$i" || { echo "   f$i differs"; return 1; }
	done
}
healthy() {
	dfs fsck / >"$T/fsck" 2>&1 &&
	    grep -q "files: $1, blocks: $1, healthy: $1," "$T/fsck"
}

cluster_start -n 3 -b 64K -r 3 --heartbeat 1
mkdir -p "$T/in"
ok "the mount comes up" mount_at "$M"
M1PID=$MPID
mkdir "$M/d"

ok "40 files of 4 KiB through the mount" write_files 1 40
ok "they read back" same_files 1 40
ok "each has its block on 3 nodes" wait_for 20 healthy 40
n=$(stored)
p=$(peers)
echo "# $n replicas stored over $p connections"
ok "120 replicas were stored" test "$n" -eq 120
ok "over at most 20 connections, not one per hop (120)" test "$p" -le 20

# A node killed and started again: the connections kept to it and from
# it died with it; the next writes open new ones, and none fails.
victim=$(cat "$C/run/datanode2.pid")
kill -9 "$victim"
"$top_builddir/dfs" cluster up "$C" >"$T/up2.log" 2>&1
ok "the killed node restarts" test $? -eq 0
ok "and is live again" wait_for 20 sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' report | grep -q '3 live, 0 dead'"
ok "20 more files through the same mount" write_files 41 60
ok "they read back" same_files 41 60
ok "each has its block on 3 nodes" wait_for 20 healthy 60
ok "no write needed a pipeline recovery" sh -c \
    "! grep -q 'continuing on\|pipeline for block' '$T/mount.log'"

# Reads over TCP (short-circuit off, as on a machine without a data
# node): the connections the mount keeps to the data nodes after reading
# 30 files are the very ones that read 30 more.
dn_ports() {
	for i in 1 2 3; do
		sed -n 's/^listen *= *"\{0,1\}[^"]*:\([0-9]*\)"\{0,1\}$/\1/p' \
		    "$C/datanode$i.conf"
	done
}
# kept: the local ends of the second mount's connections to data nodes.
kept() {
	f=
	for p in $(dn_ports); do
		f="${f:+$f or }dport = :$p"
	done
	ss -Htnp state established "( $f )" | grep "pid=$M2PID," |
	    awk '{ print $3 }' | sort
}
read_files() {
	for i in $(seq "$1" "$2"); do
		cat "$M2/d/f$i" >"$T/got" && cmp -s "$T/in/f$i" "$T/got" ||
		    return 1
	done
}
ok "a second mount, reading over TCP, comes up" \
    mount_at "$M2" -o client.short_circuit=false
M2PID=$MPID
ok "it reads 30 files back" read_files 1 30
kept >"$T/kept1"
ok "then 30 more" read_files 31 60
kept >"$T/kept2"
echo "# connections kept: $(wc -l <"$T/kept1"), then $(wc -l <"$T/kept2")"
ok "it keeps its connections to the data nodes between files" \
    test -s "$T/kept1"
ok "and the next 30 files are read over the same ones" \
    cmp -s "$T/kept1" "$T/kept2"
fusermount3 -u "$M2"
wait "$M2PID"
ok "that mount exits cleanly" test $? -eq 0

fusermount3 -u "$M"
wait "$M1PID"
ok "the mount exits cleanly, its kept connections closed" test $? -eq 0
finish
