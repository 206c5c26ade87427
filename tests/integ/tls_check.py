#!/usr/bin/env python3
"""tls_check.py: what a peer without a good certificate gets from npdfs.

Run by tls.sh against a live cluster:
    tls_check.py peers  C OTHER_CA ADDR...   no certificate, another CA's,
                                            an expired one: no application
                                            data on any ADDR; the cluster's
                                            own client is answered (control)
    tls_check.py revoked-new CONF ADDR      a new connection with CONF is
                                            refused (prints ok / not ok)
    tls_check.py hold CONF ADDR FIFO        connect with CONF, STAT once, then
                                            STAT again after FIFO is written
    tls_check.py roles C USER_CONF DN_CONF  data node messages: refused for a
                                            user, past the role check for a
                                            data node
Each check prints one TAP line.
"""

import datetime
import errno
import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.join(os.environ.get("top_srcdir", "."),
                                "tests", "lib"))
import npdfs_wire as w  # noqa: E402

STAT, ATTR = 101, 102
DN_REGISTER, DN_HEARTBEAT, DN_BLOCK_REPORT = 200, 202, 204
DN_RECEIVED, DN_VERIFIED = 205, 210
BAD_BLOCK = 119



check = w.ok


def hello():
    return w.frame(w.MSG_HELLO, w.Payload().u16(w.VERSION).str("tls_check")
                   .bytes())


def answer(sock):
    """What the peer sends back to a HELLO: bytes until it closes, fails
    or falls silent for 5 s (an empty result means nothing came)."""
    got = b""
    sock.settimeout(5.0)
    try:
        sock.sendall(hello())
        while len(got) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except (ssl.SSLError, OSError):
        pass
    return got


def is_frame(data):
    return len(data) >= 4 and data[:4] == w.MAGIC


def tls_sock(addr, ctx):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5.0)
    try:
        return ctx.wrap_socket(s), None
    except (ssl.SSLError, OSError) as e:
        s.close()
        return None, e


def client_ctx(ca, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    # Trust any server: what is checked is whether *it* trusts us.
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def expired_cert(cadir, outdir):
    """A superuser certificate signed by the cluster's CA that expired
    yesterday, made the way `dfs ca issue` would make one otherwise."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

    with open(os.path.join(cadir, "ca.key"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(os.path.join(cadir, "ca.crt"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "npdfs"),
                x509.NameAttribute(NameOID.COMMON_NAME, "stale")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([
                x509.UniformResourceIdentifier(
                    "npdfs:role=superuser;uid=0;gid=0;groups=")]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    crt, kp = os.path.join(outdir, "stale.crt"), os.path.join(outdir,
                                                             "stale.key")
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return crt, kp


def peers(c, other_ca, addrs):
    ca = os.path.join(c, "ca", "ca.crt")
    stale = expired_cert(os.path.join(c, "ca"), os.path.dirname(other_ca))
    other = (os.path.join(other_ca, "issued", "mallory.crt"),
             os.path.join(other_ca, "issued", "mallory.key"))
    own = w.read_conf(os.path.join(c, "client.conf"))
    for addr in addrs:
        # Control: the cluster's own client is answered on this port.
        s, e = tls_sock(addr, client_ctx(ca, own["tls.cert"],
                                         own["tls.key"]))
        got = answer(s) if s else b""
        check("%s answers HELLO to the cluster's client" % addr,
              is_frame(got), e or got[:16])

        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5.0)
        got = answer(s)
        s.close()
        check("%s: plain TCP gets no npdfs frame" % addr,
              not is_frame(got) and w.MAGIC not in got, got[:16])

        for what, cert, key in (("no certificate", None, None),
                                ("another CA's certificate", *other),
                                ("an expired certificate", *stale)):
            s, e = tls_sock(addr, client_ctx(ca, cert, key))
            got = answer(s) if s else b""
            check("%s: %s gets no application data" % (addr, what),
                  got == b"", got[:16])


def revoked_new(conf, addr):
    host, port = addr.rsplit(":", 1)
    try:
        c = w.Conn(host, int(port), timeout=5.0, conf=conf)
        t, p = c.call(STAT, w.Payload().str("/"))
        c.close()
        check("%s: a new connection with a revoked certificate is refused"
              % addr, False, "STAT answered %d" % t)
    except (ssl.SSLError, OSError, RuntimeError, ValueError) as e:
        check("%s: a new connection with a revoked certificate is refused"
              % addr, True, e)


def hold(conf, addr, fifo):
    host, port = addr.rsplit(":", 1)
    c = w.Conn(host, int(port), timeout=5.0, conf=conf)
    t, p = c.call(STAT, w.Payload().str("/"))
    check("before revocation the certificate is answered", t == ATTR, t)
    with open(fifo) as f:
        f.read()
    try:
        t, p = c.call(STAT, w.Payload().str("/"))
        ok = t == w.MSG_ERROR and w.error_of(p)[0] == -errno.EACCES
        detail = "type %d %s" % (t, w.error_of(p) if t == w.MSG_ERROR
                                  else "")
    except (ssl.SSLError, OSError, ValueError) as e:
        ok, detail = True, e
    check("after revocation an open connection's next request is refused",
          ok, detail)


def roles(c, user_conf, dn_conf):
    nn = w.read_conf(os.path.join(c, "client.conf"))["namenode.address"]
    host, port = nn.rsplit(":", 1)
    with open(os.path.join(c, "datanode1", "cluster.id")) as f:
        cluster = f.read().strip()
    msgs = {
        "REGISTER": (DN_REGISTER, w.Payload().str("not-this-cluster")
                     .str("00000000-0000-4000-8000-00000000dead")
                     .str("127.0.0.1:9").u64(1 << 30).u64(0).u64(0)),
        "HEARTBEAT": (DN_HEARTBEAT, w.Payload().str(cluster).u64(999999)
                      .u64(1 << 30).u64(0).u64(0).u32(0)),
        "BLOCK_REPORT": (DN_BLOCK_REPORT, w.Payload().str(cluster)
                         .u64(999999).u64(1).u32(0).u32(1).u32(1)
                         .u64(1).u64(1).u64(1).u8(0)),
        "RECEIVED": (DN_RECEIVED, w.Payload().u64(999999).u64(1).u64(1)
                     .u64(1)),
        "VERIFIED": (DN_VERIFIED, w.Payload().u64(999999).u64(1).u64(1)
                     .u8(0).str("")),
    }
    # BAD_BLOCK of a real block of a file bob may not read (tls.sh makes
    # /private 0600): refused for bob by permission, taken from a node.
    block, gen = (int(x) for x in os.environ["TLS_PRIVATE_BLOCK"].split())
    msgs["BAD_BLOCK"] = (BAD_BLOCK, w.Payload().u64(block).u64(gen)
                         .u64(999999).str("tls_check"))
    u = w.Conn(host, int(port), conf=user_conf)
    d = w.Conn(host, int(port), conf=dn_conf)
    for name, (t, p) in msgs.items():
        rt, rp = u.call(t, p)
        e = w.error_of(rp)[0] if rt == w.MSG_ERROR else 0
        check("%s with a user's certificate is refused (EACCES)" % name,
              e == -errno.EACCES, (rt, e))
        rt, rp = d.call(t, p)
        e = w.error_of(rp)[0] if rt == w.MSG_ERROR else 0
        check("%s with a data node's certificate passes the role check"
              % name, e != -errno.EACCES, (rt, e))
    # A file bob could read but not reach (its directory is 0700).
    block, gen = (int(x) for x in os.environ["TLS_HIDDEN_BLOCK"].split())
    rt, rp = u.call(BAD_BLOCK, w.Payload().u64(block).u64(gen)
                    .u64(999999).str("tls_check"))
    e = w.error_of(rp)[0] if rt == w.MSG_ERROR else 0
    check("BAD_BLOCK of a 0644 file below a directory bob may not search "
          "is refused (EACCES)", e == -errno.EACCES, (rt, e))
    # A data node's certificate speaking as another node: refused, so
    # one node cannot take another's address, commands or replicas.
    with open(os.path.join(c, "datanode1", "node.uuid")) as f:
        uuid1 = f.read().strip()
    node1 = int(os.environ["TLS_NODE1_ID"])
    t, p = d.call(DN_REGISTER, w.Payload().str(cluster).str(uuid1)
                  .str("127.0.0.1:9").u64(1 << 30).u64(0).u64(0))
    e = w.error_of(p)[0] if t == w.MSG_ERROR else 0
    check("REGISTER with node 1's uuid under node 3's certificate is "
          "refused (EACCES)", e == -errno.EACCES, (t, e))
    t, p = d.call(DN_HEARTBEAT, w.Payload().str(cluster).u64(node1)
                  .u64(1 << 30).u64(0).u64(0).u32(0))
    e = w.error_of(p)[0] if t == w.MSG_ERROR else 0
    check("HEARTBEAT as node 1 under node 3's certificate is refused",
          e == -errno.EACCES, (t, e))
    t, p = d.call(DN_RECEIVED, w.Payload().u64(node1).u64(1).u64(1).u64(1))
    e = w.error_of(p)[0] if t == w.MSG_ERROR else 0
    check("RECEIVED as node 1 under node 3's certificate is refused",
          e == -errno.EACCES, (t, e))
    u.close()
    d.close()


def main():
    cmd = sys.argv[1]
    if cmd == "peers":
        peers(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "revoked-new":
        revoked_new(sys.argv[2], sys.argv[3])
    elif cmd == "hold":
        hold(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "roles":
        roles(sys.argv[2], sys.argv[3], sys.argv[4])
    sys.exit(1 if w.failed else 0)


if __name__ == "__main__":
    main()
