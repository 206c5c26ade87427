#!/bin/sh
# mount-read.sh: dfs-mount's data path for large files, on a 3-node
# cluster (replication 3, 1 MiB blocks, so every read-ahead window spans
# blocks): a read-only descriptor mmaps (MAP_SHARED, as
# np.load(mmap_mode='r') does); sequential reads of many sizes, random
# reads and reads from three threads of one descriptor all equal the
# local file; a handle reading while the file is rewritten through the
# mount, or after `dfs put -f` from outside and a new open, sees the new
# bytes; a data node killed during a sequential read is read around; a
# writable shared mapping changes the file; a mount with -o direct_io
# still mmaps (np.load(mmap_mode='r')), and with mount.max_memory at its
# least two handles reading at once both read right.  Oracles: cmp,
# sha256sum, NumPy, Python's own file reads.
# Skips (exit 77) only when /dev/fuse cannot be used here.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse

M="$C/mnt"
M2="$T/mnt2"
MOUNT2_PID=

# Unmount before the cluster goes, then stop everything by PID.
mount_cleanup() {
	for mp in "$M2" "$M"; do
		if grep -q " $mp fuse" /proc/mounts; then
			fusermount3 -u "$mp" 2>/dev/null ||
			    fusermount3 -uz "$mp" 2>/dev/null
		fi
	done
	if [ -n "$MOUNT2_PID" ]; then
		kill "$MOUNT2_PID" 2>/dev/null
	fi
	cluster_cleanup
}
trap mount_cleanup EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

cluster_start -n 3 -b 1M -r 3 --mount
mkdir "$T/in"
head -c 25165831 /dev/urandom >"$T/in/big"	# 24 MiB and 7 bytes
head -c 3000017 /dev/urandom >"$T/in/mid"

# --- written through the mount, read back --------------------------------
ok "cp of 24 MiB into the mount" cp "$T/in/big" "$M/big"
ok "dd bs=1M reads it back" sh -c "dd if='$M/big' bs=1M 2>/dev/null | \
    cmp - '$T/in/big'"
ok "dd bs=4k reads it back" sh -c "dd if='$M/big' bs=4k 2>/dev/null | \
    cmp - '$T/in/big'"
ok "dd bs=3M reads it back" sh -c "dd if='$M/big' bs=3M 2>/dev/null | \
    cmp - '$T/in/big'"
ok "dd skip=5 bs=1M (a read that does not start at 0)" sh -c \
    "dd if='$M/big' bs=1M skip=5 2>/dev/null | cmp -i 0:5242880 - \
    '$T/in/big'"

"$PYTHON" - "$M/big" "$T/in/big" <<'EOF' >"$T/py.out" 2>&1
import mmap, os, random, sys, threading
m, l = sys.argv[1], sys.argv[2]
ref = open(l, "rb").read()
size = len(ref)
def say(good, what):
    print("%s - %s" % ("ok" if good else "not ok", what))

# A read-only descriptor mapped shared, as np.load(mmap_mode='r') does.
fd = os.open(m, os.O_RDONLY)
with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as mp:
    say(mp[:] == ref, "MAP_SHARED mmap of a read-only descriptor reads right")
os.close(fd)

# Sequential runs, seeks and sizes from 1 byte to 5 MiB.
rng = random.Random(20261123)
fd = os.open(m, os.O_RDONLY)
pos, bad = 0, []
for i in range(2000):
    if rng.random() < 0.1:
        pos = rng.randrange(0, size + 10)
    n = rng.choice([1, 100, 4096, 65536, 1 << 20, 3 << 20,
                    rng.randrange(1, 5 << 20)])
    got = os.pread(fd, n, pos)
    if got != ref[pos:pos + n]:
        bad.append((pos, n, len(got)))
    pos += n
    if pos >= size:
        pos = rng.randrange(0, size)
say(not bad, "2,000 sequential and random reads equal the file" +
    ("" if not bad else ": not %s" % bad[:3]))

# Three threads reading interleaved 1 MiB pieces of one descriptor.
errs = []
def run(k):
    for off in range(k << 20, size, 3 << 20):
        if os.pread(fd, 1 << 20, off) != ref[off:off + (1 << 20)]:
            errs.append(off)
ts = [threading.Thread(target=run, args=(k,)) for k in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
say(not errs, "three threads reading one descriptor read right" +
    ("" if not errs else ": not at %s" % errs[:3]))
os.close(fd)

# Rewritten through the mount while a handle reads it in sequence: the
# handle's next reads are the new bytes, not what it fetched ahead.
w = os.path.dirname(m) + "/rw"
with open(w, "wb") as f:
    f.write(ref[:8 << 20])
rf = os.open(w, os.O_RDONLY)
first = os.read(rf, 1 << 20) + os.read(rf, 1 << 20) + os.read(rf, 1 << 20)
new = bytes(reversed(ref[:8 << 20]))
with open(w, "wb") as f:
    f.write(new)
rest = b"".join(iter(lambda: os.read(rf, 1 << 20), b""))
os.close(rf)
say(first == ref[:3 << 20] and rest == new[3 << 20:],
    "a handle reading a file rewritten through the mount sees the new bytes")

# A writable shared mapping of a descriptor opened O_RDWR: its changes
# reach the file (written back by the kernel through the mount).
want = bytearray(ref[:3 << 20])
with open(w, "wb") as f:
    f.write(want)
fd = os.open(w, os.O_RDWR)
with mmap.mmap(fd, len(want)) as mp:
    mp[100:200] = b"x" * 100
    mp[(2 << 20) + 5:(2 << 20) + 10] = b"hello"
    mp.flush()
os.close(fd)
want[100:200] = b"x" * 100
want[(2 << 20) + 5:(2 << 20) + 10] = b"hello"
with open(w, "rb") as f:
    say(f.read() == want, "a MAP_SHARED writable mapping changes the file")
EOF
cat "$T/py.out"
PASSED=$((PASSED + $(grep -c '^ok - ' "$T/py.out")))
FAILED=$((FAILED + $(grep -c '^not ok - ' "$T/py.out")))
ok "the Python checks ran to the end" test "$(grep -c '^ok - \|^not ok - ' \
    "$T/py.out")" -eq 5

# --- changed from outside, then opened again -------------------------------
ok "dfs put -f replaces it from outside the mount" dfs put -f "$T/in/mid" \
    /big
ok "a new open reads the new file whole (close-to-open)" cmp "$M/big" \
    "$T/in/mid"
ok "dfs put -f of the 24 MiB file again" dfs put -f "$T/in/big" /big

# --- a data node killed during a sequential read -------------------------
"$PYTHON" - "$M/big" "$T/out" "$C/run/datanode1.pid" <<'EOF' &
import os, signal, sys, time
src, dst, pidfile = sys.argv[1:]
with open(src, "rb", buffering=0) as f, open(dst, "wb") as o:
    n = 0
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        o.write(b)
        n += 1
        if n == 4:
            os.kill(int(open(pidfile).read()), signal.SIGKILL)
        time.sleep(0.02)
EOF
reader=$!
wait "$reader"
ok "a sequential read with a data node killed after 4 MiB completes" \
    test $? -eq 0
ok "and its bytes are the file's" test "$(sha "$T/out")" = \
    "$(sha "$T/in/big")"

# --- -o direct_io, and little memory ------------------------------------
# 16M leaves 8 MiB for read-ahead: two slots, so of two handles reading
# at once one reads ahead and the other (mostly) cannot.
# (Under AddressSanitizer freed memory is held in a quarantine, which
# would count against the bound checked below: none for this mount.)
mkdir "$M2"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
    "$top_builddir/dfs-mount" -c "$C/client.conf" -o direct_io \
    -o mount.max_memory=16M -f "$M2" 2>"$T/mount2.log" &
MOUNT2_PID=$!
n=100
while [ "$n" -gt 0 ] && ! grep -q " $M2 fuse" /proc/mounts; do
	sleep 0.1
	n=$((n - 1))
done
ok "a second mount with -o direct_io and mount.max_memory=16M" \
    grep -q " $M2 fuse" /proc/mounts
ok "two handles reading at once both read right" sh -c "
    dd if='$M2/big' bs=1M 2>/dev/null | cmp - '$T/in/big' & a=\$!
    dd if='$M2/big' bs=256k 2>/dev/null | cmp - '$T/in/big' & b=\$!
    wait \$a && wait \$b"
ok "np.load(mmap_mode='r') of a direct_io file (FUSE_DIRECT_IO_ALLOW_MMAP)" \
    "$PYTHON" -c "
import numpy as np, sys
a = np.arange(300001, dtype='<f8') * 0.5
np.save(sys.argv[1], a)
b = np.load(sys.argv[1], mmap_mode='r')
sys.exit(0 if np.array_equal(a, b) else 1)" "$M2/mm.npy"
ok "the mount stays within its memory: VmHWM under 64 MiB" sh -c \
    "test \$(awk '/^VmHWM:/ { print \$2 }' /proc/$MOUNT2_PID/status) \
    -lt 65536"
fusermount3 -u "$M2"

finish
