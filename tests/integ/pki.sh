#!/bin/sh
# pki.sh: identities from the cluster CA (issue 11, first slice).  "dfs
# cluster up" makes a CA and a certificate for every party that
# openssl(1), an oracle we did not write, accepts and reads the right role
# from; "adduser" writes a private client config; a key file others can
# read stops the namenode, a data node, dfs-mount and dfs, each naming it;
# "dfs ca revoke" shows in "dfs ca list" and in openssl's verdict.
set -u
. "$top_srcdir/tests/lib/cluster.sh"

B="$top_builddir"
CA="$C/ca"
says() {	# says PATTERN FILE
	grep -qi -- "$1" "$2" || { echo "   $2 does not say '$1':"; \
	    tail -n 5 "$2"; return 1; }
}
verifies() {	# verifies CERT: openssl accepts it with the cluster's CRL
	openssl verify -CAfile "$CA/ca.crt" -CRLfile "$CA/crl.pem" \
	    -crl_check "$1" >"$T/verify.out" 2>&1
}
mode() {
	stat -c %a "$1"
}

cluster_start -n 2
me=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	myrole="role=superuser;uid=0;gid=$(id -g)"
else
	myrole="role=user;uid=$(id -u);gid=$(id -g)"
fi

# 1. cluster up made the CA and every certificate.
ok "the CA key is 0600" test "$(mode "$CA/ca.key")" = 600
ok "the CA certificate is a CA" sh -c "openssl x509 -in '$CA/ca.crt' \
    -noout -ext basicConstraints | grep -q 'CA:TRUE'"
for n in namenode datanode1 datanode2 host "$me"; do
	ok "openssl verify accepts $n's certificate" verifies \
	    "$CA/issued/$n.crt"
	ok "$n's key is 0600" test "$(mode "$CA/issued/$n.key")" = 600
	ok "$n's key belongs to its certificate" sh -c "test \"\$(openssl \
	    pkey -in '$CA/issued/$n.key' -pubout)\" = \"\$(openssl x509 -in \
	    '$CA/issued/$n.crt' -noout -pubkey)\""
done
ok "the namenode's certificate names its role" sh -c "openssl x509 -in \
    '$CA/issued/namenode.crt' -noout -ext subjectAltName | \
    grep -q 'URI:npdfs:role=namenode,'"
for n in 1 2; do
	ok "datanode$n's certificate names its role and address" sh -c \
	    "openssl x509 -in '$CA/issued/datanode$n.crt' -noout -ext \
	    subjectAltName | grep 'URI:npdfs:role=datanode' | \
	    grep -q 'IP Address:127.0.0.1'"
	ok "datanode$n.conf points at its own certificate" grep -q \
	    "cert = \"$CA/issued/datanode$n.crt\"" "$C/datanode$n.conf"
done
ok "the host certificate has role host" sh -c "openssl x509 -in \
    '$CA/issued/host.crt' -noout -ext subjectAltName | \
    grep -q 'URI:npdfs:role=host;uids=all,'"
ok "the invoking user's certificate carries $myrole" sh -c "openssl x509 \
    -in '$CA/issued/$me.crt' -noout -ext subjectAltName | \
    grep -q 'URI:npdfs:$myrole'"
ok "namenode.conf points at the namenode's key" grep -q \
    "key = \"$CA/issued/namenode.key\"" "$C/namenode.conf"
ok "client.conf carries the invoking user's certificate" grep -q \
    "cert = \"$CA/issued/$me.crt\"" "$C/client.conf"
ok "client.conf names the CA" grep -q "ca = \"$CA/ca.crt\"" "$C/client.conf"
ok "host.conf is 0600 with the host key" sh -c "test \"\$(stat -c %a \
    '$C/host.conf')\" = 600 && grep -q 'key = \"$CA/issued/host.key\"' \
    '$C/host.conf'"
ok "dfs works with client.conf" dfs ls /
ok "dfs ca list shows every party valid" sh -c "'$B/dfs' ca list '$CA' \
    >'$T/list1' && test \$(grep -c ' valid ' '$T/list1') -eq 5"

# 2. adduser: a private client config of its own.
"$B/dfs" cluster adduser "$C" alice --uid 1234 --gid 1234 --groups 10,20 \
    >"$T/adduser.out" 2>&1 && st=0 || st=$?
ok "adduser exits 0" test "$st" -eq 0
ok "adduser prints the config's path" test "$(cat "$T/adduser.out")" = \
    "$C/users/alice.conf"
ok "the user's config is 0600" test "$(mode "$C/users/alice.conf")" = 600
ok "the user's key is 0600" test "$(mode "$C/users/alice.key")" = 600
ok "the user's config names its key" grep -q \
    "key = \"$C/users/alice.key\"" "$C/users/alice.conf"
ok "openssl verify accepts alice's certificate" verifies "$C/users/alice.crt"
ok "alice's certificate carries uid, gid and groups" sh -c "openssl x509 \
    -in '$C/users/alice.crt' -noout -ext subjectAltName | grep -q \
    'URI:npdfs:role=user;uid=1234;gid=1234;groups=10,20'"
ok "dfs works with alice's config" dfs -c "$C/users/alice.conf" ls /
ok "adduser of a name issued already fails" fails_with "issued already" \
    "$B/dfs" cluster adduser "$C" alice --uid 1 --gid 1
"$B/dfs" cluster adduser "$C" eve --uid x1 --gid 1 >/dev/null 2>&1 && st=0 \
    || st=$?
ok "adduser with a bad uid is a usage error" test "$st" -eq 2
ok "... and writes nothing" test ! -e "$C/users/eve.conf"

# 3. Loose permissions are refused at start-up, naming the file.  Daemons
# run here directly are bounded by timeout(1): one that wrongly starts is
# stopped (exit 124, not the 1 wanted) instead of hanging the test.
chmod 644 "$C/users/alice.key"
ok "dfs refuses a 0644 key, naming it" fails_with \
    "$C/users/alice.key is accessible by group or others" \
    dfs -c "$C/users/alice.conf" ls /
chmod 600 "$C/users/alice.key"
"$B/dfs" cluster down "$C" >/dev/null 2>&1
chmod 644 "$CA/issued/namenode.key"
"$B/dfs" cluster up "$C" >"$T/up2.out" 2>&1 && st=0 || st=$?
ok "cluster up with a 0644 namenode key exits 1" test "$st" -eq 1
ok "... the namenode says why, naming the file" says \
    "dfs-namenode: tls.key: key file $CA/issued/namenode.key is accessible by group or others" \
    "$T/up2.out"
"$B/dfs" cluster down "$C" >/dev/null 2>&1
chmod 600 "$CA/issued/namenode.key"
chmod 640 "$CA/issued/datanode1.key"
ok "dfs-datanode refuses a 0640 key, naming it" fails_with \
    "$CA/issued/datanode1.key is accessible by group or others" \
    timeout 30 "$B/dfs-datanode" -c "$C/datanode1.conf"
chmod 600 "$CA/issued/datanode1.key"
chmod 664 "$CA/issued/datanode1.crt"
ok "dfs-datanode refuses a certificate others can write" fails_with \
    "$CA/issued/datanode1.crt is writable by group or others" \
    timeout 30 "$B/dfs-datanode" -c "$C/datanode1.conf"
chmod 644 "$CA/issued/datanode1.crt"
chmod 604 "$CA/issued/$me.key"
ok "dfs-mount refuses a 0604 key, naming it" fails_with \
    "$CA/issued/$me.key is accessible by group or others" \
    timeout 30 "$B/dfs-mount" -c "$C/client.conf" "$T/no-such-mount-point"
chmod 600 "$CA/issued/$me.key"
"$B/dfs" cluster up "$C" >"$T/up3.out" 2>&1 && st=0 || st=$?
ok "with the modes put right the cluster comes back up" test "$st" -eq 0
ok "... and answers" dfs ls /

# 4. Revocation.
ok "openssl accepts datanode2 before it is revoked" verifies \
    "$CA/issued/datanode2.crt"
"$B/dfs" ca revoke "$CA" datanode2 >"$T/revoke.out" 2>&1 && st=0 || st=$?
ok "dfs ca revoke exits 0" test "$st" -eq 0
"$B/dfs" ca list "$CA" >"$T/list2" 2>&1
ok "dfs ca list shows datanode2 revoked" sh -c \
    "grep '^datanode2 ' '$T/list2' | grep -q ' revoked '"
ok "... and datanode1 still valid" sh -c \
    "grep '^datanode1 ' '$T/list2' | grep -q ' valid '"
verifies "$CA/issued/datanode2.crt" && st=0 || st=$?
ok "openssl verify refuses the revoked certificate" test "$st" -ne 0
ok "... because it is revoked" says "certificate revoked" "$T/verify.out"
ok "... and still accepts datanode1" verifies "$CA/issued/datanode1.crt"
serial=$(awk '$1 == "host" { print $3 }' "$T/list2")
ok "dfs ca revoke takes a serial number" "$B/dfs" ca revoke "$CA" "$serial"
ok "... and list shows that one revoked" sh -c "'$B/dfs' ca list '$CA' | \
    grep '^host ' | grep -q ' revoked '"
ok "revoking twice fails and says so" fails_with "revoked already" \
    "$B/dfs" ca revoke "$CA" datanode2
ok "revoking an unknown name fails" fails_with "no certificate" \
    "$B/dfs" ca revoke "$CA" nobody

# 5. dfs ca on its own: another CA is not this cluster's.
ok "dfs ca init makes a second CA" "$B/dfs" ca init "$T/ca2"
ok "dfs ca init refuses to overwrite a CA" fails_with "already holds a CA" \
    "$B/dfs" ca init "$T/ca2"
ok "dfs ca issue with hosts" "$B/dfs" ca issue "$T/ca2" --role datanode \
    dn-b --host b.example.org --host 10.0.0.2
ok "... whose certificate names them" sh -c "openssl x509 -in \
    '$T/ca2/issued/dn-b.crt' -noout -ext subjectAltName | grep -q \
    'DNS:b.example.org, IP Address:10.0.0.2'"
ok "openssl refuses it against the cluster's CA" sh -c "! openssl verify \
    -CAfile '$CA/ca.crt' '$T/ca2/issued/dn-b.crt' >/dev/null 2>&1"
"$B/dfs" ca issue "$T/ca2" --role user nouid >/dev/null 2>&1 && st=0 || st=$?
ok "a user certificate without --uid is a usage error" test "$st" -eq 2
"$B/dfs" ca issue "$T/ca2" --role admin x >/dev/null 2>&1 && st=0 || st=$?
ok "an unknown role is a usage error" test "$st" -eq 2
ok "a name that is a path is refused" fails_with "bad certificate name" \
    "$B/dfs" ca issue "$T/ca2" --role host --uids all ../x
# A host says for which uids its root speaks: --uids, checked strictly.
"$B/dfs" ca issue "$T/ca2" --role host h0 >"$T/h0.out" 2>&1 && st=0 || st=$?
ok "a host certificate without --uids is a usage error, saying so" sh -c \
    "test $st -eq 2 && grep -q 'role host needs --uids' '$T/h0.out' && \
    test ! -e '$T/ca2/issued/h0.crt'"
"$B/dfs" ca issue "$T/ca2" --role host --uids 2000-2999,1000 h1 \
    >"$T/h1.out" 2>&1 && st=0 || st=$?
ok "--uids out of order is a usage error, saying so" sh -c \
    "test $st -eq 2 && grep -q 'out of order' '$T/h1.out'"
"$B/dfs" ca issue "$T/ca2" --role user --uid 1 --gid 1 --uids all u1 \
    >/dev/null 2>&1 && st=0 || st=$?
ok "--uids on a user certificate is a usage error" test "$st" -eq 2
ok "dfs ca issue --role host --uids 1000-1999,2500" "$B/dfs" ca issue \
    "$T/ca2" --role host --uids 1000-1999,2500 mnt-c
ok "... whose certificate names those uids" sh -c "openssl x509 -in \
    '$T/ca2/issued/mnt-c.crt' -noout -ext subjectAltName | grep -q \
    'URI:npdfs:role=host;uids=1000-1999,2500\$'"
ok "... and dfs ca list shows them" sh -c "'$B/dfs' ca list '$T/ca2' | \
    grep '^mnt-c ' | grep -q 'npdfs:role=host;uids=1000-1999,2500\$'"

finish
