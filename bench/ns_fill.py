"""ns_fill.py CONF N PER_DIR BIG [CONNS]: fill a namespace through the
namenode (not into SQLite): N empty files made by MKNOD, BIG of them in
/scale/big, the rest PER_DIR a directory in /scale/dK, over CONNS
connections (default 4) with requests pipelined.  Prints progress every
10% and the rate.  Used by bench/scale-nn.sh."""
import os
import sys
import threading
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(top, "tests", "lib"))
from npdfs_wire import (Conn, Payload, MSG_ERROR, MSG_OK, error_of,  # noqa
                        frame, read_conf)

NN_MKDIR, NN_ATTR, NN_MKNOD = 100, 102, 130
WINDOW = 512


def main():
    conf, n, per_dir, big = sys.argv[1], int(sys.argv[2]), \
        int(sys.argv[3]), int(sys.argv[4])
    conns = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    os.environ["NPDFS_TEST_CONF"] = conf
    settings = read_conf(conf)
    addr = settings.get("namenode.address", settings.get("address", ""))
    addr = addr.split(",")[0].strip()
    host, port = addr.rsplit(":", 1)

    def path(i):
        if i < big:
            return "/scale/big/n%d" % i
        return "/scale/d%d/n%d" % ((i - big) // per_dir, i)

    c = Conn(host, int(port), timeout=600.0)
    ndirs = (n - big + per_dir - 1) // per_dir
    for d in ["/scale/big"] + ["/scale/d%d" % k for k in range(ndirs)]:
        t, r = c.call(NN_MKDIR, Payload().str(d).u32(0o755).u32(0).u32(0)
                      .u8(1))
        if t != MSG_OK:
            raise SystemExit("mkdir %s: %r" % (d, error_of(r)))
    c.close()
    done = [0]
    errors = []
    lock = threading.Lock()
    t0 = time.monotonic()

    def worker(k):
        c = Conn(host, int(port), timeout=600.0)
        for at in range(k * WINDOW, n, conns * WINDOW):
            out = []
            for i in range(at, min(at + WINDOW, n)):
                c.req += 1
                p = Payload().str(path(i)).u8(1).u32(0o644).u32(0)
                out.append(frame(NN_MKNOD, p.u32(0).u64(0).bytes(), c.req))
            c.send_raw(b"".join(out))
            for _ in out:
                t, r = c.recv()
                if t != NN_ATTR and len(errors) < 10:
                    errors.append(error_of(r) if t == MSG_ERROR else t)
            with lock:
                before = done[0] * 10 // n
                done[0] += len(out)
                if done[0] * 10 // n > before:
                    el = time.monotonic() - t0
                    print("  %d files, %.0f/s" % (done[0], done[0] / el),
                          flush=True)
        c.close()

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    el = time.monotonic() - t0
    print("made %d files in %.1f s: %.0f/s, errors %d %s" %
          (n, el, n / el, len(errors), errors[:3]))
    return 1 if errors else 0


sys.exit(main())
