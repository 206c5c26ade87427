"""dn_cluster.py: a fake namenode of another cluster, for identity.sh.

    dn_cluster.py PORTFILE SECONDS CLUSTER_ID

Listens on a free loopback port (written to PORTFILE), and for SECONDS
answers what a data node sends: HELLO, REGISTER with REGISTERED naming
CLUSTER_ID, and, should the node go on, BLOCK_REPORT with OK and
HEARTBEAT with a DELETE of every replica the node reported.  A data node
of another cluster must stop after REGISTERED: it sends no block report
and no heartbeat, so it never hears the DELETEs.  Prints one line of
counts: "register=N report=N heartbeat=N clusters=ID,ID".
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."), "tests",
                                "lib"))
import npdfs_wire as w  # noqa: E402

REGISTER, REGISTERED, HEARTBEAT, COMMANDS, BLOCK_REPORT = \
    200, 201, 202, 203, 204
CMD_DELETE = 1

counts = {"register": 0, "report": 0, "heartbeat": 0}
said = set()
reported = []
lock = threading.Lock()


def serve(sock, cluster):
    # A namenode shows a namenode's certificate (the cluster's own: the
    # data node must refuse it for its cluster id, not its TLS).
    def handle(sock, mtype, req, r):
        if mtype == REGISTER:
            with lock:
                counts["register"] += 1
                said.add(r.str())
            w.reply(sock, REGISTERED, req,
                    w.Payload().u64(7).u32(200).str(cluster))
        elif mtype == BLOCK_REPORT:
            r.str(), r.u64(), r.u64(), r.u32(), r.u32()
            with lock:
                counts["report"] += 1
                for _ in range(r.u32()):
                    reported.append((r.u64(), r.u64()))
                    r.u64(), r.u8()
            w.reply(sock, w.MSG_OK, req)
        elif mtype == HEARTBEAT:
            p = w.Payload()
            with lock:
                counts["heartbeat"] += 1
                p.u32(len(reported))
                for b, g in reported:
                    p.u8(CMD_DELETE).u64(b).u64(g)
            w.reply(sock, COMMANDS, req, p)
        else:
            w.reply(sock, w.MSG_OK, req)
    w.serve_frames(sock, os.environ["NPDFS_TEST_NN_CONF"], handle)


def main():
    portfile, seconds, cluster = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    ls.settimeout(0.2)
    with open(portfile + ".tmp", "w") as f:
        f.write("127.0.0.1:%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    end = time.time() + seconds
    while time.time() < end:
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(s, cluster), daemon=True).start()
    with lock:
        print("register=%d report=%d heartbeat=%d clusters=%s" % (
            counts["register"], counts["report"], counts["heartbeat"],
            ",".join(sorted(said))))


if __name__ == "__main__":
    main()
