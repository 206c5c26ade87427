"""big_dir.py: the 100,000-entry directory of big-dir.sh (issue 14).

  big_dir.py make HOST:PORT DIR N    N empty files DIR/nI (MKNOD, 4
                                     connections, requests pipelined)
  big_dir.py names N                 their names in byte order, a line each
  big_dir.py maxrss OUT CMD...       run CMD with stdout to OUT; print its
                                     peak resident memory in KiB
"""
import os
import resource
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
from npdfs_wire import (Conn, Payload, MSG_ERROR, error_of,  # noqa: E402
                        frame)

NN_ATTR, NN_MKNOD = 102, 130
FT_FILE = 1
CONNS, WINDOW = 4, 256


def make(addr, d, n):
    host, port = addr.rsplit(":", 1)
    errors = []

    def worker(k):
        c = Conn(host, int(port), timeout=120.0)
        todo = list(range(k, n, CONNS))
        for at in range(0, len(todo), WINDOW):
            batch = todo[at:at + WINDOW]
            out = b""
            for i in batch:
                c.req += 1
                p = Payload().str("%s/n%d" % (d, i)).u8(FT_FILE)
                p.u32(0o644).u32(0).u32(0).u64(0)
                out += frame(NN_MKNOD, p.bytes(), c.req)
            c.send_raw(out)
            for i in batch:
                t, r = c.recv()
                if t != NN_ATTR:
                    errors.append((i, error_of(r) if t == MSG_ERROR
                                   else t))
        c.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(CONNS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("made %d errors %d" % (n - len(errors), len(errors)))
    for e in errors[:10]:
        print("error:", e)
    return 0 if not errors else 1


def names(n):
    for name in sorted(("n%d" % i).encode() for i in range(n)):
        sys.stdout.write(name.decode() + "\n")
    return 0


def maxrss(out, cmd):
    with open(out, "wb") as f:
        st = subprocess.run(cmd, stdout=f).returncode
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return st


def main():
    op = sys.argv[1]
    if op == "make":
        return make(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if op == "names":
        return names(int(sys.argv[2]))
    if op == "maxrss":
        return maxrss(sys.argv[2], sys.argv[3:])
    return 2


sys.exit(main())
