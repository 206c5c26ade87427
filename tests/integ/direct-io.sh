#!/bin/sh
# direct-io.sh: data nodes with datanode.direct_io on store exactly the
# bytes written (O_DIRECT for aligned packets, buffered for the unaligned
# tail of a block or file), durable and verified like buffered ones: files
# of awkward sizes round-trip through put/get/cat with their sha256, the
# block files on disk equal the source byte for byte, and fsck is healthy.
# Also dfs get into a local file (written with O_DIRECT where it can be)
# of sizes around the 4 MiB pieces it fetches in.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u

sha() { sha256sum <"$1" | cut -d' ' -f1; }

cluster_start -n 3 -r 3 -b 1M -o datanode.direct_io=true
# Sizes: empty, below one 4 KiB page, unaligned tails, exactly a block,
# a block and a byte, several blocks with a tail, around 4 MiB pieces.
for n in 0 1 4095 4096 70001 1048576 1048577 3150000 4194303 4194304 \
    4194305 9000017; do
	head -c "$n" /dev/urandom >"$T/f$n"
	ok "put of $n bytes" dfs put "$T/f$n" "/f$n"
	rm -f "$T/g$n"
	dfs get "/f$n" "$T/g$n"
	ok "get of $n bytes gives the same sha256" \
	    test "$(sha "$T/g$n")" = "$(sha "$T/f$n")"
	dfs cat "/f$n" >"$T/c$n"
	ok "cat of $n bytes gives the same bytes" cmp -s "$T/c$n" "$T/f$n"
done

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
finish
