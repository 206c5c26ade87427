#!/usr/bin/env python3
"""ha_ops.py: the operation loop of ha.sh (issue 12).

   ha_ops.py DFS CLUSTER_DIR WORK_DIR SEED

200 operations (put, mkdir, mv, rm, chmod) through the dfs command on a
3-namenode cluster, while another thread kills the leader with SIGKILL
three times, at moments drawn from SEED, and restarts it each time
(`dfs cluster up`, which starts only what is stopped).  A model of the
namespace follows every operation that succeeded; at the end, every file
of the model must read back with its bytes and mode, every directory
must hold exactly the model's entries (an operation applied twice would
leave an extra or a missing name), and no operation may fail with
EEXIST or ENOENT where the model says it must succeed (the symptom of a
retry applied twice).  Prints TAP lines; exits 1 on a failure."""

import os
import random
import subprocess
import sys
import threading
import time

DFS, C, WORK, SEED = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
CONF = os.path.join(C, "client.conf")
NOPS = 200
failed = 0
lock = threading.Lock()
done_at = []        # (op index, time it began, time it succeeded)
kills = []          # (op index when killed, time killed, member)


def check(desc, cond, detail=None):
    global failed
    if cond:
        print("ok - " + desc)
    else:
        failed += 1
        print("not ok - " + desc + (": %r" % (detail,) if detail else ""))
    sys.stdout.flush()


def dfs(*args, timeout=120):
    p = subprocess.run([DFS, "-c", CONF] + list(args), capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def status():
    """{member name: (role, pid)} from dfs cluster status."""
    p = subprocess.run([DFS, "cluster", "status", C], capture_output=True,
                       timeout=60)
    out = {}
    for line in p.stdout.decode().splitlines():
        f = line.split()
        if len(f) >= 5 and f[0].startswith("namenode"):
            role = f[5] if len(f) > 5 and f[4] == "running" else "stopped"
            out[f[0]] = (role, f[3])
    return out


def leader():
    for name, (role, pid) in status().items():
        if role == "leader":
            return name, int(pid)
    return None, None


def killer(targets, progress):
    for t in targets:
        while progress[0] < t and not progress[1]:
            time.sleep(0.01)
        if progress[1]:
            return
        name, pid = None, None
        for _ in range(300):
            name, pid = leader()
            if pid:
                break
            time.sleep(0.1)
        if not pid:
            check("a leader to kill before op %d" % t, False)
            continue
        os.kill(pid, 9)
        with lock:
            kills.append((progress[0], time.time(), name))
        print("# op %d: killed the leader %s (pid %d)" % (progress[0], name,
                                                          pid))
        sys.stdout.flush()
        # Another member leads; then the killed one comes back.
        t0 = time.time()
        while time.time() - t0 < 60:
            n2, _ = leader()
            if n2 and n2 != name:
                break
            time.sleep(0.1)
        print("# %s leads after %.1f s" % (n2, time.time() - t0))
        rc = subprocess.run([DFS, "cluster", "up", C], capture_output=True,
                            timeout=120).returncode
        check("%s restarted" % name, rc == 0, rc)


def main():
    rng = random.Random(SEED)
    print("# seed %d" % SEED)
    dirs = {"/h": set()}          # dir -> names in it
    files = {}                    # path -> (bytes, mode)
    rc, _, err = dfs("mkdir", "/h")
    check("mkdir /h", rc == 0, err)
    targets = sorted(rng.sample(range(15, NOPS - 15), 3))
    progress = [0, False]
    th = threading.Thread(target=killer, args=(targets, progress))
    th.start()
    nfail = 0
    bad = []
    seq = 0
    for i in range(NOPS):
        progress[0] = i
        began = time.time()
        kind = rng.choice(["put", "put", "mkdir", "mv", "rm", "chmod"])
        fl = sorted(files)
        if kind in ("mv", "rm", "chmod") and not fl:
            kind = "put"
        seq += 1
        if kind == "mkdir":
            parent = rng.choice(sorted(dirs))
            path = "%s/d%d" % (parent, seq)
            rc, _, err = dfs("mkdir", path)
            if rc == 0:
                dirs[path] = set()
                dirs[parent].add(path.rsplit("/", 1)[1])
        elif kind == "put":
            parent = rng.choice(sorted(dirs))
            path = "%s/f%d" % (parent, seq)
            data = rng.randbytes(rng.choice([0, 1, 1000, 70000, 300000]))
            local = os.path.join(WORK, "in")
            with open(local, "wb") as f:
                f.write(data)
            rc, _, err = dfs("put", local, path)
            if rc == 0:
                files[path] = (data, 0o644)
                dirs[parent].add(path.rsplit("/", 1)[1])
        elif kind == "mv":
            src = rng.choice(fl)
            parent = rng.choice(sorted(dirs))
            dst = "%s/m%d" % (parent, seq)
            rc, _, err = dfs("mv", src, dst)
            if rc == 0:
                files[dst] = files.pop(src)
                sp, sn = src.rsplit("/", 1)
                dirs[sp].discard(sn)
                dirs[parent].add(dst.rsplit("/", 1)[1])
        elif kind == "rm":
            path = rng.choice(fl)
            rc, _, err = dfs("rm", path)
            if rc == 0:
                del files[path]
                sp, sn = path.rsplit("/", 1)
                dirs[sp].discard(sn)
        else:
            path = rng.choice(fl)
            mode = rng.choice([0o600, 0o640, 0o644, 0o664])
            rc, _, err = dfs("chmod", "%o" % mode, path)
            if rc == 0:
                files[path] = (files[path][0], mode)
        if rc == 0:
            with lock:
                done_at.append((i, began, time.time()))
        else:
            nfail += 1
            print("# op %d %s failed: %s" % (i, kind, err.strip()))
            low = err.lower()
            if "exist" in low or "no such" in low:
                bad.append((i, kind, err.strip()))
            # An op that failed may still have been applied: stop
            # checking what it touched, and stop expecting directories
            # to hold nothing but the model's names.
            if kind in ("mv", "rm", "chmod"):
                gone = path if kind != "mv" else src
                files.pop(gone, None)
                sp, sn = gone.rsplit("/", 1)
                dirs[sp].discard(sn)
            dirs.setdefault("?", set())
    progress[1] = True
    th.join()
    check("three leaders killed", len(kills) == 3, kills)
    for (i, t, name) in kills:
        # The pause: until an operation begun after the kill succeeded.
        after = [e for (j, b, e) in done_at if b >= t]
        if after:
            print("# failover after op %d (%s): pause %.2f s (the first "
                  "operation begun after the kill succeeded then)" %
                  (i, name, min(after) - t))
    check("no operation failed as if applied twice (EEXIST, ENOENT)",
          not bad, bad)
    print("# %d of %d operations failed (ambiguous, left out of the "
          "model)" % (nfail, NOPS))
    check("at most a few operations failed", nfail <= 6, nfail)
    # Every success is there, with its bytes and its mode.
    wrong = []
    out = os.path.join(WORK, "out")
    for path, (data, mode) in sorted(files.items()):
        rc, _, err = dfs("get", path, out)
        if rc != 0 or open(out, "rb").read() != data:
            wrong.append((path, "bytes", err.strip()))
            continue
        rc, so, err = dfs("stat", path)
        want = "mode: %04o" % mode
        if rc != 0 or want not in so.decode():
            wrong.append((path, "mode", so.decode()))
    check("every file written, moved or chmod'ed reads back right (%d)"
          % len(files), not wrong, wrong[:5])
    # Every directory holds exactly the model's names (where the model
    # is sure: a directory an ambiguous op touched may hold more).
    extra = []
    for d, names in sorted(dirs.items()):
        if d == "?":
            continue
        rc, so, err = dfs("ls", d)
        got = set(so.decode().split())
        if rc != 0 or not names <= got:
            extra.append((d, "missing", sorted(names - got)))
        elif "?" not in dirs and got != names:
            extra.append((d, "extra", sorted(got - names)))
    check("every directory holds exactly the model's entries (%d dirs)"
          % len(dirs), not extra, extra[:5])
    sys.exit(1 if failed else 0)


main()
