"""npdfs_wire: speak the npdfs frame protocol from Python tests.

Used by integration tests that talk to daemons directly (hostile frames,
forged tokens).  The layout follows doc/protocol.md and lib/wire.h.
"""
import os
import socket
import ssl
import struct
import sys

MAGIC = b"NPDF"
VERSION = 1
HDR = struct.Struct("<4sHHQII")  # magic, version, type, req_id, len, flags

MSG_ERROR, MSG_OK, MSG_HELLO = 1, 2, 3


class Payload:
    """Builds a little-endian payload."""

    def __init__(self):
        self.parts = []

    def u8(self, v): self.parts.append(struct.pack("<B", v)); return self
    def u16(self, v): self.parts.append(struct.pack("<H", v)); return self
    def u32(self, v): self.parts.append(struct.pack("<I", v)); return self
    def u64(self, v): self.parts.append(struct.pack("<Q", v)); return self
    def i32(self, v): self.parts.append(struct.pack("<i", v)); return self
    def i64(self, v): self.parts.append(struct.pack("<q", v)); return self
    def raw(self, b): self.parts.append(bytes(b)); return self

    def blob(self, b):
        b = bytes(b)
        return self.u32(len(b)).raw(b)

    def str(self, s):
        return self.blob(s.encode())

    def bytes(self):
        return b"".join(self.parts)


class Reader:
    """Reads a little-endian payload; raises ValueError when short."""

    def __init__(self, data):
        self.data, self.off = data, 0

    def _take(self, n):
        if self.off + n > len(self.data):
            raise ValueError("short payload")
        b = self.data[self.off:self.off + n]
        self.off += n
        return b

    def u8(self): return self._take(1)[0]
    def u16(self): return struct.unpack("<H", self._take(2))[0]
    def u32(self): return struct.unpack("<I", self._take(4))[0]
    def u64(self): return struct.unpack("<Q", self._take(8))[0]
    def i32(self): return struct.unpack("<i", self._take(4))[0]
    def i64(self): return struct.unpack("<q", self._take(8))[0]
    def raw(self, n): return self._take(n)
    def blob(self): return self._take(self.u32())
    def str(self): return self.blob().decode()


def frame(mtype, payload=b"", req_id=1, version=VERSION, magic=MAGIC,
          length=None, flags=0):
    """One frame; every header field can be forged for hostile tests."""
    if length is None:
        length = len(payload)
    return HDR.pack(magic, version, mtype, req_id, length, flags) + payload


def read_conf(path):
    """The key = value settings of an npdfs config file, as a dict."""
    conf, section = {}, ""
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip() + "."
            elif "=" in line:
                k, v = line.split("=", 1)
                k, v = k.strip(), v.strip()
                if len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1]
                conf[k if "." in k else section + k] = v
    return conf


def tls_context(conf_path, server=False):
    """A TLS 1.3 context with the certificate, key and CA of a config
    (relative paths are taken from the config's directory), or None when
    it names no certificate."""
    conf = read_conf(conf_path)
    if not conf.get("tls.cert"):
        return None
    base = os.path.dirname(os.path.abspath(conf_path))

    def at(p):
        return p if os.path.isabs(p) else os.path.join(base, p)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server
                         else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(at(conf["tls.ca"]))
    ctx.load_cert_chain(at(conf["tls.cert"]), at(conf["tls.key"]))
    return ctx


class Conn:
    """A connection to a daemon: TLS with the certificate of the config
    conf (default: $NPDFS_TEST_CONF, which tests/lib/cluster.sh sets to the
    cluster's client.conf); conf=False for plain TCP."""

    def __init__(self, host, port, timeout=10.0, hello=True, conf=None):
        if conf is None:
            conf = os.environ.get("NPDFS_TEST_CONF")
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # As the C client: no Nagle (a request right after the handshake
        # would otherwise wait for a delayed ACK, ~40 ms).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        ctx = tls_context(conf) if conf else None
        if ctx is not None:
            self.sock = ctx.wrap_socket(self.sock)
        self.req = 1
        if hello:
            t, _ = self.call(MSG_HELLO, Payload().u16(VERSION).str("test"))
            if t != MSG_HELLO:
                raise RuntimeError("no HELLO reply")

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def recv(self):
        """(type, payload bytes) of the next frame."""
        magic, ver, mtype, req, length, flags = HDR.unpack(
            self.recv_exact(HDR.size))
        if magic != MAGIC:
            raise ValueError("bad magic in reply")
        return mtype, self.recv_exact(length)

    def call(self, mtype, payload=b""):
        if isinstance(payload, Payload):
            payload = payload.bytes()
        self.req += 1
        self.send_raw(frame(mtype, payload, self.req))
        return self.recv()


def error_of(payload):
    """(errno, message) of an ERROR reply."""
    r = Reader(payload)
    return r.i32(), r.str()


# --- Data node protocol: checksums, block tokens, WRITE/PACKET/READ ------
# (Added for tests/integ/dn_token.py; layouts from lib/proto.h, token
# signing as lib/token.c does it.)
import hashlib
import hmac
import time

DX_WRITE, DX_PACKET, DX_ACK, DX_READ, DX_DATA = 300, 301, 302, 303, 304
TOKEN_READ, TOKEN_WRITE = 1, 2


def _crc32c_make_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_make_table()


def crc32c(data, crc=0):
    """CRC32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF),
    byte-table driven; crc32c(b"123456789") == 0xE3069283.  Pass a
    previous result as crc to continue a checksum."""
    t = CRC32C_TABLE
    c = crc ^ 0xFFFFFFFF
    for b in bytes(data):
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def chunk_crcs(data, chunk_size):
    """The CRC32C of each chunk of data (the last may be short)."""
    return [crc32c(data[i:i + chunk_size])
            for i in range(0, len(data), chunk_size)]


def load_keys(path):
    """The namenode's token keys from its namenode.test_key_file (a test
    setting: one "id expiry hexkey" line per key, the signing key first),
    waiting up to 30 s for the file: [(id, expiry, key bytes), ...]."""
    deadline = time.time() + 30
    while True:
        try:
            with open(path) as f:
                keys = [(int(i), int(e), bytes.fromhex(k)) for i, e, k in
                        (line.split() for line in f if line.strip())]
            if keys:
                return keys
        except FileNotFoundError:
            pass
        if time.time() > deadline:
            raise RuntimeError("no token keys in " + path)
        time.sleep(0.1)


def targets_hash(addrs):
    """The hash of a write pipeline (doc/protocol.md section 10): from 32
    zero bytes, h = SHA-256(h || u32le(len(addr)) || addr) per node."""
    h = bytes(32)
    for a in addrs:
        a = a.encode()
        h = hashlib.sha256(h + struct.pack("<I", len(a)) + a).digest()
    return h


def token_mac(key, block, gen, mode, expiry, key_id, uid, targets=None):
    """HMAC-SHA256 over the 68-byte message of doc/protocol.md section 10;
    targets: the write pipeline's addresses (None or () for a read)."""
    msg = struct.pack("<QQB3xQII", block, gen, mode, expiry, key_id, uid)
    msg += targets_hash(targets) if targets else bytes(32)
    return hmac.new(key, msg, hashlib.sha256).digest()


def sign_token(keys, block, gen, mode, uid=0, lifetime=600, now=None,
               expiry=None, key_id=None, targets=None):
    """A token as the namenode signs it with keys[0] (from load_keys, or
    one (id, expiry, key) triple list): a dict with block, gen, mode,
    expiry, key_id, uid and mac.  A write token binds its pipeline,
    targets (the nodes' addresses in order).  expiry and key_id may be
    forced (the mac is still made with keys[0]'s bytes)."""
    kid, kexp, key = keys[0]
    now = int(time.time()) if now is None else now
    if key_id is None:
        key_id = kid
    if expiry is None:
        expiry = min(now + lifetime, kexp)
    return {"block": block, "gen": gen, "mode": mode, "expiry": expiry,
            "key_id": key_id, "uid": uid,
            "mac": token_mac(key, block, gen, mode, expiry, key_id, uid,
                             targets)}


def get_token(r):
    """A token record from a reader with u64/u8/u32/raw methods."""
    return {"block": r.u64(), "gen": r.u64(), "mode": r.u8(),
            "expiry": r.u64(), "key_id": r.u32(), "uid": r.u32(),
            "mac": r.raw(32)}


def zero_token():
    return {"block": 0, "gen": 0, "mode": 0, "expiry": 0, "key_id": 0,
            "uid": 0, "mac": bytes(32)}


def put_token(p, tok):
    """Append a token record to a Payload."""
    return (p.u64(tok["block"]).u64(tok["gen"]).u8(tok["mode"])
            .u64(tok["expiry"]).u32(tok["key_id"]).u32(tok["uid"])
            .raw(tok["mac"]))


def write_request(tok, block, gen, chunk_size, downstream=()):
    """DX_WRITE payload bytes."""
    p = put_token(Payload(), tok).u64(block).u64(gen).u32(chunk_size)
    p.u32(len(downstream))
    for addr in downstream:
        p.str(addr)
    return p.bytes()


def packet_payload(seqno, offset, last, data, chunk_size, crcs=None):
    """DX_PACKET payload bytes; crcs default to the right ones."""
    if crcs is None:
        crcs = chunk_crcs(data, chunk_size)
    p = Payload().u64(seqno).u64(offset).u8(1 if last else 0)
    p.u32(len(crcs))
    for c in crcs:
        p.u32(c)
    return p.blob(data).bytes()


def read_request(tok, block, gen, offset, length):
    """DX_READ payload bytes."""
    return put_token(Payload(), tok).u64(block).u64(gen).u64(offset) \
        .u64(length).bytes()


def parse_ack(payload):
    """(seqno, status, failed, message) of a DX_ACK."""
    r = Reader(payload)
    return r.u64(), r.i32(), r.u32(), r.str()


def parse_data(payload):
    """(offset, chunk_size, crcs, data) of a DX_DATA."""
    r = Reader(payload)
    off, chunk, n = r.u64(), r.u32(), r.u32()
    crcs = [r.u32() for _ in range(n)]
    return off, chunk, crcs, r.blob()


DX_PATCH = 312


def patch_request(tok, block, old_gen, new_gen, chunk_size, new_len, locs,
                  ranges):
    """DX_PATCH payload bytes (doc/protocol.md 8b).  ranges: (offset,
    data) or (offset, data, crcs) with crcs forged."""
    p = put_token(Payload(), tok).u64(block).u64(old_gen).u64(new_gen)
    p.u32(chunk_size).u64(new_len).u32(len(locs))
    for addr in locs:
        p.str(addr)
    p.u32(len(ranges))
    for rg in ranges:
        off, data = rg[0], rg[1]
        crcs = rg[2] if len(rg) > 2 else chunk_crcs(data, chunk_size)
        p.u64(off).u32(len(crcs))
        for c in crcs:
            p.u32(c)
        p.blob(data)
    return p.bytes()


# --- Short-circuit local reads (tests/integ/short_circuit.py) -------------
DX_LOCAL_WHERE, DX_LOCAL_HERE, DX_LOCAL_OPEN, DX_LOCAL_FDS = 308, 309, 310, 311


def local_open_request(tok, block, gen, uuid=""):
    """DX_LOCAL_OPEN payload bytes (sent on a data node's Unix socket)."""
    return put_token(Payload(), tok).u64(block).u64(gen).str(uuid).bytes()


def parse_local_fds(payload):
    """(uuid, length, chunk_size, nfds) of a DX_LOCAL_FDS."""
    r = Reader(payload)
    return r.str(), r.u64(), r.u32(), r.u32()


# Checks in the TAP-like form the integration scripts print: "ok - NAME"
# or "not ok - NAME: why"; a failed check does not stop the others.
passed = failed = 0


def check(name, fn):
    global passed, failed
    try:
        fn()
    except Exception as e:  # a failed check must not stop the others
        failed += 1
        print("not ok - %s: %s: %s" % (name, type(e).__name__, e))
    else:
        passed += 1
        print("ok - %s" % name)
    sys.stdout.flush()


def ok(desc, cond, detail=""):
    """A check that is a condition: "ok - DESC", or "not ok - DESC: detail"
    when cond is false; counted with check()'s."""
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + desc, flush=True)
    else:
        failed += 1
        print("not ok - %s%s" % (desc, ": %r" % (detail,)
                                 if detail != "" else ""), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def summary():
    """Print "N passed, M failed"; the exit status: 0 when none failed."""
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


def reply(sock, mtype, req, payload=b""):
    """Send one reply frame (a fake daemon's side)."""
    if isinstance(payload, Payload):
        payload = payload.bytes()
    sock.sendall(frame(mtype, payload, req))


def serve_frames(sock, conf, handle):
    """Play a daemon on an accepted socket: TLS with the certificate of
    the config conf (server side, the peer's certificate required), HELLO
    answered, and handle(sock, type, req_id, Reader) called for every
    other frame until the peer goes."""
    import socket as _socket
    sock.settimeout(5.0)
    try:
        sock = tls_context(conf, server=True).wrap_socket(sock,
                                                          server_side=True)
    except (OSError, ValueError):
        return
    sock.settimeout(1.0)
    buf = b""
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except _socket.timeout:
            continue
        except OSError:
            return
        if not chunk:
            return
        buf += chunk
        while len(buf) >= HDR.size:
            _, _, mtype, req, length, _ = HDR.unpack(buf[:HDR.size])
            if len(buf) < HDR.size + length:
                break
            body = buf[HDR.size:HDR.size + length]
            buf = buf[HDR.size + length:]
            if mtype == MSG_HELLO:
                reply(sock, MSG_HELLO, req, Payload().u16(1).str("fake"))
            else:
                handle(sock, mtype, req, Reader(body))
