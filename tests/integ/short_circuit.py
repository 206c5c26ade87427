#!/usr/bin/env python3
"""short_circuit.py: a data node's local socket under valid, forged and
hostile requests.

Run by short-circuit.sh against a node of a real cluster, with the
cluster secret, the node's TCP address, data directory and Unix socket,
and one block the node holds (id, generation, length, and where its bytes
are in a source file).  Tokens are signed here with the secret exactly as the
namenode signs them (lib/token.c); CRC32C is computed here, independently
of the C code.  Prints "ok - ..." per check and "N passed, M failed";
exits 0 only when nothing failed.
"""
import argparse
import errno
import fcntl
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402

check, expect = w.check, w.expect


class Local:
    """A connection to a data node's Unix socket."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.req = 1

    def close(self):
        self.sock.close()

    def send(self, data, fds=()):
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)

    def _recv(self, n, fds):
        buf = b""
        while len(buf) < n:
            data, got, _, _ = socket.recv_fds(self.sock, n - len(buf), 8)
            fds.extend(got)
            if not data:
                raise ConnectionError("closed")
            buf += data
        return buf

    def recv(self):
        """(type, payload, descriptors) of the next frame."""
        fds = []
        magic, _, mtype, _, length, _ = w.HDR.unpack(self._recv(w.HDR.size,
                                                                fds))
        expect(magic == w.MAGIC, "bad magic in reply")
        return mtype, self._recv(length, fds), fds

    def call(self, mtype, payload=b"", fds=()):
        self.req += 1
        self.send(w.frame(mtype, payload, self.req), fds)
        return self.recv()

    def closed_by_peer(self, wait=5.0):
        """Whether the node closes the connection within wait seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def close_all(fds):
    for fd in fds:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", required=True,
                    help="the namenode's namenode.test_key_file")
    ap.add_argument("--node", required=True, help="host:port")
    ap.add_argument("--dir", required=True, help="the node's data_dir")
    ap.add_argument("--sock", required=True,
                    help="its datanode.local_socket")
    ap.add_argument("--block", type=int, required=True)
    ap.add_argument("--gen", type=int, required=True)
    ap.add_argument("--len", type=int, required=True)
    ap.add_argument("--src", required=True, help="the file holding it")
    ap.add_argument("--offset", type=int, required=True)
    ap.add_argument("--other-uuid", required=True)
    a = ap.parse_args()

    secret = w.load_keys(a.keys)
    with open(os.path.join(a.dir, "node.uuid")) as f:
        uuid = f.read().strip()
    with open(a.src, "rb") as f:
        f.seek(a.offset)
        want = f.read(a.len)
    sock_path = a.sock
    host, port = a.node.rsplit(":", 1)
    B, G = a.block, a.gen

    def tok(**kw):
        block = kw.pop("block", B)
        gen = kw.pop("gen", G)
        mode = kw.pop("mode", w.TOKEN_READ)
        return w.sign_token(secret, block, gen, mode, **kw)

    def refused(t, block=B, gen=G, who=uuid, code=errno.EACCES):
        c = Local(sock_path)
        try:
            mtype, pl, fds = c.call(w.DX_LOCAL_OPEN,
                                    w.local_open_request(t, block, gen, who))
            close_all(fds)
            expect(mtype == w.MSG_ERROR, "type %d, not ERROR" % mtype)
            err, msg = w.error_of(pl)
            expect(err == -code, "errno %d (%s), wanted %d" %
                   (-err, msg, code))
            expect(not fds, "descriptors came with an ERROR")
            return msg
        finally:
            c.close()

    # --- where the socket is, asked on the TCP port ------------------------
    def where():
        c = w.Conn(host, int(port), timeout=10.0)
        t, pl = c.call(w.DX_LOCAL_WHERE)
        c.close()
        expect(t == w.DX_LOCAL_HERE, "type %d" % t)
        r = w.Reader(pl)
        got_uuid, got_path = r.str(), r.str()
        expect(got_uuid == uuid, "uuid %s, not %s" % (got_uuid, uuid))
        expect(os.path.realpath(got_path) == os.path.realpath(sock_path),
               "path %s" % got_path)
    check("LOCAL_WHERE on the TCP port names this node and its socket",
          where)

    def where_junk():
        c = w.Conn(host, int(port), timeout=10.0)
        t, pl = c.call(w.DX_LOCAL_WHERE, b"junk")
        t2, _ = c.call(w.DX_LOCAL_WHERE)
        c.close()
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EBADMSG,
               "type %d" % t)
        expect(t2 == w.DX_LOCAL_HERE, "the connection did not go on")
    check("LOCAL_WHERE with a payload: EBADMSG, the connection goes on",
          where_junk)

    def open_on_tcp():
        c = w.Conn(host, int(port), timeout=10.0)
        t, pl = c.call(w.DX_LOCAL_OPEN, w.local_open_request(tok(), B, G,
                                                             uuid))
        c.close()
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EPROTO,
               "type %d" % t)
    check("LOCAL_OPEN on the TCP port is refused (EPROTO)", open_on_tcp)

    # --- a valid request: two read-only descriptors of the replica ---------
    def good(who=uuid, conn=None):
        c = conn or Local(sock_path)
        mtype, pl, fds = c.call(w.DX_LOCAL_OPEN,
                                w.local_open_request(tok(), B, G, who))
        if conn is None:
            c.close()
        try:
            expect(mtype == w.DX_LOCAL_FDS, "type %d: %s" % (
                mtype, w.error_of(pl) if mtype == w.MSG_ERROR else ""))
            got_uuid, length, chunk, n = w.parse_local_fds(pl)
            expect(got_uuid == uuid, "uuid %s" % got_uuid)
            expect(length == a.len, "length %d, not %d" % (length, a.len))
            expect(n == 2 and len(fds) == 2, "%d/%d descriptors" %
                   (n, len(fds)))
            data = os.pread(fds[0], length + 1, 0)
            expect(data == want, "the block file is not the block's bytes")
            nch = (length + chunk - 1) // chunk
            meta = os.pread(fds[1], 24 + 4 * nch + 1, 0)
            expect(len(meta) == 24 + 4 * nch, "sidecar of %d bytes" %
                   len(meta))
            expect(meta[:4] == b"NPDM", "sidecar magic")
            c_, l_ = struct.unpack("<IQ", meta[8:20])
            expect((c_, l_) == (chunk, length), "sidecar header")
            crcs = struct.unpack("<%dI" % nch, meta[24:])
            expect(list(crcs) == w.chunk_crcs(want, chunk),
                   "sidecar CRCs do not match the bytes")
            for fd in fds:
                fl = fcntl.fcntl(fd, fcntl.F_GETFL)
                expect(fl & os.O_ACCMODE == os.O_RDONLY, "not read-only")
                try:
                    os.write(fd, b"x")
                    raise AssertionError("a passed descriptor is writable")
                except OSError as e:
                    expect(e.errno == errno.EBADF, "write: %s" % e)
        finally:
            close_all(fds)
    check("a READ token gets the block file and its sidecar, read-only, "
          "bytes and CRCs right", good)
    check("an empty uuid means any node", lambda: good(who=""))

    check("another node's uuid is refused (ESTALE)", lambda: expect(
        "this is data node %s" % uuid in
        refused(tok(), who=a.other_uuid, code=errno.ESTALE), "message"))

    # --- tokens the TCP READ refuses are refused here ----------------------
    def forged():
        t = tok()
        t["mac"] = bytes([t["mac"][0] ^ 1]) + t["mac"][1:]
        expect("bad signature" in refused(t), "message")
    check("a forged token is refused", forged)
    check("an expired token is refused", lambda: expect(
        "expired" in refused(tok(expiry=int(time.time()) - 5)), "message"))
    check("a token for another block is refused",
          lambda: refused(tok(block=B + 1000)))
    check("a token for another generation is refused",
          lambda: refused(tok(gen=G + 1)))
    check("a WRITE token is refused",
          lambda: refused(tok(mode=w.TOKEN_WRITE)))
    check("a token of an unknown key is refused", lambda: refused(
        tok(key_id=secret[0][0] ^ 0x5a5a)))

    # --- the peer's uid must be the token's (or 0) --------------------------
    def as_uid(uid, fn):
        """Run fn in a child process of that uid; whether it returned."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                fn()
                os._exit(0)
            except BaseException as ex:  # noqa: B036 the child reports
                sys.stderr.write("as uid %d: %s\n" % (uid, ex))
                os._exit(1)
        return os.waitpid(pid, 0)[1] == 0

    def nobody_gets_own():
        c = Local(sock_path)
        mtype, pl, fds = c.call(w.DX_LOCAL_OPEN, w.local_open_request(
            tok(uid=65534), B, G, uuid))
        close_all(fds)
        c.close()
        expect(mtype == w.DX_LOCAL_FDS and len(fds) == 2,
               "type %d, %d fds" % (mtype, len(fds)))

    def root_uses_alices():
        c = Local(sock_path)
        mtype, pl, fds = c.call(w.DX_LOCAL_OPEN, w.local_open_request(
            tok(uid=1001), B, G, uuid))
        close_all(fds)
        c.close()
        expect(mtype == w.DX_LOCAL_FDS, "type %d" % mtype)

    def nobody_with_alices():
        msg = refused(tok(uid=1001))
        expect("issued to uid 1001" in msg and "local uid 65534" in msg, msg)

    if os.geteuid() == 0:
        check("local uid 65534 opens with a token issued to 65534",
              lambda: expect(as_uid(65534, nobody_gets_own), "refused"))
        check("local uid 65534 with uid 1001's token: EACCES, says whose",
              lambda: expect(as_uid(65534, nobody_with_alices), "failed"))
        check("local uid 0 (a host's root) may use uid 1001's token",
              root_uses_alices)
    check("an all-zero token is refused", lambda: refused(w.zero_token()))
    check("a valid token for a block the node lacks: ENOENT",
          lambda: refused(tok(block=B + 77777), block=B + 77777,
                          code=errno.ENOENT))
    check("a valid token for a generation the node lacks: ENOENT",
          lambda: refused(tok(gen=G + 5), gen=G + 5, code=errno.ENOENT))

    # --- hostile frames ----------------------------------------------------
    def short_then_close():
        c = Local(sock_path)
        c.send(w.frame(w.DX_LOCAL_OPEN, b"")[:10])
        c.close()
        good()
    check("half a header, then close: the node goes on", short_then_close)

    def garbage_header():
        c = Local(sock_path)
        c.send(w.frame(w.DX_LOCAL_OPEN, b"", magic=b"XXXX"))
        t, pl, fds = c.recv()
        close_all(fds)
        expect(t == w.MSG_ERROR, "type %d" % t)
        expect(c.closed_by_peer(), "connection left open")
        c.close()
    check("a frame with a bad magic: ERROR, connection closed",
          garbage_header)

    def oversized():
        c = Local(sock_path)
        c.send(w.frame(w.DX_LOCAL_OPEN, b"", length=64 << 10))
        t, pl, fds = c.recv()
        close_all(fds)
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EMSGSIZE,
               "type %d" % t)
        expect(c.closed_by_peer(), "connection left open")
        c.close()
    check("a 64 KiB request: EMSGSIZE before reading it, closed", oversized)

    def huge():
        c = Local(sock_path)
        c.send(w.frame(w.DX_LOCAL_OPEN, b"", length=0xFFFFFFF0))
        t, pl, fds = c.recv()
        close_all(fds)
        expect(t == w.MSG_ERROR, "type %d" % t)
        expect(c.closed_by_peer(), "connection left open")
        c.close()
    check("a 4 GiB length: ERROR, closed", huge)

    def truncated_payload():
        c = Local(sock_path)
        t, pl, fds = c.call(w.DX_LOCAL_OPEN, b"\x01" * 10)
        close_all(fds)
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EBADMSG,
               "type %d" % t)
        good(conn=c)
        c.close()
    check("a truncated LOCAL_OPEN: EBADMSG, then the same connection "
          "serves a valid one", truncated_payload)

    def trailing():
        c = Local(sock_path)
        t, pl, fds = c.call(w.DX_LOCAL_OPEN,
                            w.local_open_request(tok(), B, G, uuid) + b"x")
        close_all(fds)
        c.close()
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EBADMSG,
               "type %d" % t)
        expect(not fds, "descriptors came")
    check("a LOCAL_OPEN with trailing bytes: EBADMSG, no descriptors",
          trailing)

    def long_uuid():
        c = Local(sock_path)
        t, pl, fds = c.call(w.DX_LOCAL_OPEN,
                            w.local_open_request(tok(), B, G, "u" * 900))
        close_all(fds)
        c.close()
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.EBADMSG,
               "type %d" % t)
    check("a 900-byte uuid: EBADMSG", long_uuid)

    def unknown_type():
        c = Local(sock_path)
        t, pl, fds = c.call(9999, b"abc")
        close_all(fds)
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.ENOSYS,
               "type %d" % t)
        t, pl, fds = c.call(w.DX_READ, w.read_request(tok(), B, G, 0, 10))
        close_all(fds)
        expect(t == w.MSG_ERROR and w.error_of(pl)[0] == -errno.ENOSYS,
               "READ on the local socket: type %d" % t)
        good(conn=c)
        c.close()
    check("unknown types and READ on the local socket: ENOSYS, the "
          "connection goes on", unknown_type)

    def garbage():
        c = Local(sock_path)
        c.send(os.urandom(4096))
        try:
            t, pl, fds = c.recv()
            close_all(fds)
            expect(t == w.MSG_ERROR, "type %d" % t)
        except (ConnectionError, ValueError, AssertionError):
            pass
        c.close()
        good()
    check("4 KiB of random bytes: the node goes on", garbage)

    def sends_fds():
        c = Local(sock_path)
        fd = os.open("/dev/null", os.O_RDONLY)
        try:
            c.req += 1
            c.send(w.frame(w.DX_LOCAL_OPEN,
                           w.local_open_request(tok(), B, G, uuid), c.req),
                   fds=[fd, fd])
            mtype, pl, fds = c.recv()
            close_all(fds)
            expect(mtype == w.DX_LOCAL_FDS, "type %d" % mtype)
        finally:
            os.close(fd)
            c.close()
    check("descriptors sent to the node are ignored; the request is "
          "served", sends_fds)

    def stalled_payload():
        c = Local(sock_path)
        c.send(w.frame(w.DX_LOCAL_OPEN, b"", length=200) + b"\0" * 20)
        good()  # another connection is served meanwhile
        c.close()
    check("a request stalled mid-payload does not hold up another",
          stalled_payload)

    def flood():
        conns = []
        busy = 0
        try:
            for _ in range(80):
                conns.append(Local(sock_path))
            time.sleep(0.5)
            for c in conns:
                c.sock.settimeout(0.05)
                try:
                    t, pl, fds = c.recv()
                    close_all(fds)
                    if t == w.MSG_ERROR and \
                            w.error_of(pl)[0] == -errno.EBUSY:
                        busy += 1
                except (socket.timeout, ConnectionError):
                    pass
        finally:
            for c in conns:
                c.close()
        expect(busy >= 80 - 64, "%d of 80 connections refused busy" % busy)
        time.sleep(0.5)
        good()
    check("80 idle connections: those past 64 are refused (EBUSY); "
          "afterwards the node serves again", flood)

    check("after everything, a valid request is still served", good)
    return w.summary()


if __name__ == "__main__":
    sys.exit(main())
