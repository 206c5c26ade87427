#!/bin/sh
# token-keys.sh: block token keys on a real cluster (issue 11).  The
# namenode makes random keys, rotates them (here every 2 s, tokens living
# 3 s) and hands them to the data node over its TLS link; nothing on any
# disk can sign a token.  A key captured from the namenode (through the
# test-only namenode.test_key_file) forges a token the data node accepts
# while the key lives, and refuses once it has rotated out twice and its
# tokens' lifetime has passed, while fresh tokens from the namenode still
# read.  No file of the cluster (data and run directories, configs,
# database) holds any key's bytes, and `dfs cluster up` writes no secret.
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u

cluster_start -n 1 -b 64K -r 1 --heartbeat 1 \
    -o namenode.key_rotation=2s -o namenode.token_lifetime=3s \
    -o "namenode.test_key_file=$T/keys"
head -c 100000 /dev/urandom >"$T/in"
dfs put "$T/in" /f || { echo "not ok - put"; finish; }

# shellcheck disable=SC2046 # the four fields, split on purpose
set -- $(dfs fsck /f --blocks | sed -n \
    's/^  block \([0-9]*\) gen \([0-9]*\) offset [0-9]* len \([0-9]*\) .*: [0-9]*@\([^ (]*\).*/\1 \2 \3 \4/p' | head -1)
ok "fsck names the block and its node" test $# -eq 4

# forge KEYFILE BLOCK GEN LEN ADDR: read the block with a token signed
# with the key KEYFILE holds first (expiry: now + 3 s); prints "ok", or the
# data node's refusal.
forge() {
	"$PYTHON" - "$@" <<'EOF'
import os, sys, time
sys.path.insert(0, os.path.join(os.environ["top_srcdir"], "tests", "lib"))
import npdfs_wire as w
keys = w.load_keys(sys.argv[1])
block, gen, length = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
host, port = sys.argv[5].rsplit(":", 1)
tok = w.sign_token(keys, block, gen, w.TOKEN_READ,
                   expiry=int(time.time()) + 3)
c = w.Conn(host, int(port))
c.send_raw(w.frame(w.DX_READ, w.read_request(tok, block, gen, 0, length)))
t, p = c.recv()
print("ok" if t == w.DX_DATA else "%d %s" % w.error_of(p))
EOF
}

i=0
while [ ! -s "$T/keys" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
cp "$T/keys" "$T/captured"
# reads KEYFILE: a token forged with KEYFILE's first key reads the block.
reads() {
	[ "$(forge "$1" "$B" "$G" "$L" "$A")" = ok ]
}
B=$1 G=$2 L=$3 A=$4
ok "a token forged with the live key reads" reads "$T/captured"
# Collect every key the namenode makes meanwhile, for the disk search.
cat "$T/keys" >>"$T/allkeys"
exp=$(awk '{ print $2 }' "$T/captured" | sort -n | tail -1)
while [ "$(date +%s)" -le "$exp" ]; do
	cat "$T/keys" >>"$T/allkeys"
	sleep 0.5
done
sleep 1
cat "$T/keys" >>"$T/allkeys"
ok "the captured keys are no longer the namenode's" \
    sh -c "! grep -qFf '$T/captured' '$T/keys'"
forge "$T/captured" "$1" "$2" "$3" "$4" >"$T/refused"
ok "after two rotations a token forged with the captured key: EACCES" \
    grep -q "^-13 token refused .*key has expired or is unknown" \
    "$T/refused"
ok "a token forged with the namenode's current key still reads" \
    reads "$T/keys"
rm -f "$T/out"
dfs get /f "$T/out"
ok "a fresh token from the namenode reads the file" cmp -s "$T/in" "$T/out"
ok "no secret file in the cluster directory" test ! -e "$C/secret"
ok "no config names a secret file" \
    sh -c "! grep -q secret_file '$C'/*.conf"
nokey() {
	"$PYTHON" - "$T/allkeys" "$C" <<'EOF'
import os, sys
keys = {bytes.fromhex(l.split()[2]) for l in open(sys.argv[1]) if l.strip()}
pats = set()
for k in keys:
    pats |= {k, k.hex().encode(), k.hex().upper().encode()}
n = 0
for d, _, fs in os.walk(sys.argv[2]):
    for f in fs:
        p = os.path.join(d, f)
        if os.path.isfile(p) and not os.path.islink(p):
            data = open(p, "rb").read()
            n += 1
            for x in pats:
                if x in data:
                    sys.exit("a token key in " + p)
print("# %d keys searched for in %d files" % (len(keys), n))
sys.exit(0 if keys and n else 1)
EOF
}
ok "no file of the cluster holds any token key" nokey
finish
