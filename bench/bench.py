#!/usr/bin/env python3
"""Backup and restore speed against cp -a and rsync, measured in one run on one data set.

Builds ~300 MB in ~3,000 files plus ~20,000 files of 1-4 KB in a custom component's home,
starts the release server, and prints:
  full backup      / cp -a                         (target <= 1.3)
  unchanged backup / rsync -a --link-dest          (target <= 0.5)
  restore          / cp -a of the same items       (target <= 1.2, when /restores exists)
  peak RSS of the server.
Run on demand: python3 bench/bench.py [--keep DIR]. Needs rsync (apt-get install rsync).

Other tables (each its own run):
  python3 bench/bench.py scale [N ...]   files of 1-4 KB (default 20000 100000 1000000): time vs
                                         cp -a + sync, unchanged backup, and the server's peak RSS
                                         in each of backup, unchanged backup, verify and restore.
  python3 bench/bench.py btrfs           the data set above on a loop-mounted btrfs image (root,
                                         btrfs-progs): full backup and restore vs cp -a + sync on
                                         the same file system (target <= 0.3), and the disk space
                                         a full backup takes (target < 5% of the data).
  python3 bench/bench.py wrk [RECORDS]   wrk -t2 -c64 (apt-get install wrk), each with its anchor
                                         in the same run: GET /backup-sets vs GET /settings
                                         (target >= 50%), GET /backups?limit=50 vs the OpenAPI
                                         document (target >= 70%), with RECORDS backup records
                                         (default 1000).
  python3 bench/bench.py freeze          the full backup with and without the torn-file check
                                         (target <= 5% slower), and on a loop-mounted btrfs
                                         (root) the freeze window with snapshot = "btrfs" vs the
                                         copy time of the same data (target <= 2% and <= 1 s).
  python3 bench/bench.py replicate      the data set above backed up, then replicated to a bucket
                                         of a local S3 server (python3 -m moto.server, pip install
                                         'moto[server]'), against rclone sync (apt-get install
                                         rclone) of the same backup folder to another bucket of the
                                         same server: full replication / rclone sync (target <= 1.0),
                                         and after 1% of the bytes changed and a new backup, the
                                         replication / the full replication (target <= 0.1), with
                                         rclone's second sync for reference.
BENCH_DIR chooses the folder the data goes to (default: the temporary folder).
"""

import contextlib
import hashlib
import json
import os
import random
import shlex
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


def build():
    if not os.environ.get("BENCH_NO_BUILD"):
        sh("cargo", "build", "--release", "--locked", "--quiet")
    return os.path.join(ROOT, "target", "release", "backup-master")


def write_config(work, home, items, backup_folder, keep=3):
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
home = "{home}"
items = {json.dumps(items)}
backup_folder = "{backup_folder}"
keep = {keep}
"""
        )
    return cfg


class Server:
    """The release server on a free port, for the with-block."""

    def __init__(self, binary, cfg, env=None):
        self.proc = subprocess.Popen([binary, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env={**os.environ, **(env or {})})
        self.base = None
        for line in self.proc.stdout:
            if line.startswith("backup-master listening on "):
                self.base = line.split(" on ", 1)[1].strip()
                break
        assert self.base, "server did not start"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()

    def job(self, post, body, get):
        rec = request(self.base, "POST", post, body)
        done = wait(self.base, get.format(id=rec["id"]))
        assert done["status"] in ("succeeded", "passed"), done
        return done

    def backup(self):
        return self.job("/api/v1/backups", {}, "/api/v1/backups/{id}")

    def reset_peak(self):
        """Starts a new peak-RSS measurement (Linux: 5 to clear_refs resets VmHWM)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as fh:
            fh.write("5\n")

    def peak_mib(self):
        return peak_rss_kib(self.proc.pid) / 1024


def make_small_files(home, n, per_folder=1000):
    rnd = random.Random(n)
    chunk = rnd.randbytes(1 << 16)
    for d in range((n + per_folder - 1) // per_folder):
        folder = os.path.join(home, "data", f"d{d:05}")
        os.makedirs(folder)
        for f in range(min(per_folder, n - d * per_folder)):
            size = rnd.randint(1024, 4096)
            off = rnd.randint(0, len(chunk) - size)
            with open(os.path.join(folder, f"f{f:04}"), "wb") as fh:
                fh.write(chunk[off : off + size])


def scale(counts):
    binary = build()
    print("| files | cp -a + sync | full backup | ratio | unchanged backup | peak RSS backup / unchanged / verify / restore |")
    print("|---|---|---|---|---|---|")
    for n in counts:
        work = tempfile.mkdtemp(prefix=f"bm-scale-{n}-", dir=os.environ.get("BENCH_DIR"))
        try:
            home = os.path.join(work, "home")
            make_small_files(home, n)
            settle()
            dst = os.path.join(work, "cp-dst")
            os.makedirs(dst)
            cp = timed(lambda: sh("cp", "-a", os.path.join(home, "data"), dst)) + timed(lambda: sh("sync"))
            shutil.rmtree(dst)
            cfg = write_config(work, "home", ["data/"], os.path.join(work, "bk"), keep=1)
            with Server(binary, cfg) as srv:
                peaks = []
                settle()
                srv.reset_peak()
                full = timed(srv.backup)
                peaks.append(srv.peak_mib())
                settle()
                srv.reset_peak()
                last = {}
                unchanged = timed(lambda: last.update(srv.backup()))
                peaks.append(srv.peak_mib())
                srv.reset_peak()
                bid = last["id"]
                srv.job(f"/api/v1/backup-sets/{bid}/verify", {}, f"/api/v1/backup-sets/{bid}/verifications/{{id}}")
                peaks.append(srv.peak_mib())
                srv.reset_peak()
                srv.job("/api/v1/restores", {"backup_id": bid}, "/api/v1/restores/{id}")
                peaks.append(srv.peak_mib())
            print(
                f"| {n:,} | {cp:.2f} s | {full:.2f} s | {full / cp:.2f} | {unchanged:.2f} s | "
                + " / ".join(f"{p:.0f}" for p in peaks)
                + " MiB |",
                flush=True,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def loop_btrfs(prefix):
    """A 3 GiB btrfs image mounted on a loop device (root, btrfs-progs); its mount point."""
    work = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR"))
    img = os.path.join(work, "btrfs.img")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    with open(img, "wb") as fh:
        fh.truncate(3 << 30)
    sh("mkfs.btrfs", "-q", img)
    sh("mount", "-o", "loop", img, mnt)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", mnt])
        shutil.rmtree(work, ignore_errors=True)


def btrfs():
    binary = build()
    with loop_btrfs("bm-btrfs-") as mnt:
        home = os.path.join(mnt, "home")
        make_data(home)
        settle()
        total = int(subprocess.run(["du", "-sb", home], capture_output=True, text=True).stdout.split()[0])

        def cp_sync(*flags):
            dst = os.path.join(mnt, "cp-dst")
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst)
            settle()
            return timed(lambda: sh("cp", "-a", *flags, os.path.join(home, "big"), os.path.join(home, "small"), dst)) + timed(lambda: sh("sync"))

        # coreutils 9 clones by default on btrfs (--reflink=auto): both are shown.
        cp = min(cp_sync("--reflink=never"), cp_sync("--reflink=never"))
        cp_auto = min(cp_sync(), cp_sync())

        def hash_all():
            settle()
            return timed(lambda: subprocess.run(
                f"find {shlex.quote(home)} -type f -print0 | xargs -0 -P2 -n64 sha256sum > /dev/null",
                shell=True, check=True))

        # The floor of any backup that computes each checksum from the data: every byte read
        # once, cold.
        floor = min(hash_all(), hash_all())
        shutil.rmtree(os.path.join(mnt, "cp-dst"), ignore_errors=True)
        sh("sync")

        def used():
            st = os.statvfs(mnt)
            return (st.f_blocks - st.f_bfree) * st.f_frsize

        cfg = write_config(mnt, "home", ["big/", "small/"], os.path.join(mnt, "bk"))
        with Server(binary, cfg) as srv:
            settle()
            before = used()
            rec = {}
            full = timed(lambda: rec.update(srv.backup()))
            sh("sync")
            space = used() - before
            du = subprocess.run(["btrfs", "filesystem", "du", "-s", "--raw", os.path.join(mnt, "bk")], capture_output=True, text=True).stdout.strip().splitlines()[-1]
            c = rec["components"][0]
            settle()
            restore = timed(lambda: srv.job("/api/v1/restores", {"backup_id": rec["id"]}, "/api/v1/restores/{id}"))
    print(f"data: {total / 1e6:.0f} MB; {c['files_cloned']} files cloned, {c['files_copied']} copied")
    print("| on btrfs | time | ratio to cp -a --reflink=never + sync | target |")
    print("|---|---|---|---|")
    print(f"| cp -a --reflink=never + sync | {cp:.2f} s | | |")
    print(f"| cp -a + sync (clones: --reflink=auto) | {cp_auto:.2f} s | {cp_auto / cp:.2f} | |")
    print(f"| read and hash every file cold (sha256sum, 2 processes) | {floor:.2f} s | {floor / cp:.2f} | the floor of a hashing backup |")
    print(f"| full backup | {full:.2f} s | {full / cp:.2f} ({full / cp_auto:.2f} x cp -a that clones) | <= 0.3 |")
    print(f"| restore | {restore:.2f} s | {restore / cp:.2f} ({restore / cp_auto:.2f} x cp -a that clones) | <= 0.3 |")
    print(f"| disk space of a full backup | {space / 1e6:.1f} MB | {space / total:.1%} of the data | < 5% |")
    print(f"btrfs filesystem du of the backup (total, exclusive, set shared, bytes): {du}")


def wrk_rate(url, seconds=10):
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {TOKEN}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(next(l for l in out.splitlines() if l.startswith("Requests/sec:")).split()[1])
    p99 = next((l.split()[1] for l in out.splitlines() if l.strip().startswith("99%")), "?")
    return rate, p99


def wrk(records):
    binary = build()
    work = tempfile.mkdtemp(prefix="bm-wrk-", dir=os.environ.get("BENCH_DIR"))
    try:
        home = os.path.join(work, "home")
        os.makedirs(os.path.join(home, "data"))
        with open(os.path.join(home, "data", "x"), "w") as fh:
            fh.write("x\n")
        cfg = write_config(work, "home", ["data/"], os.path.join(work, "bk"), keep=3)
        with Server(binary, cfg) as srv:
            print(f"making {records} backup records ...", flush=True)
            for _ in range(records):
                srv.backup()
            b = srv.base
            rows = [
                ("GET /backup-sets", f"{b}/api/v1/backup-sets", "GET /settings", f"{b}/api/v1/settings", 0.5),
                ("GET /backups?limit=50", f"{b}/api/v1/backups?limit=50", "GET /api-docs/openapi.json", f"{b}/api-docs/openapi.json", 0.7),
            ]
            print("| endpoint | req/s | p99 | anchor | req/s | p99 | ratio | target |")
            print("|---|---|---|---|---|---|---|---|")
            for name, url, anchor, aurl, target in rows:
                r, p = wrk_rate(url)
                a, ap = wrk_rate(aurl)
                print(f"| {name} | {r:,.0f} | {p} | {anchor} | {a:,.0f} | {ap} | {r / a:.2f} | >= {target} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def consistency():
    """The cost of the torn-file check on a full backup, and the freeze window with a btrfs
    snapshot against the copy time of the same data."""
    binary = build()
    work = tempfile.mkdtemp(prefix="bm-freeze-", dir=os.environ.get("BENCH_DIR"))
    try:
        home = os.path.join(work, "home")
        make_data(home)
        settle()

        def full(env):
            for d in ("bk", "state"):
                shutil.rmtree(os.path.join(work, d), ignore_errors=True)
            cfg = write_config(work, "home", ["big/", "small/"], os.path.join(work, "bk"))
            with Server(binary, cfg, env) as srv:
                settle()
                return timed(srv.backup)

        runs = {"with": [], "without": []}
        for _ in range(3):
            runs["with"].append(full({}))
            runs["without"].append(full({"BACKUP_MASTER_FAULTS": "skip_change_check"}))
        with_check, without = min(runs["with"]), min(runs["without"])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    with loop_btrfs("bm-freeze-btrfs-") as mnt:
        home = os.path.join(mnt, "home")
        sh("btrfs", "subvolume", "create", home)
        make_data(home)
        sh("sync")
        settle()
        cfg = write_config(mnt, "home", ["big/", "small/"], os.path.join(mnt, "bk"))
        with open(cfg, "a") as fh:
            fh.write('snapshot = "btrfs"\nfreeze_command = "true"\nthaw_command = "true"\n')
        windows = []
        with Server(binary, cfg) as srv:
            for _ in range(2):
                settle()
                rec = srv.backup()
                c = rec["components"][0]
                windows.append((c["freeze"]["freeze_seconds"], c["duration_ms"] / 1000))
    print("| torn-file check | full backup | ratio | target |")
    print("|---|---|---|---|")
    print(f"| without the check (skip_change_check) | {without:.2f} s | | |")
    print(f"| with the check | {with_check:.2f} s | {with_check / without:.3f} | <= 1.05 |")
    print()
    print("| btrfs snapshot | freeze window | copy (prepare) | freeze / copy | target |")
    print("|---|---|---|---|---|")
    for i, (w, copy) in enumerate(windows):
        kind = "full backup" if i == 0 else "unchanged backup"
        print(f"| {kind} | {w:.3f} s | {copy:.2f} s | {w / copy:.1%} | <= 2% and <= 1 s |")


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server():
    """A local S3 server (moto's server mode) on a free loopback port; its endpoint."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=5).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the S3 server (python3 -m moto.server) did not start on {endpoint}")
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait()


def replicate_bench():
    """Replication of the data set's backup to a local S3 server against rclone sync of the same
    backup folder, full and after 1% of the bytes changed."""
    missing = []
    if shutil.which("rclone") is None:
        missing.append("rclone (apt-get install -y rclone)")
    try:
        import boto3  # noqa: F401  (comes with moto)
        import moto.server  # noqa: F401
    except ImportError:
        missing.append("moto's S3 server (pip install 'moto[server]')")
    if missing:
        sys.exit("the replication benchmark needs " + " and ".join(missing))
    import boto3

    binary = build()
    work = tempfile.mkdtemp(prefix="bm-replicate-", dir=os.environ.get("BENCH_DIR"))
    try:
        home = os.path.join(work, "home")
        make_data(home)
        total = int(subprocess.run(["du", "-sb", home], capture_output=True, text=True).stdout.split()[0])
        files = sum(len(f) for _, _, f in os.walk(home))
        print(f"data: {total / 1e6:.0f} MB in {files} files", flush=True)
        with moto_server() as endpoint:
            s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench",
                              region_name="us-east-1")
            for b in ("bm-bench", "rclone-bench"):
                s3.create_bucket(Bucket=b)
            bk = os.path.join(work, "bk")
            cfg = write_config(work, "home", ["big/", "small/"], bk, keep=1)
            with open(cfg, "a") as fh:
                fh.write(f'\n[[replication_targets]]\nname = "bench"\nendpoint = "{endpoint}"\nbucket = "bm-bench"\n'
                         'path_style = true\n')
            keys = {"BACKUP_MASTER_S3_BENCH_ACCESS_KEY": "bench", "BACKUP_MASTER_S3_BENCH_SECRET_KEY": "bench"}
            # rclone's remote from the environment alone (an empty config file of its own).
            rclone_conf = os.path.join(work, "rclone.conf")
            open(rclone_conf, "w").close()
            # An AWS_CA_BUNDLE in the environment makes rclone's S3 client refuse its own transport
            # (the endpoint is plain http anyway).
            rclone_env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
            rclone_env = {**rclone_env, "RCLONE_CONFIG": rclone_conf, "RCLONE_CONFIG_BENCH_TYPE": "s3",
                          "RCLONE_CONFIG_BENCH_PROVIDER": "Other", "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint,
                          "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
                          "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": "bench", "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": "bench"}

            def rclone_sync():
                settle()
                return timed(lambda: subprocess.run(["rclone", "sync", bk, "bench:rclone-bench/app"], env=rclone_env,
                                                    check=True))

            with Server(binary, cfg, keys) as srv:
                def replicate():
                    rec = {}
                    settle()
                    t = timed(lambda: rec.update(srv.job("/api/v1/replication-targets/bench/replicate", {},
                                                         "/api/v1/replications/{id}")))
                    return t, rec

                srv.backup()
                full, r1 = replicate()
                rclone_full = rclone_sync()
                # 1% of the bytes: 30 of the 3,000 files of 100 kB rewritten.
                rnd = random.Random(7)
                changed = 0
                for d in range(30):
                    path = os.path.join(home, "big", f"d{d:02}", f"f{rnd.randrange(100):03}.bin")
                    data = rnd.randbytes(100_000)
                    with open(path, "wb") as fh:
                        fh.write(data)
                    changed += len(data)
                srv.backup()
                incr, r2 = replicate()
                rclone_incr = rclone_sync()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"changed: {changed / 1e6:.1f} MB ({changed / total:.1%} of the bytes)")
    print("| replication to a local S3 server (moto) | time | ratio | target |")
    print("|---|---|---|---|")
    print(f"| rclone sync of the backup folder | {rclone_full:.2f} s | | |")
    print(f"| full replication ({r1['blobs_uploaded']} blobs, {r1['bytes_uploaded'] / 1e6:.0f} MB, "
          f"{r1['retries']} retries) | {full:.2f} s | {full / rclone_full:.2f} x rclone | <= 1.0 |")
    print(f"| replication after 1% changed ({r2['blobs_uploaded']} blobs, {r2['bytes_uploaded'] / 1e6:.1f} MB) "
          f"| {incr:.2f} s | {incr / full:.3f} x the full replication | <= 0.1 |")
    print(f"| rclone sync after 1% changed (reference) | {rclone_incr:.2f} s | {rclone_incr / rclone_full:.3f} x "
          f"its full sync; replication / it: {incr / rclone_incr:.2f} | |")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "replicate":
        return replicate_bench()
    if len(sys.argv) > 1 and sys.argv[1] == "freeze":
        return consistency()
    if len(sys.argv) > 1 and sys.argv[1] == "scale":
        return scale([int(n) for n in sys.argv[2:]] or [20_000, 100_000, 1_000_000])
    if len(sys.argv) > 1 and sys.argv[1] == "btrfs":
        return btrfs()
    if len(sys.argv) > 1 and sys.argv[1] == "wrk":
        return wrk(int(sys.argv[2]) if len(sys.argv) > 2 else 1000)
    keep = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--keep" else None
    binary = build()
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
