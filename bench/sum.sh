#!/bin/sh
# sum.sh: dfs-sum of a 1 GiB float64 and a 1 GiB int64 array on a 3-node
# local cluster (64 MiB blocks, replication 3 and 1), warm cache, against
# NumPy's np.load(path, mmap_mode='r').sum() and a plain C loop
# (bench/sumloop.c) on the same local file, in the same run.  Each figure
# is the whole command, best of 3 after a warm-up run.  Also runs
# bench/accum-bench (exact accumulator against a plain loop on one core).
# Not a test: prints GB/s (10^9 bytes of array data per second) and ratios.
#
#   bench/sum.sh [BUILD_DIR] [SIZE_MIB]	(default ./build or ., 1024)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ge 1 ]; then
	b=$1
elif [ -x build/dfs-sum ]; then
	b=build
else
	b=.
fi
b=$(cd "$b" && pwd)
mib=${2:-1024}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
t=$(mktemp -d "${TMPDIR:-/var/tmp}/npdfs-sumbench.XXXXXX")

# The cluster is stopped by PID (no clean shutdown needed for a bench).
cleanup() {
	for f in "$t"/c/run/*.pid; do
		if [ -f "$f" ]; then
			kill -9 "$(cat "$f")" 2>/dev/null || true
		fi
	done
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }

# best CMD...: the best wall time of 3 runs, after one warm-up run.
best() {
	"$@" >/dev/null
	bt=""
	for _ in 1 2 3; do
		s=$(now)
		"$@" >/dev/null
		e=$(now)
		bt=$(echo "$s $e ${bt:-1e9}" | awk '{ d = $2 - $1;
		    printf "%.4f", d < $3 ? d : $3 }')
	done
	echo "$bt"
}

# gbs SECONDS: array data per second.
bytes=$((mib * 1048576))
gbs() { echo "$bytes $1" | awk '{ printf "%.2f", $1 / $2 / 1e9 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }

dfs() { "$b/dfs" -c "$t/c/client.conf" "$@"; }
dsum() { "$b/dfs-sum" -c "$t/c/client.conf" "$@"; }
npsum() {
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PYTHON" -c \
	    "import numpy as np, sys; \
print(np.load(sys.argv[1], mmap_mode='r').sum())" "$1"
}

echo "making the arrays ($mib MiB each) ..." >&2
"$PYTHON" -c "import numpy as np, sys; \
np.save(sys.argv[1], np.random.default_rng().standard_normal($bytes // 8))" \
    "$t/f8.npy"
"$PYTHON" -c "import numpy as np, sys; \
np.save(sys.argv[1], np.random.default_rng().integers(-2**63, 2**63 - 1, \
$bytes // 8, dtype=np.int64, endpoint=True))" "$t/i8.npy"
"$CC" -O2 -o "$t/sumloop" "$src/bench/sumloop.c"
if ! "$b/dfs" cluster up "$t/c" -n 3 -b 64M -r 3 >"$t/up.log" 2>&1; then
	cat "$t/up.log"
	tail -n 5 "$t"/c/logs/*.log
	exit 1
fi
for a in f8 i8; do
	dfs put -r 3 "$t/$a.npy" "/$a-r3.npy"
	dfs put -r 1 "$t/$a.npy" "/$a-r1.npy"
done

echo "arrays of $mib MiB, 3 data nodes, 64 MiB blocks, $(nproc) cores;" \
    "whole commands, warm, best of 3"
for a in f8 i8; do
	d3=$(best dsum "/$a-r3.npy")
	d1=$(best dsum "/$a-r1.npy")
	np=$(best npsum "$t/$a.npy")
	lp=$(best "$t/sumloop" "$t/$a.npy")
	echo
	echo "$a: dfs-sum = $(dsum "/$a-r3.npy")   NumPy = $(npsum "$t/$a.npy")"
	echo "  dfs-sum, replication 3: $(gbs "$d3") GB/s ($d3 s)"
	echo "  dfs-sum, replication 1: $(gbs "$d1") GB/s ($d1 s)"
	echo "  NumPy mmap .sum():      $(gbs "$np") GB/s ($np s)"
	echo "  C loop s += x[i]:       $(gbs "$lp") GB/s ($lp s)"
	echo "  dfs-sum / NumPy:  $(ratio "$np" "$d3")x (r3), $(ratio "$np" \
	    "$d1")x (r1)   (target >= 1.0x, aim 2.0x)"
	echo "  dfs-sum / C loop: $(ratio "$lp" "$d3")x (r3), $(ratio "$lp" \
	    "$d1")x (r1)"
done
dsum --stats "/f8-r3.npy" 2>&1 >/dev/null | sed 's/^/  /'

# The exact accumulator against a plain loop, one core.
ab="$b/bench/accum-bench"
if [ ! -x "$ab" ] && [ -f "$b/lib/libnpdfs.a" ]; then
	"$CC" -O2 -I"$src/lib" -o "$t/accum-bench" \
	    "$src/bench/accum-bench.c" "$b/lib/libnpdfs.a" -lcrypto -lm \
	    -pthread 2>/dev/null && ab="$t/accum-bench"
fi
echo
if [ -x "$ab" ]; then
	echo "accum-bench (exact / plain loop, one core; target <= 1.5x):"
	"$ab" | sed 's/^/  /'
else
	echo "accum-bench: not built (make bench-programs)"
fi
