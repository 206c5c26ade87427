"""sim_probe.py HOST:PORT PATH STOPFILE: a real client's STAT of PATH,
again and again on one TLS connection (as $NPDFS_TEST_CONF's client),
until STOPFILE exists; then prints "calls N errors E max_ms M" and each
call slower than 1 s.  Used by sim-nodes.sh while 1,000 simulated data
nodes register, report and heartbeat."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
from npdfs_wire import Conn, Payload, MSG_ERROR, error_of  # noqa: E402

NN_STAT, NN_ATTR = 101, 102


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    path, stop = sys.argv[2], sys.argv[3]
    c = Conn(host, int(port), timeout=30.0)
    calls = errors = 0
    worst = 0.0
    slow = []
    while not os.path.exists(stop):
        t0 = time.monotonic()
        t, p = c.call(NN_STAT, Payload().str(path))
        ms = (time.monotonic() - t0) * 1000
        calls += 1
        if t != NN_ATTR:
            errors += 1
            print("error:", error_of(p) if t == MSG_ERROR else t)
        worst = max(worst, ms)
        if ms > 1000:
            slow.append((time.strftime("%H:%M:%S", time.gmtime(time.time() - ms / 1000)), ms))
        time.sleep(0.01)
    c.close()
    print("calls %d errors %d max_ms %.1f" % (calls, errors, worst))
    for at, ms in slow:
        print("slow call: %.1f ms, from %s UTC" % (ms, at))


main()
