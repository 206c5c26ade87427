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
