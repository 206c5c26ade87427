# tests/lib/mount.sh: what the scripts that mount the cluster share.
# Source it after tests/lib/cluster.sh.

# Skip (exit 77) when no FUSE mount is possible here.
need_fuse() {
	if [ ! -c /dev/fuse ] || ! (exec 3<>/dev/fuse) 2>/dev/null ||
	    ! command -v fusermount3 >/dev/null 2>&1; then
		echo "skip: /dev/fuse cannot be opened here (or fusermount3" \
		    "is missing): no FUSE mount is possible"
		exit 77
	fi
}

# is_mounted DIR [TYPE]: a file system of TYPE (FUSE when not given) is
# mounted at DIR.
is_mounted() {
	grep -q " $1 ${2:-fuse}" /proc/mounts
}

# mount_at DIR [OPTION...]: the cluster ($C) mounted at DIR by a dfs-mount
# in the background, given the options; its PID in MPID (and in
# MOUNT_PIDS, for mounts_cleanup); waits up to 10 s for the mount.
MOUNT_PIDS=
mount_at() {
	mdir=$1
	shift
	mkdir -p "$mdir"
	"$top_builddir/dfs-mount" -c "$C/client.conf" "$@" -f "$mdir" \
	    2>>"$T/mount.log" &
	MPID=$!
	MOUNT_PIDS="$MOUNT_PIDS $MPID"
	n=100
	while ! is_mounted "$mdir"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# three_mounts: what the patch tests share: skip without FUSE, three
# mount points M, M2 and M3 unmounted (and the cluster stopped) at exit,
# and LL, the options of their low-level mounts.
three_mounts() {
	need_fuse
	M="$T/mnt"
	M2="$T/mnt2"
	M3="$T/mnt3"
	trap 'mounts_cleanup "$M" "$M2" "$M3"' EXIT
	LL="-o mount.lowlevel=true -o mount.attr_timeout=1s"
}

# mounts_cleanup DIR...: for an EXIT trap: unmount each DIR still mounted
# (lazily when busy), stop the dfs-mounts mount_at started, then the
# cluster.
mounts_cleanup() {
	for mdir in "$@"; do
		if is_mounted "$mdir"; then
			fusermount3 -u "$mdir" 2>/dev/null ||
			    fusermount3 -uz "$mdir" 2>/dev/null
		fi
	done
	for p in $MOUNT_PIDS; do
		kill "$p" 2>/dev/null
	done
	cluster_cleanup
}

# py_part SCRIPT ARGS...: run a Python part of a test (tests/integ/SCRIPT),
# show its lines and count its ok / not ok; a part that checked nothing,
# raised, or stopped half-way without saying "not ok" counts as one
# failure more.
py_part() {
	script=$1
	shift
	out=$("$PYTHON" "$top_srcdir/tests/integ/$script" "$@" 2>&1)
	st=$?
	printf '%s\n' "$out"
	PASSED=$((PASSED + $(printf '%s\n' "$out" | grep -c '^ok - ')))
	FAILED=$((FAILED + $(printf '%s\n' "$out" | grep -c '^not ok - ')))
	if ! printf '%s\n' "$out" | grep -q '^ok - ' ||
	    printf '%s\n' "$out" | grep -q '^Traceback' || { [ "$st" -ne 0 ] &&
	    ! printf '%s\n' "$out" | grep -q '^not ok - '; }; then
		FAILED=$((FAILED + 1))
		echo "not ok - $script $1 did not run through"
	fi
}

# Python definitions for py_checks scripts: err(f, *args) is the errno
# f raised (0 if none); check(what, got, want) prints an ok / not ok line.
PY_ERRNO='
import errno
def err(f, *a):
    try:
        f(*a)
    except OSError as e:
        return e.errno
    return 0
def check(what, got, want):
    print("%s - %s: %s" % ("ok" if got == want else "not ok", what,
          errno.errorcode.get(want, want)) +
          ("" if got == want else " (got %s)" % errno.errorcode.get(got, got)))
'

# py_checks SCRIPT ARGS...: run a Python script (after PY_ERRNO) that
# prints "ok - ..." / "not ok - ..." lines, and count them; a script that
# fails without saying "not ok" counts as one failure.
py_checks() {
	script=$1
	shift
	out=$("$PYTHON" -c "$PY_ERRNO$script" "$@" 2>&1)
	st=$?
	printf '%s\n' "$out"
	n=$(printf '%s\n' "$out" | grep -c '^ok - ')
	PASSED=$((PASSED + n))
	n=$(printf '%s\n' "$out" | grep -c '^not ok - ')
	FAILED=$((FAILED + n))
	if [ "$st" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok - '
	then
		FAILED=$((FAILED + 1))
		echo "not ok - python check exited with status $st"
	fi
}
