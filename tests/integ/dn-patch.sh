#!/bin/sh
# dn-patch.sh: PATCH (doc/protocol.md 8b), the in-place update of a
# finalized replica under a new generation, at one real data node with the
# fake namenode of dn-token.sh (dn_keys.py).  dn_patch.py patches a block
# and checks the bytes, the CRCs and the files, sends hostile PATCHes
# that must each be refused with the replica untouched, then the node is
# made to crash after its journal and after its apply
# (NPDFS_TEST_PATCH_CRASH), is SIGKILLed with journals planted in tmp/ (a
# valid one and a torn one), and must on restart finish what its journals
# say and discard the torn one.
#
# Uses $top_builddir/dfs-datanode (or $DFS_DATANODE) and $PYTHON.
DNFAKE=dn-patch . "${top_srcdir:-.}/tests/lib/dnfake.sh"
dnfake_start a:datanode

# start [ENV=VALUE]: run data node a (its log appended to), wait until it
# holds the namenode's keys.
RUN=0
start() {
	RUN=$((RUN + 1))
	rm -f "$T/a.port"
	: >"$T/a.log.$RUN"
	# shellcheck disable=SC2046
	env ${1:+"$1"} ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0}" \
	    "$DN" $(pki_opts "$T/pki" a) -o datanode.listen=127.0.0.1:0 \
	    -o "datanode.data_dir=$T/a" \
	    -o "namenode.address=$NNADDR" \
	    -o client.timeout=5s \
	    --port-file "$T/a.port" 2>"$T/a.log.$RUN" &
	PID_a=$!
	PIDS="$PIDS $PID_a"
	i=0
	while ! grep -q "registered with namenode" "$T/a.log.$RUN"; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$PID_a" 2>/dev/null; then
			echo "not ok - data node a did not start:"
			cat "$T/a.log.$RUN"
			exit 1
		fi
		sleep 0.1
	done
	A=$(cat "$T/a.port")
}

# py PHASE [ARGS]: one phase of dn_patch.py, its checks counted here.
py() {
	phase=$1
	shift
	"$PYTHON" "$top_srcdir/tests/integ/dn_patch.py" --keys "$T/keys" \
	    --node "$A" --dir "$T/a" --closed "$CLOSED" --phase "$phase" \
	    "$@" >"$T/py.out" 2>&1
	st=$?
	grep -E '^(not )?ok - ' "$T/py.out"
	PASSED=$((PASSED + $(grep -c '^ok - ' "$T/py.out")))
	nf=$(grep -c '^not ok - ' "$T/py.out")
	FAILED=$((FAILED + nf))
	if [ $st -ne 0 ] && [ "$nf" -eq 0 ]; then
		echo "not ok - dn_patch.py --phase $phase exited $st:"
		cat "$T/py.out"
		FAILED=$((FAILED + 1))
	fi
}

start
py main
ok "the namenode heard RECEIVED of the patched block's new generation" \
    grep -q "RECEIVED block 7001 gen 2 len $((16 * 4096 + 123))" "$T/nn.log"
ok "the node logged the patch" \
    grep -q "block 7001: generation 1 patched to 2" "$T/a.log.$RUN"
ok "data node a survived the hostile PATCHes" kill -0 "$PID_a"
kill -TERM "$PID_a"
wait "$PID_a"
ok "data node a exits 0 on SIGTERM" test $? -eq 0

# crash WHERE: the node exits (86) where the test variable says, during
# the phase's PATCH.
crash() {
	start "NPDFS_TEST_PATCH_CRASH=$1"
	py crash --which "$1"
	wait "$PID_a"
	st=$?
	ok "data node a exited (86) after the patch's $1" test "$st" -eq 86
	ok "... and left the journal in tmp/" \
	    sh -c "ls '$T/a/tmp' | grep -q '\\.patch\$'"
}
crash journal
ok "... the replica still under generation 1 after the journal" \
    test -e "$T/a/current/blk_7002_1"
crash apply
ok "... the replica under generation 2 after a crash after the apply" \
    test -e "$T/a/current/blk_7003_2.meta"

# The restart after each crash finished its journal.
start
ok "restart logs re-applying the journal of a replica under gen 1" \
    grep -q "blk_7002_2.patch: block 7002 was under generation 1: \
patch applied again, now generation 2" "$T/a.log.3"
ok "restart logs finishing the journal of a replica under gen 2" \
    grep -q "blk_7003_2.patch: block 7003 was under generation 2 \
already: patch applied again" "$T/a.log.4"
# Then it is killed with SIGKILL, and journals are planted where a crash
# would have left them: one valid, written by dn_patch.py in the
# documented format, and one torn.
kill -KILL "$PID_a"
wait "$PID_a" 2>/dev/null
py plant
start
L=$T/a.log.$RUN
py recovered
ok "restart logs applying the planted journal" \
    grep -q "blk_7005_2.patch: block 7005 was under generation 1: \
patch applied again" "$L"
ok "restart logs discarding the torn journal" \
    grep -q "blk_7004_2.patch is torn.*discarded, the replica is left" "$L"
ok "restart counts the 6 blocks" grep -q "info: 6 blocks, " "$L"
kill -TERM "$PID_a"
wait "$PID_a"
ok "data node a exits 0 on SIGTERM" test $? -eq 0
PIDS=$NNPID
dnfake_finish "$T"/a.log.*
