#!/bin/sh
# cli-owner.sh: dfs chmod, chown, chgrp (with and without -R), whoami and
# escaped names (issue 11), on a real cluster, read back with dfs stat.
# Modes are held to coreutils chmod(1), an oracle we did not write: each
# mode is applied to a local file and to a cluster file of the same
# starting mode, and the results must agree.  Bad modes, unknown users
# and missing paths exit 1 naming what was wrong; a name holding a newline
# and ESC [ 2 J is listed escaped, one line per entry.
set -u
. "$top_srcdir/tests/lib/cluster.sh"

B="$top_builddir"
ESC=$(printf '\033')
says() {	# says PATTERN FILE
	grep -q -- "$1" "$2" || { echo "   $2 does not say '$1':"; \
	    cat "$2"; return 1; }
}
field() {	# field PATH KEY: one line of dfs stat, its value
	dfs stat "$1" | sed -n "s/^$2: //p"
}
mode_of() {	# mode_of PATH: its mode as dfs stat prints it (4 digits)
	field "$1" mode | cut -d' ' -f1
}
mode_is() {	# mode_is PATH OCTAL
	got=$(mode_of "$1")
	[ "$got" = "$2" ] || { echo "   $1: mode $got, wanted $2"; return 1; }
}
owner_is() {	# owner_is PATH UID GID
	got="$(field "$1" owner):$(field "$1" group)"
	[ "$got" = "$2:$3" ] || { echo "   $1: owner $got, wanted $2:$3"; \
	    return 1; }
}

cluster_start -n 1
printf 'hello\n' >"$T/small"
dfs mkdir -p /o/d /t/a/b /e
dfs put "$T/small" /o/f
dfs put "$T/small" /t/a/f
dfs put "$T/small" /t/a/b/g

# 1. whoami: the identity client.conf's certificate carries.
dfs whoami >"$T/who" 2>&1 && st=0 || st=$?
ok "whoami exits 0 with client.conf" test "$st" -eq 0
if [ "$(id -u)" -eq 0 ]; then
	ok "client.conf acts as the superuser (root made the cluster)" \
	    says "^role: superuser$" "$T/who"
else
	ok "client.conf acts as the invoking user" says "^role: user$" \
	    "$T/who"
fi
ok "whoami names the invoking user" says "^name: $(id -un)$" "$T/who"
ok "whoami prints the uid and gid" sh -c "grep -qx 'uid: $(id -u)' \
    '$T/who' && grep -qx 'gid: $(id -g)' '$T/who'"
"$B/dfs" cluster adduser "$C" alice --uid 1234 --gid 1235 \
    --groups 10,20 >/dev/null
"$B/dfs" -c "$C/users/alice.conf" whoami >"$T/alice" 2>&1
grep -v '^address: ' "$T/alice" >"$T/alice.got"
printf 'name: alice\nrole: user\nuid: 1234\ngid: 1235\ngroups: 10,20\n%s\n' \
    'superuser: no' >"$T/alice.want"
ok "whoami with alice's config: what the namenode holds for her" \
    cmp "$T/alice.got" "$T/alice.want"
printf '[namenode]\naddress = "127.0.0.1:1"\n' >"$T/nocert.conf"
ok "whoami without a certificate exits 1 and says so" fails_with \
    "tls.ca is not set" "$B/dfs" -c "$T/nocert.conf" whoami

# Changing owners is the superuser's: when root made the cluster its
# client.conf is the superuser's, else issue one, so the checks below run
# whoever runs the test.
if [ "$(id -u)" -ne 0 ]; then
	"$B/dfs" ca issue "$C/ca" --role superuser admin --uid 0 --gid 0 \
	    >/dev/null
	sed -e 's|issued/[^/]*\.crt"$|issued/admin.crt"|' \
	    -e 's|issued/[^/]*\.key"$|issued/admin.key"|' \
	    "$C/client.conf" >"$T/admin.conf"
	chmod 600 "$T/admin.conf"
	dfs() {
		"$top_builddir/dfs" -c "$T/admin.conf" "$@"
	}
fi
dfs whoami >"$T/su" 2>&1
ok "the commands below run as the superuser" says "^role: superuser$" \
    "$T/su"

# 2. chmod: every mode as coreutils chmod(1) applies it, on a file and
# on a set-group-ID directory (which short octal modes keep set-ID).
umask 027		# modes without "who" honour the umask, as chmod(1)
mkdir "$T/ld"
: >"$T/lf"
bad=0
n=0
for m in 0600 755 4755 00755 2711 u+x g-r o=r a=r +t g+s u+s,g+s o+t \
    u=rwx,g=u,o= go-w a-x,u+X +X a+X g=u o=g ug=rw,o-rwx =r u=,g= \
    a=rwx,o-w -w +x =rx,+t a+rwxst g-s u-s; do
	for kind in f d; do
		if [ $kind = f ]; then
			local_p="$T/lf"; p=/o/f; start=00644
		else
			local_p="$T/ld"; p=/o/d; start=02755
		fi
		n=$((n + 1))
		chmod "$start" "$local_p"
		dfs chmod "$start" "$p"
		chmod -- "$m" "$local_p" 2>/dev/null
		want=$(stat -c %04a "$local_p")
		if ! dfs chmod -- "$m" "$p" >"$T/chmod.out" 2>&1; then
			echo "   dfs chmod $m $p failed: $(cat "$T/chmod.out")"
			bad=$((bad + 1))
		elif ! mode_is "$p" "$want"; then
			echo "   (mode $m from $start)"
			bad=$((bad + 1))
		fi
	done
done
umask 022
ok "dfs chmod agrees with chmod(1) in $n cases, files and directories" \
    test "$bad" -eq 0
dfs chmod 0640 /o/f
dfs chmod -w /o/f
ok "a mode starting with '-' is a mode, not an option" mode_is /o/f 0440

# 3. -R changes a directory and all it holds; without it, only the path.
dfs chmod -R 0700 /t
bad=0
for p in /t /t/a /t/a/b /t/a/f /t/a/b/g; do
	mode_is "$p" 0700 || bad=1
done
ok "chmod -R 0700 reaches every level" test "$bad" -eq 0
dfs chmod 0711 /t
ok "chmod without -R changes only the path" test \
    "$(mode_of /t):$(mode_of /t/a)" = "0711:0700"
dfs chmod 0600 /t/a/b/g
dfs chmod -R go+rX /t
ok "chmod -R go+rX: x for directories, not for plain files" test \
    "$(mode_of /t/a/b):$(mode_of /t/a/b/g)" = "0755:0644"

dfs chown -R 1234:55 /t
bad=0
for p in /t /t/a /t/a/b /t/a/f /t/a/b/g; do
	owner_is "$p" 1234 55 || bad=1
done
ok "chown -R UID:GID reaches every level" test "$bad" -eq 0
dfs chgrp -R 66 /t/a
bad=0
for p in /t/a /t/a/b /t/a/f /t/a/b/g; do
	owner_is "$p" 1234 66 || bad=1
done
ok "chgrp -R changes the group only, at every level" test \
    "$bad:$(field /t group)" = "0:55"
dfs chown 4321 /o/f
ok "chown OWNER keeps the group" owner_is /o/f 4321 "$(field /o/f group)"
dfs chown 7:8 /o/f
dfs chown :77 /o/f
ok "chown :GROUP changes only the group" owner_is /o/f 7 77
dfs chgrp 88 /o/f
ok "chgrp GROUP without -R" owner_is /o/f 7 88
ok "chown without -R leaves what a directory holds" owner_is /t/a/f 1234 66
# Names are looked up on this host, as chown(1) does.
u=root
getent passwd daemon >/dev/null 2>&1 && u=daemon
uid=$(id -u "$u")
ugid=$(id -g "$u")
gname=$(getent group "$ugid" | cut -d: -f1)
dfs chown "$u:$gname" /o/f
ok "chown USER:GROUP by name ($u:$gname)" owner_is /o/f "$uid" "$ugid"
dfs chown 1:1 /o/f
dfs chown "$u:" /o/f
ok "chown USER: takes the user's login group" owner_is /o/f "$uid" "$ugid"
dfs chown 1:1 /o/f
dfs chgrp "$gname" /o/f
ok "chgrp GROUP by name" owner_is /o/f 1 "$ugid"

# 4. Errors: what was wrong, exit 1; the rest of the paths still done.
ok "a bad octal mode exits 1 naming it" fails_with \
    "dfs: chmod: invalid mode: '8'" dfs chmod 8 /o/f
ok "a bad symbolic mode exits 1" fails_with "invalid mode: 'u+q'" \
    dfs chmod u+q /o/f
ok "a mode above 07777 exits 1" fails_with "invalid mode" \
    dfs chmod 17777 /o/f
ok "a mode with a dangling comma exits 1" fails_with "invalid mode" \
    dfs chmod u+x, /o/f
ok "an unknown user exits 1 naming it" fails_with \
    "dfs: chown: invalid user: 'nosuchuser-npdfs'" \
    dfs chown nosuchuser-npdfs /o/f
ok "an unknown group exits 1 naming it" fails_with \
    "dfs: chgrp: invalid group: 'nosuchgroup-npdfs'" \
    dfs chgrp nosuchgroup-npdfs /o/f
ok "an unknown group in chown exits 1" fails_with "invalid group" \
    dfs chown 1:nosuchgroup-npdfs /o/f
ok "a missing path exits 1: dfs: chmod: PATH: reason" fails_with \
    "^dfs: chmod: /nope: no such file or directory$" dfs chmod 0755 /nope
ok "a missing path for chown exits 1" fails_with \
    "^dfs: chown: /o/nope: no such file or directory$" dfs chown 1 /o/nope
dfs chmod 0600 /o/f
dfs chmod -R 0750 /nope /o/f >"$T/keep.out" 2>&1 && st=0 || st=$?
ok "chmod goes on after a failed path and exits 1" sh -c \
    "test $st -eq 1 && grep -q '^dfs: chmod: /nope: ' '$T/keep.out'"
ok "the path after the failed one was changed" mode_is /o/f 0750
"$B/dfs" -c "$C/client.conf" chmod 0755 >/dev/null 2>&1 && st=0 || st=$?
ok "chmod without a path is a usage error (2)" test "$st" -eq 2

# 5. A hostile name: newline and ESC [ 2 J, made through the CLI.
evil=$(printf 'evil\nname\033[2J')
dfs put "$T/small" "/e/$evil"
dfs put "$T/small" /e/plain
dfs ls /e >"$T/ls.out" 2>&1
ok "ls prints one line per entry" test "$(wc -l <"$T/ls.out")" -eq 2
ok "ls escapes the newline and the ESC" grep -qxF 'evil\nname\x1b[2J' \
    "$T/ls.out"
ok "ls prints no ESC byte" sh -c "! grep -q '$ESC' '$T/ls.out'"
dfs ls -l /e >"$T/lsl.out" 2>&1
ok "ls -l prints one line per entry, escaped" sh -c "test \$(wc -l \
    <'$T/lsl.out') -eq 2 && grep -qF ' evil\\nname\\x1b[2J' '$T/lsl.out'"
dfs stat "/e/$evil" >"$T/stat.out" 2>&1
ok "stat escapes the path" grep -qxF 'path: /e/evil\nname\x1b[2J' \
    "$T/stat.out"
ok "stat prints no ESC byte" sh -c "! grep -q '$ESC' '$T/stat.out'"
dfs fsck /e >"$T/fsck.out" 2>&1
ok "fsck escapes the path" grep -qF '/e/evil\nname\x1b[2J: HEALTHY' \
    "$T/fsck.out"
dfs chmod 0600 "/e/$evil"
ok "chmod changes the file with the hostile name" mode_is "/e/$evil" 0600
ok "an error quoting a hostile path is one escaped line" fails_with \
    '^dfs: chmod: /e/evil\\nname\\x1b\[2Jx: no such file' \
    dfs chmod 0600 "/e/${evil}x"
printf 'back\\slash' >"$T/bs"
dfs put "$T/small" "/e/$(cat "$T/bs")"
ok "a backslash in a name is doubled" sh -c "'$B/dfs' -c \
    '$C/client.conf' ls /e | grep -qxF 'back\\\\slash'"

finish
