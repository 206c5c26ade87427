#!/usr/bin/env python3
"""bounds_attack.py: the attacker of bounds.sh, run inside its own
network namespace.

    bounds_attack.py CONF HOST PORT[,PORT...] N_TLS N_IDLE

Against each port: N_TLS connections with the certificate of CONF that
each complete the TLS handshake and send one frame header announcing a
4 MiB payload, and nothing more; then N_IDLE plain TCP connections that
never start a handshake.  Every connection the server closes is opened
again (at most every half second), so the flood is held, not a burst.
Prints "ready" once everything was tried, then a status line every few
seconds, until killed.
"""
import errno
import os
import resource
import select
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
import npdfs_wire as w  # noqa: E402

MIB4 = 4 << 20


def tls_one(ctx, host, port):
    """A TLS connection announcing 4 MiB, or None when refused."""
    try:
        s = socket.create_connection((host, port), timeout=10)
        s = ctx.wrap_socket(s)
        s.sendall(w.frame(w.MSG_HELLO, b"", 7, length=MIB4))
        s.setblocking(False)
        return s
    except (OSError, ssl.SSLError):
        return None


def idle_one(host, port):
    """A plain TCP connection (non-blocking connect), never a byte."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    except OSError:
        s.close()
        return None
    return s


def closed(s):
    """Whether the server has closed s (or it failed)."""
    try:
        r, _, x = select.select([s], [], [s], 0)
    except (OSError, ValueError):
        return True
    if not r and not x:
        return False
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except ssl.SSLWantReadError:
        return False
    except (OSError, ssl.SSLError):
        return True


def main():
    conf, host, ports = sys.argv[1], sys.argv[2], sys.argv[3]
    n_tls, n_idle = int(sys.argv[4]), int(sys.argv[5])
    ports = [int(p) for p in ports.split(",")]
    want = len(ports) * (n_tls + n_idle) + 256
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    ctx = w.tls_context(conf)
    tls = {p: [] for p in ports}
    idle = {p: [None] * n_idle for p in ports}
    for p in ports:
        for _ in range(n_tls):
            s = tls_one(ctx, host, p)
            if s is not None:
                tls[p].append(s)
    for p in ports:
        for i in range(n_idle):
            idle[p][i] = idle_one(host, p)
    print("ready: " + " ".join("%d: %d TLS held of %d" %
                               (p, len(tls[p]), n_tls) for p in ports),
          flush=True)
    last = 0
    while True:
        time.sleep(0.5)
        reopened = 0
        for p in ports:
            for i, s in enumerate(idle[p]):
                if s is None or closed(s):
                    if s is not None:
                        s.close()
                    idle[p][i] = idle_one(host, p)
                    reopened += 1
            alive = [s for s in tls[p] if not closed(s)]
            for s in tls[p]:
                if s not in alive:
                    s.close()
            tls[p] = alive
        if time.time() - last >= 5:
            last = time.time()
            print("holding: " + " ".join("%d: %d TLS" % (p, len(tls[p]))
                                         for p in ports) +
                  "; %d idle reopened in the last pass" % reopened,
                  flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
