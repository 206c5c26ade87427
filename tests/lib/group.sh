# tests/lib/group.sh: what the tests of a namenode group share.  Source
# it after tests/lib/cluster.sh.

# ns_digest DB, same_namespace: after a clean stop of the cluster ($C, three members),
# whether the three databases hold the same namespace: a digest of every
# persistent table, in order, for each; prints them.
ns_digest() {
	"$PYTHON" -c 'import sqlite3, sys, hashlib
c = sqlite3.connect(sys.argv[1])
h = hashlib.sha256()
for t in ("inodes", "dirents", "blocks", "symlinks", "orphans",
          "put_temps", "datanodes", "requests", "patches", "token_keys",
          "meta"):
    for r in c.execute("SELECT * FROM %s ORDER BY 1, 2" % t):
        h.update(repr(r).encode())
print(h.hexdigest())' "$1"
}
same_namespace() {
	d1=$(ns_digest "$C/namenode/namespace.db")
	d2=$(ns_digest "$C/namenode2/namespace.db")
	d3=$(ns_digest "$C/namenode3/namespace.db")
	echo "# namespace digests: $d1 $d2 $d3"
	test -n "$d1" -a "$d1" = "$d2" -a "$d1" = "$d3"
}
