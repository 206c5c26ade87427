#!/bin/sh
# bounds.sh: one attacker cannot lock clients out or blow a daemon's
# memory up (issue 11, "bounded by design").  A one-node cluster from
# "dfs cluster up" listens on every address; an attacker in its own
# network namespace (10.77.0.2, over a veth pair) holds, against the
# namenode and the data node each,
# - 2,000 plain TCP connections that never start a TLS handshake (each
#   one the server closes is opened again), and
# - 200 TLS connections with a valid user certificate, each having sent
#   one frame header announcing a 4 MiB payload and nothing more.
# Meanwhile a legitimate client on 127.0.0.1 lists / and reads a small
# file through the data node (not short-circuit) within 10 s each, and
# the RSS of both daemons stays under 100 MiB.
set -u
. "$top_srcdir/tests/lib/cluster.sh"

NS=npdfs-bounds-$$
VH=nb$$h		# veth ends: names of at most 15 bytes
VN=nb$$n
HOSTIP=10.77.0.1
ATTIP=10.77.0.2
APID=
export top_srcdir

bounds_cleanup() {
	[ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip link del "$VH" 2>/dev/null
	cluster_cleanup
}
trap bounds_cleanup EXIT

conf_get() {	# conf_get FILE KEY (in [section] key = "value" form)
	sed -n "s/^$2 = \"\(.*\)\"\$/\1/p" "$1"
}
rss_kib() {	# rss_kib PID: VmRSS in KiB
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"
}

# Under AddressSanitizer (CI's --enable-asan run), freed memory waits in a
# quarantine of up to 256 MiB, which the attacker's churn of failed
# handshakes fills: RSS would measure the sanitizer, not the daemon.
# A small quarantine keeps the bound meaningful (ignored without ASan).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
ASAN_OPTIONS="$ASAN_OPTIONS:thread_local_quarantine_size_kb=64"
export ASAN_OPTIONS

# --- a namespace for the attacker: a failure here fails the test ----------
if ! ip netns add "$NS" 2>"$T/netns.err"; then
	echo "not ok - ip netns add failed (this test needs root and network"
	echo "         namespaces): $(cat "$T/netns.err")"
	exit 1
fi
if ! { ip link add "$VH" type veth peer name "$VN" &&
    ip link set "$VN" netns "$NS" &&
    ip addr add "$HOSTIP/24" dev "$VH" && ip link set "$VH" up &&
    ip -n "$NS" addr add "$ATTIP/24" dev "$VN" &&
    ip -n "$NS" link set "$VN" up && ip -n "$NS" link set lo up; } \
    2>"$T/veth.err"; then
	echo "not ok - cannot make the veth pair: $(cat "$T/veth.err")"
	exit 1
fi

# --- a cluster reachable from the namespace -------------------------------
cluster_start -n 1
"$top_builddir/dfs" cluster down "$C" >/dev/null 2>&1
NNP=$(conf_get "$C/namenode.conf" listen | sed 's/.*://')
DNP=$(conf_get "$C/datanode1.conf" listen | sed 's/.*://')
# cluster up keeps each daemon's listen address: make them 0.0.0.0, and
# tell clients the data node is at 127.0.0.1, as the namenode is to them.
sed -i "s/^listen = \"127.0.0.1:/listen = \"0.0.0.0:/" \
    "$C/namenode.conf" "$C/datanode1.conf"
if ! "$top_builddir/dfs" cluster up "$C" -n 1 \
    -o "datanode.advertise=127.0.0.1:$DNP" >"$T/up2.log" 2>&1; then
	echo "not ok - restarting the cluster on 0.0.0.0 failed:"
	cat "$T/up2.log"
	exit 1
fi
quiet() {	# quiet COMMAND...: its status, not its output
	"$@" >/dev/null 2>&1
}
# The legitimate client: from 127.0.0.1, as the cluster's superuser.
legit() {
	"$top_builddir/dfs" -c "$C/client.conf" \
	    -o "namenode.address=127.0.0.1:$NNP" "$@"
}
NNPID=$(cat "$C/run/namenode.pid")
DNPID=$(cat "$C/run/datanode1.pid")
printf 'small file read while under attack\n' >"$T/small"
wait_for 30 legit put "$T/small" /small
ok "a put before the attack" quiet legit stat /small
ok "the attacker reaches the namenode from $ATTIP" \
    ip netns exec "$NS" "$PYTHON" -c "import socket; \
socket.create_connection(('$HOSTIP', $NNP), timeout=5)"
"$top_builddir/dfs" cluster adduser "$C" mallory --uid 4242 --gid 4242 \
    >/dev/null
echo "# before: namenode $(rss_kib "$NNPID") KiB, data node" \
    "$(rss_kib "$DNPID") KiB"

# --- the attack -----------------------------------------------------------
ip netns exec "$NS" "$PYTHON" "$top_srcdir/tests/integ/bounds_attack.py" \
    "$C/users/mallory.conf" "$HOSTIP" "$NNP,$DNP" 200 2000 \
    >"$T/attack.log" 2>&1 &
APID=$!
wait_for 120 grep -q '^ready' "$T/attack.log"
ok "the attacker opened its connections" grep -q '^ready' "$T/attack.log"
cat "$T/attack.log"
sleep 2

# A legitimate client's commands, timed; the daemons' RSS sampled meanwhile.
timed() {	# timed NAME COMMAND...: 0 when it succeeds within 10 s
	name=$1
	shift
	t0=$(date +%s%N)
	timeout 60 "$top_builddir/dfs" -c "$C/client.conf" \
	    -o "namenode.address=127.0.0.1:$NNP" "$@" >"$T/$name.out" 2>&1
	st=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "# $name: exit $st in $ms ms"
	[ "$st" -eq 0 ] && [ "$ms" -le 10000 ]
}
maxnn=0
maxdn=0
sample() {
	r=$(rss_kib "$NNPID")
	[ -n "$r" ] && [ "$r" -gt "$maxnn" ] && maxnn=$r
	r=$(rss_kib "$DNPID")
	[ -n "$r" ] && [ "$r" -gt "$maxdn" ] && maxdn=$r
}
sample
ok "dfs ls / answers within 10 s under attack" timed ls ls /
sample
ok "dfs cat of a small file answers within 10 s under attack" \
    timed cat -o client.short_circuit=false cat /small
ok "and gives its bytes" cmp -s "$T/cat.out" "$T/small"
for i in 1 2 3 4 5 6; do
	sample
	sleep 1
done
ok "dfs ls / still answers after a while" timed ls2 ls /
sample
cat "$T/attack.log" | tail -n 2
echo "# peak RSS under attack: namenode $maxnn KiB, data node $maxdn KiB"
# 100 MiB, as issue 11 asks.  A sanitizer's shadow memory and allocator
# caches cost about 0.6 MiB per connection thread (a build with ASan
# measured 182 and 168 MiB here, 503 and 307 MiB before the caps, against
# 28 and 24 MiB without ASan, 80 and 77 MiB before): there, 300 MiB,
# which still catches the 800 MiB of 200 filled 4 MiB buffers.
limit=102400
if grep -q __asan_init "$top_builddir/dfs-namenode"; then
	limit=307200
	echo "# a sanitizer build: RSS bound $limit KiB"
fi
ok "the namenode's RSS stays under $((limit / 1024)) MiB ($maxnn KiB)" \
    test "$maxnn" -lt "$limit"
ok "the data node's RSS stays under $((limit / 1024)) MiB ($maxdn KiB)" \
    test "$maxdn" -lt "$limit"
few_lines() {	# few_lines LOG: 1 to 19 refusal lines for the attacker
	n=$(grep -c "refusing connections from $ATTIP" "$1")
	echo "# $(basename "$1"): $n refusal lines"
	[ "$n" -ge 1 ] && [ "$n" -lt 20 ]
}
ok "the namenode logs its refusals, rate-limited" \
    few_lines "$C/logs/namenode.log"
ok "the data node logs its refusals, rate-limited" \
    few_lines "$C/logs/datanode1.log"
grep "refusing connections from" "$C/logs/namenode.log" | head -n 2
kill "$APID" 2>/dev/null
wait "$APID" 2>/dev/null
APID=
finish
