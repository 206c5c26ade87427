"""group_commit_check.py HOST:PORT[,...] ACKED: STAT, on one connection
(to the member that serves, for a group), each
path of ACKED (nn-bench -acked: the creates the namenode acknowledged
before it was killed) and print "acked N missing M", then each missing
path.  Used by group-commit.sh."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
from npdfs_wire import Conn, Payload, MSG_ERROR, error_of  # noqa: E402

NN_STAT, NN_ATTR = 101, 102


def leader(addrs):
    """A connection to the member of addrs (HOST:PORT,...) that serves."""
    for a in addrs.split(","):
        host, port = a.strip().rsplit(":", 1)
        try:
            c = Conn(host, int(port), timeout=60.0)
        except OSError:
            continue
        t, _ = c.call(NN_STAT, Payload().str("/"))
        if t == NN_ATTR:
            return c
        c.close()
    raise SystemExit("no member of %s serves" % addrs)


def main():
    with open(sys.argv[2]) as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    c = leader(sys.argv[1])
    missing = []
    for p in paths:
        t, r = c.call(NN_STAT, Payload().str(p))
        if t != NN_ATTR:
            missing.append((p, error_of(r) if t == MSG_ERROR else t))
    c.close()
    print("acked %d missing %d" % (len(paths), len(missing)))
    for p, why in missing[:20]:
        print("missing: %s (%s)" % (p, why))


main()
