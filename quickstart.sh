#!/bin/sh
# quickstart.sh: one command from a fresh Debian 12 machine (as root).
#
#   ./quickstart.sh demo    install what is missing, build, start a local
#                           cluster and store and read back a NumPy array
#   ./quickstart.sh check   install what is missing, build, run every test
#
# Both build out of tree in ./build (the source tree stays clean).
set -eu

top=$(cd "$(dirname "$0")" && pwd)
build=${NPDFS_BUILD:-$top/build}
mode=${1:-}
shift || true

PACKAGES="build-essential autoconf automake pkg-config libfuse3-dev fuse3 \
libsqlite3-dev libssl-dev openssl libcmocka-dev python3-numpy mandoc rsync gdb \
tcpdump python3-cryptography perl libraft-dev libuv1-dev iproute2"

install_deps() {
	missing=""
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "quickstart: installing$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: run as root to install packages" >&2
		exit 1
	fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
}

build() {
	(cd "$top" && autoreconf -fi)
	mkdir -p "$build"
	cd "$build"
	"$top/configure" PYTHON=/usr/bin/python3 "$@"
	make -j"$(nproc)"
}

case "$mode" in
demo)
	install_deps
	build
	dir=$(mktemp -d /tmp/npdfs-demo.XXXXXX)
	trap './dfs cluster down "$dir" >/dev/null 2>&1 || true' EXIT
	# A namenode and 3 data nodes on 127.0.0.1, mounted at $dir/mnt.
	./dfs cluster up "$dir" -n 3 -b 1M --mount
	export NPDFS_CONF="$dir/client.conf"
	/usr/bin/python3 -c "import numpy as np; np.save('$dir/a.npy', \
np.random.default_rng(1).standard_normal((500, 1000)))"
	echo "cp a.npy into the mount:"
	cp "$dir/a.npy" "$dir/mnt/a.npy"
	ls -l "$dir/mnt"
	./dfs stat /a.npy
	./dfs fsck / --blocks | tail -4
	/usr/bin/python3 -c "import numpy as np; \
a = np.load('$dir/mnt/a.npy'); b = np.load('$dir/a.npy'); \
assert (a == b).all(); print('np.load through the mount:', a.shape, \
a.dtype, 'identical')"
	cmp "$dir/a.npy" "$dir/mnt/a.npy" && echo "cmp: byte for byte identical"
	echo "dfs-sum (computed on the data nodes):"
	./dfs-sum /a.npy
	echo "math.fsum over the local file, for comparison:"
	/usr/bin/python3 -c "import numpy as np, math; \
print(repr(math.fsum(np.load('$dir/a.npy').ravel())))"
	;;
check)
	install_deps
	build "$@"
	make -j4 check || {
		cat test-suite.log
		exit 1
	}
	;;
*)
	echo "usage: $0 demo | check [CONFIGURE-ARGS]" >&2
	exit 2
	;;
esac
