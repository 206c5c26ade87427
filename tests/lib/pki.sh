# pki.sh: certificates for tests that start daemons by hand (sourced).
#
#   pki_make DIR NAME:ROLE...   a CA in DIR/ca and, for each NAME, a
#                               certificate of ROLE (superuser: uid 0;
#                               user:UID a user of uid and gid UID, plain
#                               user uid 0; host speaks for all uids,
#                               host:UIDS for those, e.g. 1000-1999,2500)
#                               and DIR/NAME.conf holding its tls.* keys
#   pki_opts DIR NAME           the -o options giving a daemon NAME's keys
#
# Every npdfs connection is mutual TLS, so a daemon, a fake data node or
# a Python client each needs a certificate from the cluster's CA.

pki_make() {
	pki_dir=$1
	shift
	mkdir -p "$pki_dir" &&
	    "$top_builddir/dfs" ca init "$pki_dir/ca" >/dev/null || return 1
	for pki_nr in "$@"; do
		pki_name=${pki_nr%%:*}
		pki_role=${pki_nr#*:}
		set --
		case $pki_role in
		superuser|user) set -- --uid 0 --gid 0 ;;
		user:*)
			set -- --uid "${pki_role#user:}" --gid "${pki_role#user:}"
			pki_role=user ;;
		host) set -- --uids all ;;
		host:*)
			set -- --uids "${pki_role#host:}"
			pki_role=host ;;
		esac
		"$top_builddir/dfs" ca issue "$pki_dir/ca" --role "$pki_role" \
		    "$@" "$pki_name" >/dev/null || return 1
		{
			echo "[tls]"
			echo "ca = \"$pki_dir/ca/ca.crt\""
			echo "crl = \"$pki_dir/ca/crl.pem\""
			echo "cert = \"$pki_dir/ca/issued/$pki_name.crt\""
			echo "key = \"$pki_dir/ca/issued/$pki_name.key\""
		} >"$pki_dir/$pki_name.conf"
	done
}

pki_opts() {
	echo "-o tls.ca=$1/ca/ca.crt -o tls.crl=$1/ca/crl.pem" \
	    "-o tls.cert=$1/ca/issued/$2.crt -o tls.key=$1/ca/issued/$2.key"
}
