"""ha_join_hostile.py: GROUP_JOIN and GROUP_DB, the requests of a member
coming back into a namenode group (namenode/nn-group.c, nn-join.c), asked
wrongly.  Each gets a clear error, and nothing leaves the group.

usage: ha_join_hostile.py CLUSTER_DIR LEADER_ADDR FOLLOWER_ADDR FOLLOWER_ID
"""
import errno
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from npdfs_wire import (MSG_ERROR, MSG_OK, Conn, Payload, Reader,  # noqa
                        check, error_of, expect, summary)

GROUP_JOIN, GROUP_DB, GROUP_DB_REPLY = 164, 165, 166

cdir, leader, follower, fid = sys.argv[1:5]
fid = int(fid)
client_conf = os.path.join(cdir, "client.conf")
nn_conf = os.path.join(cdir, "namenode2.conf")


def conn(addr, conf):
    host, port = addr.rsplit(":", 1)
    return Conn(host, int(port), conf=conf)


def refused(addr, conf, mtype, payload, err, words):
    c = conn(addr, conf)
    t, p = c.call(mtype, payload)
    c.close()
    expect(t == MSG_ERROR, "answered %d, not ERROR" % t)
    e, msg = error_of(p)
    expect(e == -err, "errno %d (%s), not %d" % (e, msg, -err))
    expect(words in msg, "%r does not say %r" % (msg, words))


check("GROUP_JOIN from a client's certificate: refused",
      lambda: refused(leader, client_conf, GROUP_JOIN,
                      Payload().u64(fid).u8(0), errno.EACCES,
                      "the group's namenodes only"))
check("GROUP_DB from a client's certificate: refused",
      lambda: refused(leader, client_conf, GROUP_DB,
                      Payload().u64(fid).u64(0), errno.EACCES,
                      "the group's namenodes only"))
check("a truncated GROUP_JOIN",
      lambda: refused(leader, nn_conf, GROUP_JOIN, Payload().u64(fid),
                      errno.EBADMSG, "malformed"))
check("GROUP_JOIN of a member the group does not have",
      lambda: refused(leader, nn_conf, GROUP_JOIN, Payload().u64(99).u8(0),
                      errno.EINVAL, "not another member"))
check("GROUP_JOIN with a step that does not exist",
      lambda: refused(leader, nn_conf, GROUP_JOIN, Payload().u64(fid).u8(7),
                      errno.EINVAL, "bad GROUP_JOIN step"))
check("GROUP_DB from an offset no copy reaches",
      lambda: refused(leader, nn_conf, GROUP_DB, Payload().u64(fid).u64(4096),
                      errno.EINVAL, "start at 0"))
check("GROUP_JOIN to a follower: sent to the leader",
      lambda: refused(follower, nn_conf, GROUP_JOIN, Payload().u64(fid).u8(1),
                      errno.EREMOTE, "not the leader"))


def db_copy():
    c = conn(leader, nn_conf)
    got, total = b"", None
    while total is None or len(got) < total:
        t, p = c.call(GROUP_DB, Payload().u64(fid).u64(len(got)))
        expect(t == GROUP_DB_REPLY, "answered %d" % t)
        r = Reader(p)
        total, off = r.u64(), r.u64()
        expect(off == len(got), "piece at %d, asked %d" % (off, len(got)))
        got += p[16:]
    c.close()
    expect(got.startswith(b"SQLite format 3\0"), "not a database")
    expect(len(got) == total, "%d bytes of %d" % (len(got), total))


check("GROUP_DB from a namenode: the leader's database, whole", db_copy)
sys.exit(summary())
