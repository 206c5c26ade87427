"""group_commit_check.py HOST:PORT ACKED: STAT, on one connection, each
path of ACKED (nn-bench -acked: the creates the namenode acknowledged
before it was killed) and print "acked N missing M", then each missing
path.  Used by group-commit.sh."""
import os
import sys

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
from npdfs_wire import Conn, Payload, MSG_ERROR, error_of  # noqa: E402

NN_STAT, NN_ATTR = 101, 102


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    with open(sys.argv[2]) as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    c = Conn(host, int(port), timeout=60.0)
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
