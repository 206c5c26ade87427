"""dn_keys.py: a fake namenode that hands data nodes token keys.

    dn_keys.py PORTFILE KEYFILE

For dn-token.sh, whose data nodes have no real namenode.  Listens on a
free loopback port (written to PORTFILE) with the certificate of
$NPDFS_TEST_NN_CONF (a namenode's), and answers what a data node sends:
HELLO, REGISTER with REGISTERED carrying the keys of KEYFILE (lines "id
expiry hexkey", as namenode.test_key_file holds them, re-read at every
answer so a test may change them), BLOCK_REPORT with OK, HEARTBEAT with a
COMMANDS holding one KEYS command, RECEIVED with OK after printing
"RECEIVED block B gen G len L" on stderr (dn-patch.sh looks for it).
Runs until killed.
"""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import npdfs_wire as w  # noqa: E402

REGISTER, REGISTERED, HEARTBEAT, COMMANDS = 200, 201, 202, 203
RECEIVED = 205
CMD_KEYS = 5


def put_keys(p, keyfile):
    keys = []
    try:
        with open(keyfile) as f:
            keys = [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        pass
    p.u32(len(keys))
    for kid, exp, key in keys:
        p.u32(int(kid)).u64(int(exp)).raw(bytes.fromhex(key))
    return p


def serve(sock, keyfile):
    def handle(sock, mtype, req, r):
        if mtype == REGISTER:
            w.reply(sock, REGISTERED, req, put_keys(
                w.Payload().u64(7).u32(200).str(
                    "0b5e7a1c-6d2f-4e8a-9c3b-7f1d2e4a5b6c"),
                keyfile))
        elif mtype == HEARTBEAT:
            w.reply(sock, COMMANDS, req,
                    put_keys(w.Payload().u32(1).u8(CMD_KEYS), keyfile))
        else:
            if mtype == RECEIVED:
                r.u64()
                sys.stderr.write("RECEIVED block %d gen %d len %d\n" %
                                 (r.u64(), r.u64(), r.u64()))
                sys.stderr.flush()
            w.reply(sock, w.MSG_OK, req)
    w.serve_frames(sock, os.environ["NPDFS_TEST_NN_CONF"], handle)


def main():
    portfile, keyfile = sys.argv[1], sys.argv[2]
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write("127.0.0.1:%d\n" % ls.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s, keyfile), daemon=True).start()


if __name__ == "__main__":
    main()
