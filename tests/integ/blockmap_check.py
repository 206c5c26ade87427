"""blockmap_check.py: check `dfs fsck --blocks` against the disks.

usage: blockmap_check.py CLUSTER_DIR REPLICATION < fsck-output

For every block: it is HEALTHY, its replicas are on REPLICATION distinct
data nodes, and on each of those nodes the block file exists with exactly
the length the block map gives.  For .npy files (given with --npy PATH
DATA_OFFSET ITEMSIZE) every block boundary after the header falls on a
whole element.  Prints what is wrong and exits 1, or exits 0.
"""
import configparser
import os
import re
import sys

cdir, want = sys.argv[1], int(sys.argv[2])
npy = {}
args = sys.argv[3:]
while args:
    if args[0] == "--npy":
        npy[args[1]] = (int(args[2]), int(args[3]))
        args = args[4:]
    else:
        sys.exit("bad argument " + args[0])

# Data node address -> its data directory, from the cluster's configs.
dirs = {}
for name in os.listdir(cdir):
    if re.fullmatch(r"datanode\d+\.conf", name):
        cp = configparser.ConfigParser()
        cp.read(os.path.join(cdir, name))
        addr = cp["datanode"]["listen"].strip('"')
        dirs[addr] = cp["datanode"]["data_dir"].strip('"')

errors = []
nblocks = 0
path = None
ends = {}
for line in sys.stdin:
    m = re.match(r"^(/\S*): (\S+)", line)
    if m:
        path = m.group(1)
        ends[path] = []
        continue
    m = re.match(r"^\s+block (\d+) gen (\d+) offset (\d+) len (\d+) (\S+) "
                 r"replicas (\d+):(.*)$", line)
    if not m:
        continue
    nblocks += 1
    bid, gen, off, ln, status, nrep, reps = m.groups()
    ends[path].append((int(off), int(ln)))
    if status != "HEALTHY":
        errors.append(f"{path} block {bid}: {status}")
    nodes = re.findall(r"(\d+)@(\S+?)(\(\w+\))?(?=\s|$)", reps)
    addrs = [a for _, a, flag in nodes if not flag]
    if len(set(addrs)) != want:
        errors.append(f"{path} block {bid}: {len(set(addrs))} distinct "
                      f"good replicas, wanted {want}")
    for a in addrs:
        f = os.path.join(dirs.get(a, "?"), "current", f"blk_{bid}_{gen}")
        try:
            size = os.path.getsize(f)
        except OSError:
            errors.append(f"{path} block {bid}: no file {f}")
            continue
        if size != int(ln):
            errors.append(f"{path} block {bid}: {f} has {size} bytes, "
                          f"block map says {ln}")

for p, (doff, isz) in npy.items():
    blocks = ends.get(p)
    if not blocks:
        errors.append(f"{p}: not in fsck output")
        continue
    for off, ln in blocks[1:]:
        if off < doff or (off - doff) % isz:
            errors.append(f"{p}: block at offset {off} does not start on "
                          f"an element (data offset {doff}, item {isz})")
    if blocks[0][0] != 0:
        errors.append(f"{p}: first block at {blocks[0][0]}")

if nblocks == 0:
    errors.append("no blocks in fsck output")
for e in errors:
    print("   " + e)
sys.exit(1 if errors else 0)
