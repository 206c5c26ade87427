# bench/lib.sh: what the bench scripts share.  Source it; it needs $t
# (the bench's private directory).

now() { date +%s.%N; }
# rate MIB START END: MB/s
rate() { echo "$1 $2 $3" | awk '{ printf "%.0f", $1 / ($3 - $2) }'; }
best() { echo "$@" | tr ' ' '\n' | sort -n | tail -1; }
# drop: write back, and (as root) empty the page cache.
drop() {
	sync
	if [ "$(id -u)" -eq 0 ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

# floor SRC MIB: what the disk allows a write of three replicas on one
# machine: three durable copies of SRC (MIB MiB) written at once, as each
# data node fsyncs its own, here with dd straight to the disk (the
# fastest way measured; three buffered writers and their fsyncs are
# slower).  Prints MB/s of the file.
floor() {
	sync
	s=$(now)
	for k in 1 2 3; do
		dd if="$1" of="$t/floor$k" bs=4M oflag=direct conv=fsync \
		    2>/dev/null &
	done
	wait
	e=$(now)
	rm -f "$t/floor1" "$t/floor2" "$t/floor3"
	rate "$2" "$s" "$e"
}
