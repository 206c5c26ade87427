#!/bin/sh
# tls.sh: every npdfs connection is mutual TLS 1.3 (issue 11).  On a
# cluster from "dfs cluster up":
# 1. the namenode and each data node give no application data to a peer
#    speaking plain TCP, or TLS with no certificate, another CA's or an
#    expired one, while the cluster's own client is answered;
# 2. a revoked certificate is refused on new connections, and an open
#    connection's next request is refused, on the namenode and a data
#    node, within a few seconds of "dfs ca revoke";
# 3. data node messages are refused from a user's certificate, and pass
#    the role check from a data node's; a data node's certificate cannot
#    speak as another node; afterwards the cluster is whole;
# 4. a capture of loopback traffic during a put holds neither the file's
#    bytes nor its name;
# 5. with net.encrypt_data=false on the data nodes and the client, the
#    same capture shows the file's bytes (authenticated, not encrypted)
#    but never its name; a client left at the default still encrypts.
set -u
. "$top_srcdir/tests/lib/cluster.sh"

PY="$top_srcdir/tests/integ/tls_check.py"
export top_srcdir

tap() {		# tap FILE: count a helper's TAP lines
	grep -E '^(not )?ok - ' "$1"
	PASSED=$((PASSED + $(grep -c '^ok - ' "$1")))
	FAILED=$((FAILED + $(grep -c '^not ok - ' "$1")))
}
conf_get() {	# conf_get FILE KEY (in [section] key = "value" form)
	sed -n "s/^$2 = \"\(.*\)\"\$/\1/p" "$1"
}

cluster_start -n 3 --heartbeat 1
NN=$(conf_get "$C/client.conf" address)
DN1=$(conf_get "$C/datanode1.conf" listen)
DN2=$(conf_get "$C/datanode2.conf" listen)
head -c 3000000 /dev/urandom >"$T/base"
dfs put "$T/base" /base
ok "a put over TLS works" test $? -eq 0

# === 1. peers without a good certificate ===================================
"$top_builddir/dfs" ca init "$T/other" >/dev/null
"$top_builddir/dfs" ca issue "$T/other" --role superuser --uid 0 --gid 0 \
    mallory >/dev/null
"$PYTHON" "$PY" peers "$C" "$T/other" "$NN" "$DN1" >"$T/peers.out" 2>&1
tap "$T/peers.out"
ok "the namenode logged the refusals" grep -q "refused a connection" \
    "$C/logs/namenode.log"

# === 2. revocation ==========================================================
"$top_builddir/dfs" cluster adduser "$C" eve --uid 1005 --gid 1005 \
    >"$T/eve.path"
EVE=$(cat "$T/eve.path")
ok "adduser wrote eve's config" test -s "$EVE"
mkfifo "$T/go-nn"
"$PYTHON" "$PY" hold "$EVE" "$NN" "$T/go-nn" >"$T/hold-nn.out" 2>&1 &
HOLD_NN=$!
sleep 1
"$top_builddir/dfs" ca revoke "$C/ca" eve >/dev/null
ok "dfs ca revoke eve" test $? -eq 0
# Daemons look at the list about once a second; give them ample time.
revoked() {
	"$PYTHON" "$PY" revoked-new "$EVE" "$1" >"$T/rev.out" 2>&1
}
ok "within 15 s the namenode refuses eve's new connections" \
    wait_for 15 revoked "$NN"
echo go >"$T/go-nn"
wait $HOLD_NN
tap "$T/hold-nn.out"
ok "the namenode logged why it closed eve's connection" \
    grep -q "closing the connection of.*eve" "$C/logs/namenode.log"
ok "within 15 s data node 1 refuses eve's new connections" \
    wait_for 15 revoked "$DN1"
ok "root's client is still answered" dfs stat /base

# === 3. data node duties only from data nodes ===============================
"$top_builddir/dfs" cluster adduser "$C" bob --uid 1001 --gid 1001 \
    >"$T/bob.path"
dfs put "$T/base" /private
dfs chmod 0600 /private
TLS_PRIVATE_BLOCK=$(dfs fsck /private --blocks |
    sed -n 's/^ *block \([0-9]*\) gen \([0-9]*\) .*/\1 \2/p' | head -n 1)
export TLS_PRIVATE_BLOCK
ok "a block of /private to report ($TLS_PRIVATE_BLOCK)" \
    test -n "$TLS_PRIVATE_BLOCK"
# A file anyone may read, in a directory only root may search.
dfs mkdir /closed
dfs put "$T/base" /closed/open
dfs chmod 0700 /closed
TLS_HIDDEN_BLOCK=$(dfs fsck /closed/open --blocks |
    sed -n 's/^ *block \([0-9]*\) gen \([0-9]*\) .*/\1 \2/p' | head -n 1)
export TLS_HIDDEN_BLOCK
ok "a block of /closed/open to report ($TLS_HIDDEN_BLOCK)" \
    test -n "$TLS_HIDDEN_BLOCK"
TLS_NODE1_ID=$(dfs report | awk -v a="$DN1" '$2 == a { print $1 }')
export TLS_NODE1_ID
ok "node 1's id from dfs report ($TLS_NODE1_ID)" test -n "$TLS_NODE1_ID"
nblk0=$(find "$C"/datanode* -name 'blk_*' ! -name '*.meta' | wc -l)
"$PYTHON" "$PY" roles "$C" "$(cat "$T/bob.path")" "$C/datanode3.conf" \
    >"$T/roles.out" 2>&1
tap "$T/roles.out"
ok "the namenode logged a refusal naming bob's certificate" \
    grep -q "refused HEARTBEAT from .*(bob, a user certificate)" \
    "$C/logs/namenode.log"
dfs report >"$T/report"
ok "dfs report still shows node 1 at its own address" \
    grep -q "$DN1" "$T/report"
ok "... and node 2" grep -q "$DN2" "$T/report"
ok "fsck is healthy" dfs fsck /
nblk1=$(find "$C"/datanode* -name 'blk_*' ! -name '*.meta' | wc -l)
ok "every block file is still on disk ($nblk0)" test "$nblk1" -eq "$nblk0" \
    -a "$nblk0" -gt 0

# === 4. nothing in plaintext on the wire ====================================
MARK="npdfs-marker-$(date +%s)-plaintext"
NAME="secret-name-$$"
# The marker every 10 kB, so that it is in nearly every packet: a busy
# machine's tcpdump drops thousands of packets, and a capture must see
# it where it travels in the clear (section 5).
for i in $(seq 200); do
	head -c 10000 /dev/urandom
	echo "$MARK"
done >"$T/marked"
ok "the source holds the marker" grep -qa "$MARK" "$T/marked"
tcpdump -i lo -U -s 0 -B 65536 -w "$T/lo.pcap" tcp >"$T/tcpdump.log" 2>&1 &
TCPD=$!
# tcpdump says when it listens; wait for that before the put.
i=0
while ! grep -q "listening on" "$T/tcpdump.log" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
dfs put "$T/marked" "/$NAME"
ok "the marked put succeeds" test $? -eq 0
dfs get "/$NAME" "$T/marked.out"
sleep 1
kill "$TCPD"
wait "$TCPD" 2>/dev/null
ok "the capture saw the put's traffic (over 2 MB)" \
    test "$(stat -c %s "$T/lo.pcap")" -gt 2000000
ok "the capture does not hold the marker" \
    test "$(grep -ca "$MARK" "$T/lo.pcap")" -eq 0
ok "the capture does not hold the file's name" \
    test "$(grep -ca "$NAME" "$T/lo.pcap")" -eq 0
ok "the file reads back identical" cmp "$T/marked" "$T/marked.out"

# === 5. block data unencrypted where both ends allow it ======================
# capture FILE COMMAND...: loopback traffic while COMMAND runs.
capture() {
	cap=$1
	shift
	rm -f "$T/tcpdump.log"
	tcpdump -i lo -U -s 0 -B 65536 -w "$cap" tcp >"$T/tcpdump.log" 2>&1 &
	TCPD=$!
	i=0
	while ! grep -q "listening on" "$T/tcpdump.log" 2>/dev/null &&
	    [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	"$@"
	st=$?
	sleep 1
	kill "$TCPD"
	wait "$TCPD" 2>/dev/null
	sed -n 's/^\([1-9][0-9]*\) packets dropped by kernel/# tcpdump: &/p' \
	    "$T/tcpdump.log"
	return $st
}
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
C="$T/plain"
cluster_start -n 3 --heartbeat 1 -o net.encrypt_data=false
capture "$T/enc.pcap" dfs put "$T/marked" "/$NAME"
ok "a default client's put to plain-data nodes succeeds" test $? -eq 0
ok "... and its data stays encrypted (both ends must agree)" \
    test "$(grep -ca "$MARK" "$T/enc.pcap")" -eq 0
capture "$T/plain.pcap" dfs -o net.encrypt_data=false put "$T/marked" \
    "/$NAME-2"
ok "a put with net.encrypt_data=false succeeds" test $? -eq 0
ok "its block data is readable on the wire" \
    test "$(grep -ca "$MARK" "$T/plain.pcap")" -gt 0
ok "its name is not" test "$(grep -ca "$NAME" "$T/plain.pcap")" -eq 0
dfs -o net.encrypt_data=false get "/$NAME-2" "$T/plain.out"
ok "it reads back identical (unencrypted)" cmp "$T/marked" "$T/plain.out"
dfs get "/$NAME-2" "$T/plain.out2"
ok "and with encryption" cmp "$T/marked" "$T/plain.out2"
ok "fsck is healthy (the pipeline ran unencrypted)" dfs fsck /

finish
