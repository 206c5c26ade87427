#!/bin/sh
# pjdfstest.sh: POSIX conformance of dfs-mount, by pjdfstest (the suite
# other distributed file systems run in CI), through an allow_other mount
# of a real 3-node cluster: every one of the 8,727 assertions that run on
# a FUSE mount must pass (issue 13).  The suite is not part of npdfs: it
# is built from ../shared/tools (or $NPDFS_PJDFSTEST, the directory that
# holds pjdfstest-85a8aea.tar.gz and pjdfstest-run.sh) into a directory
# outside the tree, once per build directory.  Its groups run in three
# runners at once, each in a directory of its own on the mount.
# Skips (exit 77) without the suite, without root or /dev/fuse, and in a
# sanitizer build (CI runs it in its plain build; under ASan it would take
# most of CI's time).
. "${top_srcdir:-.}/tests/lib/cluster.sh"
. "${top_srcdir:-.}/tests/lib/mount.sh"
set -u

need_fuse
TOOLS=
for d in "${NPDFS_PJDFSTEST:-}" "$top_srcdir/../shared/tools" \
    /work/shared/tools; do
	if [ -n "$d" ] && [ -f "$d/pjdfstest-85a8aea.tar.gz" ] &&
	    [ -f "$d/pjdfstest-run.sh" ]; then
		TOOLS=$(cd "$d" && pwd)
		break
	fi
done
if [ -z "$TOOLS" ]; then
	echo "skip: no pjdfstest-85a8aea.tar.gz (../shared/tools, or" \
	    "NPDFS_PJDFSTEST=DIR)"
	exit 77
fi
if [ "$(id -u)" -ne 0 ] || ! command -v prove >/dev/null 2>&1; then
	echo "skip: pjdfstest needs root and prove(1)"
	exit 77
fi
if sanitized; then
	echo "skip: a sanitizer build (pjdfstest runs in the plain one)"
	exit 77
fi

M="$T/mnt"
MOUNT_PID=
pjd_cleanup() {
	if is_mounted "$M"; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" \
		    2>/dev/null
	fi
	[ -n "$MOUNT_PID" ] && kill "$MOUNT_PID" 2>/dev/null
	cluster_cleanup
}
trap pjd_cleanup EXIT

# The suite, built once per build directory (outside the source tree).
SUITE="$(cd "$top_builddir" && pwd)/tests/pjdfstest-85a8aea"
if [ ! -x "$SUITE/pjdfstest" ]; then
	rm -rf "$SUITE"
	mkdir -p "$(dirname "$SUITE")"
	tar -C "$(dirname "$SUITE")" -xzf "$TOOLS/pjdfstest-85a8aea.tar.gz"
	if ! (cd "$SUITE" && autoreconf -ifs && ./configure &&
	    make pjdfstest) >"$T/build.log" 2>&1; then
		echo "not ok - pjdfstest builds"
		tail -n 20 "$T/build.log"
		exit 1
	fi
fi
ok "pjdfstest is built" test -x "$SUITE/pjdfstest"

mounted() { is_mounted "$M"; }
cluster_start -n 3 -r 3 --heartbeat 1
mkdir "$M"
"$top_builddir/dfs-mount" -c "$C/client.conf" -o allow_other -f "$M" \
    2>"$T/mount.log" &
MOUNT_PID=$!
ok "an allow_other mount of the cluster" wait_for 10 mounted

# Three runners, about even in time (chown/00.t alone is a fifth).
set -- "chown ftruncate mknod truncate granular" \
    "rename link mkdir rmdir posix_fallocate" \
    "open chmod unlink mkfifo symlink utimensat chflags"
i=0
pids=
for groups; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	PJD_LOGDIR="$T/logs$i" PJD_SHOW_FAILS=10 bash "$TOOLS/pjdfstest-run.sh" \
	    "$SUITE" "$M" $groups >"$T/run$i.out" 2>"$T/run$i.err" &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done
passed=0
failed=0
for j in $(seq "$i"); do
	tail -n 1 "$T/run$j.out"
	line=$(tail -n 1 "$T/run$j.out")
	case $line in
	*" passed, "*" failed")
		passed=$((passed + ${line%% passed*}))
		f=${line#* passed, }
		failed=$((failed + ${f%% failed}))
		;;
	*)
		failed=$((failed + 1))
		echo "# runner $j did not finish:"
		tail -n 20 "$T/run$j.out" "$T/run$j.err"
		;;
	esac
	grep -A 12 '^== failing' "$T/run$j.out"
done
echo "# pjdfstest: $passed passed, $failed failed"
ok "pjdfstest: no assertion fails" test "$failed" -eq 0
ok "pjdfstest: all 8,727 that run on a FUSE mount ran and passed" \
    test "$passed" -eq 8727

# mount_gone: the dfs-mount process exits within 60 s of the unmount
# (0.1 s idle); if not, where its threads wait, and its last words.
mount_gone() {
	d0=$(date +%s%N)
	if ! wait_for 60 sh -c "! kill -0 $MOUNT_PID"; then
		echo "# dfs-mount still runs 60 s after fusermount3 -u:"
		for t in /proc/"$MOUNT_PID"/task/*; do
			echo "#   $(cat "$t/comm" 2>/dev/null):" \
			    "$(cat "$t/wchan" 2>/dev/null)"
		done
		tail -n 20 "$T/mount.log"
		return 1
	fi
	echo "# dfs-mount exited $((($(date +%s%N) - d0) / 1000000)) ms" \
	    "after fusermount3 -u"
	tail -n 3 "$T/mount.log"
}
ok "fusermount3 -u" fusermount3 -u "$M"
ok "the mount comes down" mount_gone
MOUNT_PID=
finish
