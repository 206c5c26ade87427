"""heal_check.py: check `dfs fsck / --blocks` against the data nodes' disks
after faults, with the files the test wrote as the oracle.

usage: heal_check.py CLUSTER_DIR [options] < fsck-output

  --repl R        every block is HEALTHY with exactly R good replicas on
                  distinct data nodes
  --srcdir DIR    the file /NAME was written from DIR/NAME: every good
                  replica's block file holds exactly those bytes
  --disk-exact    (with --repl) exactly R block files of each block exist
                  on the disks: no surplus replica is left behind
  --no-orphans    every block file on a disk is a replica the block map
                  lists at that node, and every tmp/ is empty
  --skip ADDR     leave the data node at ADDR out of the disk checks (a
                  node that is down keeps its old files)

Good replicas are those fsck lists without a (corrupt) or (stale) flag.
Prints what is wrong and exits 1, or exits 0.
"""
import configparser
import os
import re
import sys

cdir = sys.argv[1]
args = sys.argv[2:]
repl = None
srcdir = None
disk_exact = no_orphans = False
skip = set()
while args:
    a = args.pop(0)
    if a == "--repl":
        repl = int(args.pop(0))
    elif a == "--srcdir":
        srcdir = args.pop(0)
    elif a == "--disk-exact":
        disk_exact = True
    elif a == "--no-orphans":
        no_orphans = True
    elif a == "--skip":
        skip.add(args.pop(0))
    else:
        sys.exit("bad argument " + a)

# Data node address -> its data directory, from the cluster's configs.
dirs = {}
for name in os.listdir(cdir):
    if re.fullmatch(r"datanode\d+\.conf", name):
        cp = configparser.ConfigParser()
        cp.read(os.path.join(cdir, name))
        addr = cp["datanode"]["listen"].strip('"')
        if addr not in skip:
            dirs[addr] = cp["datanode"]["data_dir"].strip('"')

errors = []
blocks = {}             # (id, gen) -> (path, offset, len, [good addrs])
listed = set()          # (id, gen, addr) of every replica listed
path = None
for line in sys.stdin:
    m = re.match(r"^(/\S*): (\S+)", line)
    if m:
        path = m.group(1)
        continue
    m = re.match(r"^\s+block (\d+) gen (\d+) offset (\d+) len (\d+) (\S+) "
                 r"replicas (\d+):(.*)$", line)
    if not m:
        continue
    bid, gen, off, ln, status, _, reps = m.groups()
    key = (int(bid), int(gen))
    nodes = re.findall(r"(\d+)@(\S+?)(\(\w+\))?(?=\s|$)", reps)
    good = [a for _, a, flag in nodes if not flag]
    for _, a, _ in nodes:
        listed.add((key[0], key[1], a))
    blocks[key] = (path, int(off), int(ln), good)
    if repl is not None:
        if status != "HEALTHY":
            errors.append(f"{path} block {bid}: {status}")
        if len(set(good)) != repl or len(good) != repl:
            errors.append(f"{path} block {bid}: {len(good)} good replicas "
                          f"({len(set(good))} distinct), wanted {repl}")

sources = {}


def source(p):
    """The bytes the test wrote to p, or None when it did not say."""
    if srcdir is None:
        return None
    if p not in sources:
        f = os.path.join(srcdir, p.lstrip("/"))
        sources[p] = open(f, "rb").read() if os.path.isfile(f) else None
    return sources[p]


for (bid, gen), (p, off, ln, good) in blocks.items():
    for a in good:
        if a not in dirs:
            continue
        f = os.path.join(dirs[a], "current", f"blk_{bid}_{gen}")
        try:
            data = open(f, "rb").read()
        except OSError:
            errors.append(f"{p} block {bid}: no file {f}")
            continue
        if len(data) != ln:
            errors.append(f"{p} block {bid}: {f} has {len(data)} bytes, "
                          f"block map says {ln}")
            continue
        src = source(p)
        if src is not None and data != src[off:off + ln]:
            errors.append(f"{p} block {bid}: {f} differs from the bytes "
                          f"written at offset {off}")

if disk_exact:
    for (bid, gen), (p, _, _, _) in blocks.items():
        n = sum(os.path.exists(os.path.join(d, "current", f"blk_{bid}_{gen}"))
                for d in dirs.values())
        if n != repl:
            errors.append(f"{p} block {bid}: {n} block files on the disks, "
                          f"wanted {repl}")

if no_orphans:
    for a, d in dirs.items():
        cur = os.path.join(d, "current")
        for name in sorted(os.listdir(cur)):
            m = re.fullmatch(r"blk_(\d+)_(\d+)(\.meta)?", name)
            if not m:
                continue
            bid, gen, meta = int(m.group(1)), int(m.group(2)), m.group(3)
            if meta:
                if not os.path.exists(os.path.join(cur, name[:-5])):
                    errors.append(f"{cur}/{name}: sidecar without data")
            elif (bid, gen, a) not in listed:
                errors.append(f"{cur}/{name}: orphan (not in the block map "
                              f"at {a})")
        tmp = os.path.join(d, "tmp")
        if os.path.isdir(tmp) and os.listdir(tmp):
            errors.append(f"{tmp} is not empty: {os.listdir(tmp)}")

if not blocks:
    errors.append("no blocks in fsck output")
for e in errors[:20]:
    print("   " + e)
if len(errors) > 20:
    print(f"   ... and {len(errors) - 20} more")
sys.exit(1 if errors else 0)
