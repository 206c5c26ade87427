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
ok "root still reads its file whole" sh -c "'$top_builddir/dfs' -c \
    '$C/client.conf' cat /pub/rootfile | cmp - '$T/data'"
finish
