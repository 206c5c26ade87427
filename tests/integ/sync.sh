#!/bin/sh
# sync.sh: when the namespace reaches the namenode's disk (namenode.sync,
# issue 13).  `dfs report` counts the namenode's syncs of its WAL.  With
# the default model (interval) and an interval of an hour, an operation
# alone is not synced, but the end of a `dfs put` and fsync(2) of a file
# (even one opened read-only) or of a directory through the mount each
# force a sync before they return; with the default interval a change is
# synced by the background thread within seconds; with
# namenode.sync=always every operation is.
# Skips (exit 77) only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse

# The namenode's count of namespace syncs, from dfs report.
syncs() {
	dfs report | sed -n 's/^namespace synced to disk: \([0-9]*\) times.*/\1/p'
}
# synced_past N: the count is above N.
synced_past() {
	test "$(syncs)" -gt "$1"
}

# --- interval, an hour: only what asks for it is synced ---------------------
cluster_start -n 1 -r 1 -b 1M --mount -o namenode.sync_interval=1h
M="$C/mnt"
ok "dfs report names the model" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' report | grep -q 'namenode.sync = interval'"
s0=$(syncs)
dfs mkdir /d
s1=$(syncs)
ok "a mkdir alone is not synced (interval of an hour)" \
    test -n "$s0" -a "$s1" = "$s0"
printf 'some bytes\n' >"$T/x"
dfs put "$T/x" /x
s2=$(syncs)
ok "dfs put ends with a sync" test "$s2" -gt "$s1"

# fsync_ro PATH: fsync(2) of PATH opened read-only (a directory too).
fsync_ro() {
	"$PYTHON" -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$1"
}
dfs mkdir /d/sub
fsync_ro "$M/x"
s3=$(syncs)
ok "after a mkdir, fsync of a file opened read-only through the mount syncs" \
    test "$s3" -gt "$s2"
fsync_ro "$M/x"
ok "with nothing committed since, another fsync needs no sync" \
    test "$(syncs)" = "$s3"
dfs chmod 700 /d/sub
fsync_ro "$M/d"
s4=$(syncs)
ok "after a chmod, fsync of a directory through the mount syncs" \
    test "$s4" -gt "$s3"
"$PYTHON" -c 'import os, sys
f = open(sys.argv[1], "wb"); f.write(b"y" * 100000); os.fsync(f.fileno())
' "$M/d/y"
s5=$(syncs)
ok "fsync of a file written through the mount syncs" test "$s5" -gt "$s4"
ok "and its bytes are stored" test "$(dfs cat /d/y | wc -c)" -eq 100000
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1

# --- interval, the default second: the thread syncs what changed ------------
C="$T/c2"
cluster_start -n 1 -r 1
sleep 2	# what start-up committed is synced by now
s0=$(syncs)
dfs mkdir /e
ok "within 10 s of a mkdir the namespace is synced (namenode.sync_interval)" \
    wait_for 10 synced_past "$s0"
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1

# --- always: every operation ------------------------------------------------
C="$T/c3"
cluster_start -n 1 -r 1 -o namenode.sync=always
ok "dfs report names the model" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' report | grep -q 'namenode.sync = always'"
s0=$(syncs)
dfs mkdir /f
dfs mkdir /g
s1=$(syncs)
ok "with namenode.sync=always each mkdir was synced" \
    test "$s1" -ge $((s0 + 2))
ok "the namenode logged its model" \
    grep -q "namenode.sync = always" "$C/logs/namenode.log"

finish
