#!/bin/sh
# big-dir.sh: a directory of 100,000 entries is listed completely and in
# byte order of the names through dfs ls (the client library's paged
# dfs_client_list) and through the mount (readdir, a page at a time), and
# neither side's memory grows with the directory (issue 14).  Memory is
# judged in a plain build; a sanitizer's quarantine keeps what is freed.
. "$top_srcdir/tests/lib/cluster.sh"
. "$top_srcdir/tests/lib/mount.sh"

need_fuse
N=100000
SAN=false
sanitized && SAN=true

cluster_start -n 1 -r 1 --mount
M="$C/mnt"
NN=$(sed -n 's/^address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" |
    head -n 1)
BIG() { "$PYTHON" "$top_srcdir/tests/integ/big_dir.py" "$@"; }

dfs mkdir /big /small
for i in 1 2 3; do dfs mkdir "/small/s$i"; done
BIG make "$NN" /big $N >"$T/make.out" 2>&1
cat "$T/make.out"
ok "100,000 empty files made in /big" grep -q "^made $N errors 0\$" \
    "$T/make.out"
BIG names $N >"$T/want"

# --- dfs ls: the library's paged listing --------------------------------
rss_small=$(BIG maxrss "$T/small.out" "$top_builddir/dfs" -c \
    "$C/client.conf" ls /small)
rss_big=$(BIG maxrss "$T/ls.out" "$top_builddir/dfs" -c "$C/client.conf" \
    ls /big)
ok "dfs ls lists all 100,000, in byte order of the names" \
    cmp -s "$T/ls.out" "$T/want"
echo "# dfs ls: peak RSS $rss_big KiB for /big, $rss_small KiB for 3 entries"
if ! $SAN; then
	ok "dfs ls of 100,000 entries needs at most 4 MiB more than of 3" \
	    test "$rss_big" -le $((rss_small + 4096))
fi
rss_long=$(BIG maxrss "$T/ls-l.out" "$top_builddir/dfs" -c \
    "$C/client.conf" ls -l /big)
ok "dfs ls -l lists all 100,000 too" test "$(wc -l <"$T/ls-l.out")" -eq $N
if ! $SAN; then
	ok "... within 4 MiB of the small listing's memory" \
	    test "$rss_long" -le $((rss_small + 4096))
fi

# --- the mount: readdir(3) order is the names' byte order ---------------
MP=$(cat "$C/run/mount.pid")
hwm() { sed -n "s/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$MP/status"; }
ls -f "$M/small" >/dev/null
h0=$(hwm)
LC_ALL=C ls -f "$M/big" | grep -v '^\.\.\?$' >"$T/mnt.out"
h1=$(hwm)
ok "ls -f through the mount: all 100,000, in byte order" \
    cmp -s "$T/mnt.out" "$T/want"
LC_ALL=C ls -l "$M/big" >"$T/mnt-l.out"
h2=$(hwm)
ok "ls -l through the mount (readdirplus): 100,000 entries" \
    test "$(grep -c ' n[0-9]*$' "$T/mnt-l.out")" -eq $N
echo "# dfs-mount: peak RSS $h0 KiB before, $h1 after ls -f, $h2 after ls -l"
if ! $SAN; then
	ok "the mount's peak memory grew by at most 8 MiB" \
	    test "$h2" -le $((h0 + 8192))
fi
ok "a name deep in the directory is found" test -f "$M/big/n99999"
finish
