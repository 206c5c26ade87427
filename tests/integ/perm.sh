#!/bin/sh
# perm.sh: the namenode's permission checks on a real cluster.  root puts
# a file into a 0755 directory with `dfs`; perm_check.py then acts as the
# superuser, alice (uid 1002) and bob (uid 1001) over the raw protocol
# (ACT_AS) and checks what each may read, list, create, delete, rename,
# chmod, chown and write against what Linux allows (see its header).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
set -u
cluster_start -n 1

head -c 100000 /dev/urandom >"$T/data"
ok "root makes /pub (0755)" dfs mkdir /pub
ok "root puts /pub/rootfile" dfs put "$T/data" /pub/rootfile
addr=$(sed -n 's/^ *address *= *"*\([^"]*\)"*$/\1/p' "$C/client.conf" | head -n 1)
ok "the namenode's address is in client.conf" test -n "$addr"

PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$top_srcdir/tests/integ/perm_check.py" \
    "$addr" /pub/rootfile >"$T/py.out" 2>&1
st=$?
cat "$T/py.out"
ok "perm_check.py: every check passed" test "$st" -eq 0
ok "perm_check.py ran its checks" grep -q '^[1-9][0-9]* passed, 0 failed' \
    "$T/py.out"
# The CLI acting as bob and alice (--as: ACT_AS through the client
# library, sent once per connection).
bob() { dfs --as 1001:1001:100 "$@"; }
alice() { dfs --as 1002:1002 "$@"; }
ok "dfs --as: whoami shows bob's credential as the namenode holds it" \
    sh -c "'$top_builddir/dfs' -c '$C/client.conf' --as 1001:1001:100 \
    whoami | tr '\n' ' ' | grep -q 'uid: 1001 gid: 1001 groups: 100 \
superuser: no'"
ok "dfs whoami: root without --as is the superuser" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' whoami | grep -qx 'superuser: yes'"
ok "dfs --as rejects a malformed credential" fails_with "not UID:GID" \
    dfs --as 1001 whoami
head -c 5000 /dev/urandom >"$T/secret"
ok "alice puts a file" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    --as 1002:1002 mkdir /tmp/alice && '$top_builddir/dfs' -c \
    '$C/client.conf' --as 1002:1002 put '$T/secret' /tmp/alice/secret"
ok "alice reads it back" sh -c "'$top_builddir/dfs' -c '$C/client.conf' \
    --as 1002:1002 cat /tmp/alice/secret | cmp - '$T/secret'"
u=$(getent passwd 1002 | cut -d: -f1)
u=${u:-1002}
ok "her put left it hers (the request's uid 0 was not honoured)" sh -c \
    "'$top_builddir/dfs' -c '$C/client.conf' ls -l /tmp/alice/secret | \
    grep -q ' $u '"
ok "bob can read it while it is 0644" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' --as 1001:1001 cat /tmp/alice/secret | cmp - '$T/secret'"
# (no dfs chmod yet: alice's chmod over the raw protocol)
ok "alice chmods her file 0600" env PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import sys; sys.path.insert(0, sys.argv[1])
import perm_check as p
a = p.As(sys.argv[2], 1002, 1002)
sys.exit(a.setattr("/tmp/alice/secret", p.SET_MODE, 0o600)[0] != 0)' \
    "$top_srcdir/tests/integ" "$addr"
ok "dfs cat as bob of alice's 0600 file exits 1: permission denied" \
    fails_with "permission denied" bob cat /tmp/alice/secret
ok "dfs get as bob likewise" fails_with "permission denied" \
    bob get /tmp/alice/secret "$T/stolen"
ok "dfs rm as bob of root's file exits 1: permission denied" \
    fails_with "permission denied" bob rm /pub/rootfile
ok "dfs mv as bob of root's file exits 1: permission denied" \
    fails_with "permission denied" bob mv /pub/rootfile /tmp/x
ok "dfs put as bob into root's 0755 directory fails" \
    fails_with "permission denied" bob put "$T/data" /pub/bobs
ok "dfs ls as bob of / works" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' --as 1001:1001 ls / | grep -q pub"
ok "dfs rm -r as alice of her own tree works" alice rm -r /tmp/alice
ok "root still reads its file whole" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /pub/rootfile | cmp - '$T/data'"
finish
