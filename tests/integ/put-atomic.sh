#!/bin/sh
# put-atomic.sh: all-or-nothing puts (issue 15, DESIGN.md promise 8: "a
# failed write leaves nothing truncated under the user's name").  dfs put
# writes to a hidden temporary and renames it onto the name only once it
# is complete, and the namenode removes, rather than closes, a temporary
# whose writer is gone.  1: put's rules on the target hold at the final
# rename (a file that appeared meanwhile is not replaced without -f, nor
# one another client is writing with -f).  2: a client killed mid-way, or
# between its COMPLETE and its rename, leaves the target as it was and
# its temporary goes after the lease timeout.  3: kill -9 of the namenode
# at random moments during 20 puts of 2-5 MB: afterwards every name is
# absent or complete and identical, and no temporary is left.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
LEASE=4
N=20
mkdir "$T/in" "$T/out"

# No temporary of a put anywhere under /.
temps() { dfs ls / /d 2>/dev/null | grep '_COPYING_'; }
no_temps() { [ -z "$(temps)" ]; }
# No file in /d is being written (lease recovery has had its say).
settled() {
	for f in $(dfs ls /d); do
		[ "$(state "/d/$f")" != "under construction" ] || return 1
	done
}
safemode_off() { dfs report 2>/dev/null | grep -q "safe mode: off"; }
state() { dfs stat "$1" 2>/dev/null | sed -n 's/^state: //p'; }
# The client itself, not a shell around it, so that kill reaches it.
dfs_bin() { exec "$top_builddir/dfs" -c "$C/client.conf" "$@"; }

# Blocks of 256 KiB, so a put of a few MB asks the namenode for a block
# every few milliseconds and a kill cuts it between two of them (a prefix
# of finished blocks is what lease recovery used to keep).
cluster_start -n 3 -b 256K -r 3 --heartbeat 1 \
    -o namenode.lease_timeout=${LEASE}s -o datanode.scan_period=1h
dfs mkdir /d

# Sizes from 2,000,000 to 5,000,000 bytes, not multiples of a block.
"$PYTHON" -c 'import os, random, sys
for i in range(1, int(sys.argv[2]) + 1):
    with open(os.path.join(sys.argv[1], "f%d" % i), "wb") as f:
        f.write(os.urandom(random.randint(2000000, 5000000)))' "$T/in" "$N"

# === 1. put's rules on the target, checked at the rename ==================
ok "a put succeeds" dfs put "$T/in/f1" /one
dfs get /one "$T/out/one" 2>/dev/null
ok "and reads back identical" cmp "$T/in/f1" "$T/out/one"
ok "without -f an existing name is refused" fails_with "exists" \
    dfs put "$T/in/f2" /one
ok "a put leaves no temporary behind" no_temps

# A put without -f whose name appears while it writes: refused at the
# rename, and what appeared stays.
mkfifo "$T/fifo"
(dfs_bin put - /race) <"$T/fifo" >"$T/race.out" 2>&1 &
PUT=$!
exec 3>"$T/fifo"
head -c 1000000 "$T/in/f3" >&3
sleep 1
ok "while it writes, the name is not there" fails_with "no such" \
    dfs stat /race
ok "its temporary is, hidden, in the same directory" test -n \
    "$(temps | grep '^\.race\.[0-9a-f]\{8\}\._COPYING_$')"
ok "another put makes the name meanwhile" dfs put "$T/in/f2" /race
tail -c +1000001 "$T/in/f3" >&3
exec 3>&-
wait $PUT
st=$?
ok "the first put then fails" test "$st" -eq 1
ok "saying the name exists" grep -q "/race exists (use -f" "$T/race.out"
dfs get /race "$T/out/race" 2>/dev/null
ok "the file that appeared is untouched" cmp "$T/in/f2" "$T/out/race"
ok "the refused put removed its temporary" no_temps

# put -f onto a file another client is writing: refused, as CREATE
# refuses it, and the other writer's file completes.
rm -f "$T/fifo"
mkfifo "$T/fifo"
(dfs_bin put -d - /busy) <"$T/fifo" 2>"$T/busy.err" &
BUSY=$!
exec 3>"$T/fifo"
head -c 700000 "$T/in/f4" >&3
sleep 1
ok "put -f onto a file being written fails" fails_with \
    "being written by another client" dfs put -f "$T/in/f5" /busy
tail -c +700001 "$T/in/f4" >&3
exec 3>&-
wait $BUSY
ok "the writer of that file succeeds" test $? -eq 0
dfs get /busy "$T/out/busy" 2>/dev/null
ok "with its own bytes" cmp "$T/in/f4" "$T/out/busy"
ok "put -f onto a complete file replaces it" dfs put -f "$T/in/f5" /busy
dfs get /busy "$T/out/busy2" 2>/dev/null
ok "with the new bytes" cmp "$T/in/f5" "$T/out/busy2"
ok "and no temporary is left" no_temps

# === 2. The client dies =====================================================
# put -f over an existing file, killed mid-way: the old file stays whole.
dfs put "$T/in/f6" /keep
rm -f "$T/fifo"
mkfifo "$T/fifo"
(dfs_bin put -f - /keep) <"$T/fifo" 2>/dev/null &
PUT=$!
exec 3>"$T/fifo"
head -c 1500000 "$T/in/f7" >&3
sleep 1
kill -9 $PUT
wait $PUT 2>/dev/null
exec 3>&-
dfs get /keep "$T/out/keep" 2>/dev/null
ok "a put -f killed mid-way left the old file as it was" \
    cmp "$T/in/f6" "$T/out/keep"
ok "its temporary is left under construction" test \
    "$(state "/$(temps | head -n 1)")" = "under construction"

# Killed between COMPLETE and the rename: gdb stops the client at the
# rename and kills it.  The temporary is complete and has no lease left.
cat >"$T/gdb.cmds" <<EOF
set pagination off
break dfs_client_rename
run
kill
EOF
# LeakSanitizer cannot run under ptrace (the --enable-asan build).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    gdb -q -batch -x "$T/gdb.cmds" --args "$top_builddir/dfs" \
    -c "$C/client.conf" put "$T/in/f8" /late >"$T/gdb.out" 2>&1
ok "gdb stopped the put at its rename and killed it" \
    grep -q "Breakpoint 1, dfs_client_rename" "$T/gdb.out"
grep -q "Breakpoint 1, dfs_client_rename" "$T/gdb.out" || cat "$T/gdb.out"
ok "the name is not there" fails_with "no such" dfs stat /late
late=$(temps | grep '^\.late\.')
ok "its temporary is, complete" test "$(state "/$late")" = complete
ok "within twice the lease timeout + 15 s both temporaries are removed" \
    wait_for $((2 * LEASE + 15)) no_temps
ok "the namenode logged the one whose lease expired" grep -q \
    "removed /\.keep\..*_COPYING_ .*put whose writer is gone (its lease" \
    "$C/logs/namenode.log"
ok "and the complete one nobody renamed" grep -q \
    "removed /$late .*(complete but never renamed)" "$C/logs/namenode.log"
ok "/late never appeared" fails_with "no such" dfs stat /late
dfs get /keep "$T/out/keep2" 2>/dev/null
ok "/keep is still the old file" cmp "$T/in/f6" "$T/out/keep2"

# === 3. kill -9 of the namenode at random moments during 20 puts =========
: >"$T/ok"
: >"$T/failed"
(
	for i in $(seq "$N"); do
		# Each put starts with the namenode up (else it fails at
		# once), and is killed in the middle.
		wait_for 30 safemode_off
		if dfs put "$T/in/f$i" "/d/f$i" 2>>"$T/loop.err"; then
			echo "$i" >>"$T/ok"
		else
			echo "$i" >>"$T/failed"
		fi
	done
) &
loop=$!
kills=0
restarts=0
t0=$(date +%s)
while kill -0 $loop 2>/dev/null && [ "$kills" -lt 10 ] &&
    [ $(($(date +%s) - t0)) -lt 60 ]; do
	# Puts only move outside safe mode: the kill comes 0.05 to 0.45 s
	# after it ends, when one of the first few puts after it (about
	# 0.1 s each here, longer under a sanitizer) is under way.
	wait_for 20 safemode_off
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	sleep "0.$(printf %03d $((r % 400 + 50)))"
	kill -0 $loop 2>/dev/null || break
	kill -9 "$(cat "$C/run/namenode.pid")"
	kills=$((kills + 1))
	sleep 0.3
	if "$top_builddir/dfs" cluster up "$C" >>"$T/up.log" 2>&1; then
		restarts=$((restarts + 1))
	else
		tail -n 5 "$T/up.log" | sed 's/^/#   /'
	fi
done
wait $loop
nok=$(wc -l <"$T/ok")
nfailed=$(wc -l <"$T/failed")
echo "# $kills kills; $nok puts succeeded, $nfailed failed"
sed 's/\/d\/f[0-9]*/PATH/g; s/\.f[0-9]*\.[0-9a-f]*\._COPYING_/TEMP/g' \
    "$T/loop.err" | sort | uniq -c | sort -rn | head -n 6 | sed 's/^/#   /'
ok "the namenode was killed at least 3 times, and restarted each time" \
    test "$kills" -ge 3 -a "$restarts" -eq "$kills"
ok "all $N puts ran" test $((nok + nfailed)) -eq "$N"
ok "some puts failed because of a kill" test "$nfailed" -ge 1
ok "the namenode is up and out of safe mode" wait_for 30 safemode_off
ok "within twice the lease timeout + 15 s no temporary is left" \
    wait_for $((2 * LEASE + 15)) no_temps
temps | sed 's/^/#   left: /'
ok "and nothing is being written" wait_for $((LEASE + 15)) settled
echo "# lease recovery removed $(grep -c "removed /d/\.f.*_COPYING_" \
    "$C/logs/namenode.log") temporaries in /d"

# Every name is absent or the whole file; a put that said yes is there.
bad=0
for i in $(seq "$N"); do
	if dfs stat "/d/f$i" >/dev/null 2>&1; then
		rm -f "$T/out/g"
		dfs get "/d/f$i" "$T/out/g" 2>/dev/null
		if ! cmp -s "$T/in/f$i" "$T/out/g"; then
			echo "#   /d/f$i: $(wc -c <"$T/out/g") of" \
			    "$(wc -c <"$T/in/f$i") bytes, not the file"
			bad=$((bad + 1))
		fi
	elif grep -qx "$i" "$T/ok"; then
		echo "#   /d/f$i: the put succeeded, the file is missing"
		bad=$((bad + 1))
	fi
done
ok "every name is absent or complete and identical (cmp)" test "$bad" -eq 0
ok "fsck is healthy" wait_for 20 dfs fsck /

finish
