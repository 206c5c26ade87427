#!/bin/sh
# sum.sh: dfs-sum on real clusters against oracles nobody here wrote.
# NumPy writes arrays of every supported dtype, both byte orders, C and
# fortran order, 0-d, empty and multi-dimensional, plus adversarial data;
# Python computes the expected sums (math.fsum with the IEEE rules of
# promise 4, exact integer sums: tests/integ/sum_check.py); dfs-sum must
# print the same string.  Then: the same bytes for three block sizes,
# replication 1 and 3, on 1, 3 and 4 data nodes; the exact answer while a
# data node dies under dfs-sum; the exact answer with a corrupted replica,
# which the namenode learns about; and the errors a user can meet.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
CHECK="$top_srcdir/tests/integ/sum_check.py"
SUMCMD="$top_builddir/dfs-sum"

# Every cluster (3, 1 and 4 nodes) is stopped by PID at the end; then
# cluster.sh's cleanup removes the directory.
EXTRA=""
sum_cleanup() {
	set +e
	for d in $EXTRA; do
		cluster_kill "$d"
	done
	cluster_cleanup
}
trap sum_cleanup EXIT

# cluster.sh's fails_with leaves `set -e` on; this script checks every
# status itself and must go on after a failed check, so it turns it off.
fails() {
	fails_with "$@"
	st=$?
	set +e
	return $st
}

dsum() {
	"$SUMCMD" -c "$C/client.conf" "$@"
}

# same OUTPUT WANT: compare two strings, saying what differed.
same() {
	if [ "$1" != "$2" ]; then
		echo "   got '$1', wanted '$2'"
		return 1
	fi
}

# sum_is PATH WANT: dfs-sum PATH prints exactly WANT and exits 0.
sum_is() {
	got=$(dsum "$1" 2>"$T/sum.err") || {
		echo "   dfs-sum $1 failed: $(cat "$T/sum.err")"
		return 1
	}
	same "$got" "$2"
}

# The address data node N listens on.
dn_addr() {
	sed -n 's/^listen = "\(.*\)"$/\1/p' "$C/datanode$1.conf"
}

# Stop a cluster's processes by PID (a test cluster needs no clean exit).
cluster_kill() {
	for f in "$1"/run/*.pid; do
		if [ -f "$f" ]; then
			kill -9 "$(cat "$f")" 2>/dev/null || true
		fi
	done
	return 0
}

"$PYTHON" "$CHECK" gen "$T/arr" || { echo "not ok - sum_check.py gen"; exit 1; }

# --- every dtype, byte order, layout and the adversarial arrays ---------
C="$T/c3"
EXTRA="$C"
cluster_start -n 3 -b 64K -r 3 -o "namenode.test_key_file=$C/keys"
while read -r name want; do
	dfs put "$T/arr/$name.npy" "/$name.npy" ||
	    echo "   put of $name.npy failed"
done <"$T/arr/expected.txt"
while read -r name want; do
	ok "$name: $want" sum_is "/$name.npy" "$want"
done <"$T/arr/expected.txt"

# Several paths at once: "PATH VALUE" lines, in order.
paths=$(sed 's|^\([^ ]*\) .*|/\1.npy|' "$T/arr/expected.txt")
sed 's|^\([^ ]*\) |/\1.npy |' "$T/arr/expected.txt" >"$T/multi.want"
# shellcheck disable=SC2086
dsum $paths >"$T/multi.got" 2>"$T/multi.err"
ok "one run over every array prints PATH VALUE for each, in order" \
    cmp "$T/multi.got" "$T/multi.want"

for name in f8-le-c3d c16-be-f3d i8-be-1d u8-le-1d b1-na-c3d f2-be-0d \
    f4-le-empty c8-le-empty adv-nan-f8 adv-overflow-inf-f8 adv-u8-top \
    adv-inf-c8; do
	ok "--json for $name" sh -c "'$SUMCMD' -c '$C/client.conf' --json \
	    /$name.npy | '$PYTHON' '$CHECK' json '$T/arr/$name.npy'"
done
ok "--json gives one object per path" sh -c "'$SUMCMD' -c \
    '$C/client.conf' --json /f8-le-c3d.npy /i1-na-1d.npy | wc -l | \
    grep -qx 2"
ok "--stats names every data node on stderr, stdout unchanged" sh -c \
    "'$SUMCMD' -c '$C/client.conf' --stats /f8-le-1d.npy 2>'$T/stats' \
    >'$T/stats.out' && [ \$(grep -c 'blocks, .* bytes' '$T/stats') -eq 3 ] \
    && [ \$(wc -l <'$T/stats.out') -eq 1 ]"
# The certificate still comes from a config (here one with only [tls]).
sed -n '/^\[tls\]/,$p' "$C/client.conf" >"$T/tls-only.conf"
ok "--namenode instead of the config's address" sh -c \
    "NPDFS_CONF='$T/tls-only.conf' '$SUMCMD' --namenode \
    \$(sed -n 's/^address = \"\\(.*\\)\"\$/\\1/p' '$C/client.conf') \
    /adv-cancel-f8.npy | grep -qx 20000.0"
ok "NPDFS_CONF instead of -c" sh -c "NPDFS_CONF='$C/client.conf' \
    '$SUMCMD' /adv-i8-max.npy | grep -qx \
    \"\$(grep '^adv-i8-max ' '$T/arr/expected.txt' | cut -d' ' -f2)\""

# --- hostile REDUCE requests at a data node ------------------------------
# shellcheck disable=SC2046 # the four fields, split on purpose
set -- $(dfs fsck /f8-le-1d.npy --blocks | sed -n \
    's/^  block \([0-9]*\) gen \([0-9]*\) offset [1-9][0-9]* len \([0-9]*\) .*: [0-9]*@\([^ (]*\).*/\1 \2 \3 \4/p' | head -1)
if [ $# -eq 4 ]; then
	"$PYTHON" "$CHECK" hostile "$4" "$C/keys" "$1" "$2" "$3" \
	    >"$T/hostile" 2>&1
	st=$?
	cat "$T/hostile"
	PASSED=$((PASSED + $(grep -c '^ok' "$T/hostile")))
	FAILED=$((FAILED + $(grep -c '^not ok' "$T/hostile")))
	[ "$st" -eq 0 ] || [ "$(grep -c '^not ok' "$T/hostile")" -gt 0 ] || {
		echo "not ok - the hostile REDUCE checks did not run"
		FAILED=$((FAILED + 1))
	}
else
	echo "not ok - no block of /f8-le-1d.npy found in fsck --blocks"
	FAILED=$((FAILED + 1))
fi
ok "the data node still serves after the hostile requests" \
    sum_is /f8-le-1d.npy "$(grep '^f8-le-1d ' "$T/arr/expected.txt" | \
    cut -d' ' -f2)"

# --- errors -------------------------------------------------------------
head -c 100000 /dev/urandom >"$T/plain"
dfs put "$T/plain" /plain
dfs mkdir /dir
"$PYTHON" -c "import numpy as np; \
np.save('$T/str.npy', np.array(['abc', 'de'])); \
np.save('$T/rec.npy', np.zeros(3, dtype=[('a', '<i4'), ('b', '<f8')])); \
np.save('$T/obj.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)"
for f in str rec obj; do
	dfs put "$T/$f.npy" "/$f.npy"
done
ok "missing file: exit 1, says so" fails "no such file" dsum /nope.npy
ok "a directory: exit 1, says so" fails "is a directory" dsum /dir
ok "plain bytes: exit 1, says so" \
    fails "not a .npy array: /plain (stored as plain bytes)" dsum /plain
ok "string dtype: exit 1, unsupported dtype" \
    fails "unsupported dtype '<U3'" dsum /str.npy
ok "structured dtype: exit 1, unsupported dtype" \
    fails "unsupported dtype" dsum /rec.npy
ok "object dtype: exit 1, unsupported dtype" \
    fails "unsupported dtype '|O'" dsum /obj.npy
ok "one bad path among good ones: exit 1, the good ones printed" sh -c \
    "'$SUMCMD' -c '$C/client.conf' /adv-cancel-f8.npy /nope.npy \
    /adv-b1-true.npy >'$T/mixed' 2>/dev/null; [ \$? -eq 1 ] && \
    grep -qx '/adv-cancel-f8.npy 20000.0' '$T/mixed' && \
    grep -qx '/adv-b1-true.npy 90000' '$T/mixed'"
ok "no PATH: usage, exit 2" sh -c "'$SUMCMD' >/dev/null 2>&1; [ \$? -eq 2 ]"
ok "--version" sh -c "'$SUMCMD' --version | grep -q '^dfs-sum (npdfs) '"
ok "a bad -o: exit 1" fails "client.nope" dsum -o client.nope=1 /x

# --- the same bytes for every layout: block size, replication, nodes ----
"$PYTHON" -c "import numpy as np; rng = np.random.default_rng(7); \
m = 10.0 ** rng.uniform(-300, 300, 150000) * rng.choice([-1, 1], 150000); \
a = np.concatenate([m, -m * 0.999999, rng.standard_normal(3) * 1e-9]); \
rng.shuffle(a); np.save('$T/lay-f8.npy', a); \
np.save('$T/lay-c16.npy', (a[:100000] + 1j * a[100000:200000]).astype('>c16')); \
np.save('$T/lay-i8.npy', rng.integers(-2**63, 2**63 - 1, 300001, \
endpoint=True).reshape(300001, 1))"
for a in f8 c16 i8; do
	eval "want_$a=\$('$PYTHON' '$CHECK' oracle '$T/lay-$a.npy')"
done
: >"$T/layouts"
# layouts CLUSTER BLOCKSIZE:REPLICATION...: store each array in each way
# and record what dfs-sum prints.
layouts() {
	cl=$1
	shift
	for spec in "$@"; do
		b=${spec%:*}
		r=${spec#*:}
		for a in f8 c16 i8; do
			p="/lay-$a-$b-r$r.npy"
			dfs put -b "$b" -r "$r" "$T/lay-$a.npy" "$p" ||
			    echo "   put -b $b -r $r failed"
			got=$(dsum "$p" 2>&1)
			echo "$a $got" >>"$T/layouts"
			eval "want=\$want_$a"
			ok "$cl nodes, $b blocks, replication $r: $a sum exact" \
			    same "$got" "$want"
		done
	done
}
layouts 3 64K:1 64K:3 96K:1 96K:3 1M:1 1M:3

# --- elements that straddle chunk and 1 MiB read edges ------------------
for d in '<c16' '>u2' '<f8'; do
	f="$T/odd-$(echo "$d" | tr '<>' 'lb').npy"
	"$PYTHON" "$CHECK" odd "$f" "$d" 600000
	want=$("$PYTHON" "$CHECK" oracle "$f")
	for b in 64K 2M; do
		dfs put -b "$b" "$f" "/$(basename "$f" .npy)-$b.npy"
		ok "data at offset 133, $d, $b blocks: exact" \
		    sum_is "/$(basename "$f" .npy)-$b.npy" "$want"
	done
done

# --- corruption: every replica on one node of a 16-block array -----------
"$PYTHON" -c "import numpy as np; \
np.save('$T/cor.npy', np.random.default_rng(3).standard_normal(131072))"
want_cor=$("$PYTHON" "$CHECK" oracle "$T/cor.npy")
dfs put -r 3 "$T/cor.npy" /cor.npy
dfs put -r 1 "$T/cor.npy" /cor1.npy
dfs fsck /cor.npy --blocks >"$T/cor.fsck"
dfs fsck /cor1.npy --blocks >"$T/cor1.fsck"
# corrupt_on N FSCK: flip one byte in the middle of every replica data
# node N holds of the blocks listed; prints the block ids it damaged.
corrupt_on() {
	sed -n 's/^  block \([0-9]*\) gen \([0-9]*\) .* len \([0-9]*\) .*/\1 \2 \3/p' \
	    "$2" | while read -r id gen len; do
		f="$C/datanode$1/current/blk_${id}_$gen"
		[ -f "$f" ] || continue
		"$PYTHON" -c "import sys; f = open(sys.argv[1], 'r+b'); \
f.seek($len // 2); b = f.read(1); f.seek($len // 2); \
f.write(bytes([b[0] ^ 0x5a])); f.close()" "$f"
		echo "$id"
	done
}
bad=$(corrupt_on 1 "$T/cor.fsck")
# shellcheck disable=SC2086 # block ids, one per word
ok "corrupted datanode1's replicas of /cor.npy ($(echo $bad | wc -w) blocks)" \
    test -n "$bad"
ok "with one corrupt replica per block the sum is still exact" \
    sum_is /cor.npy "$want_cor"
ok "dfs-sum said it met a checksum error and retried" \
    grep -q "checksum error in block .*trying another replica" "$T/sum.err"
addr1=$(dn_addr 1)
# reported: some damaged block no longer has datanode1 as a good replica.
reported() {
	dfs fsck /cor.npy --blocks >"$T/cor.fsck2" 2>&1
	for id in $bad; do
		line=$(grep "^  block $id gen " "$T/cor.fsck2")
		case "$line" in
		*"@$addr1(corrupt)"*) return 0 ;;
		*"@$addr1 "* | *"@$addr1") ;;
		*) return 0 ;;
		esac
	done
	return 1
}
n=0
until reported || [ $n -ge 50 ]; do
	sleep 0.2
	n=$((n + 1))
done
ok "the namenode learned of the bad replica (fsck shows it corrupt or gone)" \
    reported
ok "the sum stays exact after the namenode's repairs" \
    sum_is /cor.npy "$want_cor"
bad1=$(corrupt_on 1 "$T/cor1.fsck")
for k in 2 3; do
	[ -n "$bad1" ] && break
	bad1=$(corrupt_on $k "$T/cor1.fsck")
done
# dfs-sum meets the checksum error itself, or (when a data node's scanner
# made its first pass, a minute after start-up, since the damage) the
# namenode already lists no good replica: either way exit 1, naming it.
# shellcheck disable=SC2086 # block ids, one per word
ok "a block whose only replica is corrupt: exit 1, naming the block" \
    fails "block \\($(echo $bad1 | sed 's/ /\\|/g')\\) \\(could not be \
reduced on any of its 1 replica.*checksum error\\|has no live replica\\)" \
    dsum /cor1.npy
cluster_kill "$C"

# --- one data node ------------------------------------------------------
C="$T/c1"
EXTRA="$EXTRA $C"
cluster_start -n 1 -b 64K -r 1
layouts 1 64K:1 1M:1
cluster_kill "$C"

# --- four data nodes, and data nodes dying under dfs-sum ----------------
C="$T/c4"
EXTRA="$EXTRA $C"
cluster_start -n 4 -b 64K -r 3
layouts 4 64K:3 96K:1 1M:3
ok "every layout on every cluster printed the same bytes per array" sh -c \
    "[ \$(sort -u '$T/layouts' | wc -l) -eq 3 ]"

"$PYTHON" "$CHECK" big "$T/big.npy" 64
want_big=$("$PYTHON" "$CHECK" oracle "$T/big.npy")
dfs put -b 1M -r 3 "$T/big.npy" /big.npy
ok "64 MiB in 1 MiB blocks: exact" sum_is /big.npy "$want_big"
# A stopped node answers nothing: its blocks go elsewhere within seconds.
pid4=$(cat "$C/run/datanode4.pid")
kill -STOP "$pid4"
t0=$(date +%s)
got=$(dsum -o client.timeout=120s /big.npy 2>"$T/big.0.err")
t1=$(date +%s)
kill -CONT "$pid4"
ok "a stopped data node: the same exact answer" same "$got" "$want_big"
ok "a stopped data node costs seconds, not client.timeout ($((t1 - t0)) s)" \
    test $((t1 - t0)) -lt 15
# A stopped node holds requests when it is killed: they must move.
pid2=$(cat "$C/run/datanode2.pid")
addr2=$(dn_addr 2)
kill -STOP "$pid2"
dsum /big.npy >"$T/big.1" 2>"$T/big.1.err" &
sumpid=$!
sleep 0.5
kill -9 "$pid2"
kill -CONT "$pid2" 2>/dev/null
wait "$sumpid"
st=$?
ok "kill -9 of a data node holding requests: exit 0" test "$st" -eq 0
ok "kill -9 of a data node holding requests: the same exact answer" \
    same "$(cat "$T/big.1")" "$want_big"
ok "dfs-sum moved the killed node's requests to other replicas" \
    grep -q "$addr2.*trying another replica" "$T/big.1.err"
# And a node killed right as dfs-sum starts.
pid3=$(cat "$C/run/datanode3.pid")
dsum /big.npy >"$T/big.2" 2>"$T/big.2.err" &
sumpid=$!
kill -9 "$pid3"
wait "$sumpid"
st=$?
ok "kill -9 of a data node as dfs-sum starts: exit 0" test "$st" -eq 0
ok "kill -9 of a data node as dfs-sum starts: the same exact answer" \
    same "$(cat "$T/big.2")" "$want_big"
ok "with two of four nodes dead, still the same answer" \
    sum_is /big.npy "$want_big"
# shellcheck disable=SC2154 # want_f8 is set by eval above
ok "and the 4-node layouts still print the same bytes" \
    sum_is /lay-f8-64K-r3.npy "$want_f8"
finish
