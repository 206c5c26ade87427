"""ha_token.py: the id of the key that signed a block token, as a group's
leader hands it out now (ha-mount.sh: a new leader signs with the keys
of the last one, namenode/nn-keys.c).

usage: ha_token.py LEADER_ADDR PATH    prints the key id of the token of
                                       PATH's first block
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import mount_patch as mp  # noqa: E402
import npdfs_wire as w  # noqa: E402

addr, path = sys.argv[1:3]
host, port = addr.rsplit(":", 1)
c = w.Conn(host, int(port))
tokens = []
mp.block_state(c, path, tokens)
c.close()
if not tokens:
    sys.exit("%s has no block" % path)
print(tokens[0]["key_id"])
