#!/usr/bin/env python3
"""Backup and restore speed against cp -a and rsync, measured in one run on one data set.

Builds ~300 MB in ~3,000 files plus ~20,000 files of 1-4 KB in a custom component's home,
starts the release server, and prints:
  full backup      / cp -a                         (target <= 1.3)
  unchanged backup / rsync -a --link-dest          (target <= 0.5)
  restore          / cp -a of the same items       (target <= 1.2, when /restores exists)
  peak RSS of the server.
Run on demand: python3 bench/bench.py [--keep DIR]. Needs rsync (apt-get install rsync).
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-admin-token"


def sh(*cmd):
    subprocess.run(cmd, check=True)


def settle():
    """Flush dirty pages and, as root, drop the page cache: every contender starts cold."""
    sh("sync")
    try:
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
    except OSError:
        pass


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_data(home):
    rnd = random.Random(42)
    big = os.path.join(home, "big")
    small = os.path.join(home, "small")
    chunk = rnd.randbytes(1 << 20)
    for d in range(30):
        os.makedirs(os.path.join(big, f"d{d:02}"))
        for f in range(100):
            size = 100_000
            off = (d * 100 + f) % (len(chunk) - size)
            with open(os.path.join(big, f"d{d:02}", f"f{f:03}.bin"), "wb") as fh:
                fh.write(chunk[off : off + size])
    for d in range(100):
        os.makedirs(os.path.join(small, f"s{d:03}"))
        for f in range(200):
            size = rnd.randint(1024, 4096)
            with open(os.path.join(small, f"s{d:03}", f"n{f:03}.txt"), "wb") as fh:
                fh.write(chunk[f : f + size])


def request(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read() or b"null")


def wait(base, path):
    while True:
        r = request(base, "GET", path)
        if r["status"] not in ("running", "planned", "verifying", "applying"):
            return r
        time.sleep(0.02)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    keep = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--keep" else None
    if not os.environ.get("BENCH_NO_BUILD"):
        sh("cargo", "build", "--release", "--locked", "--quiet")
    binary = os.path.join(ROOT, "target", "release", "backup-master")
    work = keep or tempfile.mkdtemp(prefix="bm-bench-", dir=os.environ.get("BENCH_DIR"))
    os.makedirs(work, exist_ok=True)
    home = os.path.join(work, "home")
    if not os.path.isdir(home):
        print("building the data set ...", flush=True)
        make_data(home)
        settle()
    total = int(subprocess.run(["du", "-sb", home], capture_output=True, text=True).stdout.split()[0])
    files = sum(len(f) for _, _, f in os.walk(home))
    print(f"data: {total / 1e6:.0f} MB in {files} files")

    # Baselines, each run twice (page cache warm for every contender), best of two.
    def cp_full():
        dst = os.path.join(work, "cp-dst")
        shutil.rmtree(dst, ignore_errors=True)
        os.makedirs(dst)
        settle()
        return timed(lambda: sh("cp", "-a", os.path.join(home, "big"), os.path.join(home, "small"), dst))

    cp = min(cp_full(), cp_full())

    # backup-master makes its copies durable (fsync/syncfs before a rename publishes them);
    # cp -a followed by sync is the like-for-like baseline.
    def cp_sync():
        return cp_full() + timed(lambda: sh("sync"))

    cp_durable = min(cp_sync(), cp_sync())
    rs_prev = os.path.join(work, "rs-prev")
    shutil.rmtree(rs_prev, ignore_errors=True)
    sh("rsync", "-a", home + "/", rs_prev + "/")

    def rsync_link():
        dst = os.path.join(work, "rs-dst")
        shutil.rmtree(dst, ignore_errors=True)
        settle()
        return timed(lambda: sh("rsync", "-a", f"--link-dest={rs_prev}", home + "/", dst + "/"))

    rs = min(rsync_link(), rsync_link())

    state = os.path.join(work, "state")
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(os.path.join(work, "bk"), ignore_errors=True)
    for n in range(1, 5):
        shutil.rmtree(os.path.join(work, f"bk{n}"), ignore_errors=True)
    cfg = os.path.join(work, "bench.toml")
    with open(cfg, "w") as fh:
        fh.write(
            f"""listen = "127.0.0.1:0"
state_dir = "state"
[[tokens]]
role = "admin"
sha256 = "{hashlib.sha256(TOKEN.encode()).hexdigest()}"
[schedule]
enabled = false
[[components]]
name = "app"
profile = "custom"
home = "home"
items = ["big/", "small/"]
backup_folder = "{os.path.join(work, 'bk')}"
keep = 3
"""
        )
    server = subprocess.Popen([binary, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = None
        for line in server.stdout:
            if line.startswith("backup-master listening on "):
                base = line.split(" on ", 1)[1].strip()
                break
        assert base, "server did not start"

        def backup():
            rec = request(base, "POST", "/api/v1/backups", {})
            done = wait(base, f"/api/v1/backups/{rec['id']}")
            assert done["status"] == "succeeded", done
            return done

        settle()
        full = timed(backup)
        settle()
        unchanged = timed(backup)
        restore = None
        try:
            bid = request(base, "GET", "/api/v1/backups?limit=1")["items"][0]["id"]

            def do_restore():
                rec = request(base, "POST", "/api/v1/restores", {"backup_id": bid})
                done = wait(base, f"/api/v1/restores/{rec['id']}")
                assert done["status"] == "succeeded", done

            settle()
            restore = timed(do_restore)
        except urllib.error.HTTPError as e:
            print(f"(restore not measured: {e})")
        rss = peak_rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait()

    print(f"cp -a (full copy)                {cp:7.2f} s")
    print(f"cp -a + sync (durable copy)      {cp_durable:7.2f} s")
    print(f"rsync -a --link-dest (unchanged) {rs:7.2f} s")
    print(f"backup-master full backup        {full:7.2f} s   ratio to cp -a: {full / cp:.2f} (target <= 1.3), to cp -a + sync: {full / cp_durable:.2f}")
    print(f"backup-master unchanged backup   {unchanged:7.2f} s   ratio to rsync: {unchanged / rs:.2f} (target <= 0.5)")
    if restore is not None:
        print(f"backup-master restore            {restore:7.2f} s   ratio to cp -a: {restore / cp:.2f} (target <= 1.2), to cp -a + sync: {restore / cp_durable:.2f}")
    print(f"server peak RSS                  {rss / 1024:7.1f} MiB")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
