#!/bin/sh
# programs.sh: every program answers --help and --version, and refuses a bad
# configuration with a message naming the file, line and key.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
b=$top_builddir

for p in dfs dfs-sum dfs-mount dfs-namenode dfs-datanode; do
	ok "$p --version names the program" \
	    sh -c "'$b/$p' --version | grep -q '^$p (npdfs)'"
	ok "$p --help prints a usage line" \
	    sh -c "'$b/$p' --help | grep -q 'usage: $p'"
done

printf '[namenode]\nheartbeat = 0\n' >"$T/bad.conf"
for p in dfs-namenode dfs-datanode; do
	ok "$p rejects an out-of-range key with file:line" \
	    fails_with "bad.conf:2: namenode.heartbeat" "$b/$p" -c "$T/bad.conf"
done
printf '[nosuch]\nx = 1\n' >"$T/bad2.conf"
ok "dfs rejects an unknown section" \
    fails_with "unknown section" "$b/dfs" -c "$T/bad2.conf" ls /
ok "dfs rejects an unknown command" \
    sh -c "'$b/dfs' frobnicate 2>&1 | grep -q \"unknown command 'frobnicate'\""
ok "dfs-mount without a mount point prints its usage and fails" \
    sh -c "! '$b/dfs-mount' 2>'$T/mount.err' && grep -q 'usage: dfs-mount' \
    '$T/mount.err'"
# With a certificate (every connection needs one) but nothing listening.
. "$top_srcdir/tests/lib/pki.sh"
pki_make "$T/pki" root:superuser
ok "dfs-mount refuses an unreachable namenode with exit 1, mounting nothing" \
    fails_with "127.0.0.1:1" "$b/dfs-mount" -c "$T/pki/root.conf" \
    --namenode 127.0.0.1:1 "$T"
ok "dfs-sum fails clearly when the namenode is unreachable" \
    fails_with "127.0.0.1:1" "$b/dfs-sum" -c "$T/pki/root.conf" \
    --namenode 127.0.0.1:1 /x.npy
ok "dfs-sum without a certificate says which setting is missing" \
    fails_with "tls.ca is not set" "$b/dfs-sum" --namenode 127.0.0.1:1 /x.npy
ok "dfs without a certificate says so too" \
    fails_with "tls.ca is not set" "$b/dfs" --namenode 127.0.0.1:1 ls /
finish
