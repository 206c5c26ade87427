#!/bin/sh
# direct-io.sh: data nodes with datanode.direct_io=true store
# exactly the bytes written (O_DIRECT for aligned packets, buffered for
# the unaligned tail of a block or file), durable and verified like
# buffered ones: files of awkward sizes round-trip through put/get/cat
# with their sha256, the block files on disk equal the source byte for
# byte, and fsck is healthy.  Reads over TCP of replicas that are not in
# the page cache are made with O_DIRECT and still check every chunk: a
# replica damaged on disk is refused, never served.  Also dfs get into a
# local file (written with O_DIRECT where it can be) of sizes around the
# 4 MiB pieces it fetches in, and datanode.direct_io=downstream.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u

sha() { sha256sum <"$1" | cut -d' ' -f1; }
# No local socket: every read goes over TCP through the data node's read
# path, not the short-circuit one.
cluster_start -n 3 -r 3 -b 1M -o log.level=debug -o datanode.direct_io=true -o datanode.local_socket=
# Sizes: empty, below one 4 KiB page, unaligned tails, exactly a block,
# a block and a byte, several blocks with a tail, around 4 MiB pieces.
for n in 0 1 4095 4096 70001 1048576 1048577 3150000 4194303 4194304 \
    4194305 9000017; do
	head -c "$n" /dev/urandom >"$T/f$n"
	ok "put of $n bytes" dfs put "$T/f$n" "/f$n"
	# First over TCP, while the replicas are not in the page cache.
	dfs cat "/f$n" >"$T/c$n"
	ok "cat over TCP of $n bytes gives the same bytes" \
	    cmp -s "$T/c$n" "$T/f$n"
	rm -f "$T/g$n"
	dfs get "/f$n" "$T/g$n"
	ok "get of $n bytes gives the same sha256" \
	    test "$(sha "$T/g$n")" = "$(sha "$T/f$n")"
done
ok "the data nodes read uncached replicas with O_DIRECT" \
    grep -q "direct reads of" "$C"/logs/datanode*.log

# Every replica on disk: the block files of each node, in file order, are
# the source (blocks are 1 MiB, and each node holds all of them).
dfs fsck /f9000017 --blocks >"$T/fsck" 2>&1
ok "fsck of the largest file is healthy" grep -q HEALTHY "$T/fsck"
for i in 1 2 3; do
	ids=$(sed -n 's/^ *block \([0-9]*\) gen \([0-9]*\) .*/\1_\2/p' \
	    "$T/fsck")
	: >"$T/disk$i"
	for id in $ids; do
		f=$(find "$C/datanode$i" -name "blk_$id" -path '*current*' |
		    head -n 1)
		[ -n "$f" ] && cat "$f" >>"$T/disk$i"
	done
	ok "data node $i holds the largest file byte for byte" \
	    cmp -s "$T/disk$i" "$T/f9000017"
done
ok "fsck / is healthy" dfs fsck /

# Damage one byte inside the first block of a new file on every node,
# past the first page so that the read of the block still starts with
# O_DIRECT: no replica may be served, the read fails and names the
# checksum.
head -c 2097152 /dev/urandom >"$T/bad"
ok "put of a file to damage" dfs put "$T/bad" /bad
dfs fsck /bad --blocks >"$T/fsck" 2>&1
id=$(sed -n 's/^ *block \([0-9]*\) gen \([0-9]*\) .*/\1_\2/p' "$T/fsck" |
    head -n 1)
for i in 1 2 3; do
	f=$(find "$C/datanode$i" -name "blk_$id" -path '*current*' | head -n 1)
	printf 'X' | dd of="$f" bs=1 seek=300000 conv=notrunc,fsync \
	    2>/dev/null
done
ok "a TCP read of a block damaged on every node fails on its checksum" \
    fails_with "checksum" dfs cat /bad
ok "the data nodes found the damage" \
    grep -q "checksum error in block ${id%_*}" "$C"/logs/datanode*.log
cluster_cleanup

# downstream: the first node of each pipeline writes buffered, the others
# direct; the bytes are the same everywhere.
T=$(mktemp -d "${TMPDIR:-/tmp}/npdfs-test.XXXXXX")
C="$T/cluster"
cluster_start -n 3 -r 3 -b 1M -o datanode.direct_io=downstream
head -c 5000000 /dev/urandom >"$T/d"
ok "put with direct_io=downstream" dfs put "$T/d" /d
dfs cat /d >"$T/dc"
ok "cat with direct_io=downstream" cmp -s "$T/dc" "$T/d"
dfs get /d "$T/dg"
ok "get with direct_io=downstream" cmp -s "$T/dg" "$T/d"
ok "fsck / is healthy with direct_io=downstream" dfs fsck /
finish
