"""npdfs_wire: speak the npdfs frame protocol from Python tests.

Used by integration tests that talk to daemons directly (hostile frames,
forged tokens).  The layout follows doc/protocol.md and lib/wire.h.
"""
import socket
import struct

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


class Conn:
    def __init__(self, host, port, timeout=10.0, hello=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
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
