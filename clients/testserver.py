#!/usr/bin/env python3
"""Runs a command against a live backup-master on a free loopback port, then stops the server.

    python3 clients/testserver.py [--bin PATH] [--sandbox] -- COMMAND [ARG...]

Makes a temp dir with a config (tokens for admin, operator and viewer; schedule off) and fake
homes for the components hub (maestro-hub), lui (maestro-lui) and trk (maestro-tracker), like
the integration tests' harness; starts `backup-master serve --config ... --listen 127.0.0.1:0`;
reads the port from its `backup-master listening on http://ADDR` line; runs COMMAND with
BM_URL, BM_TOKEN (admin), BM_OPERATOR_TOKEN and BM_VIEWER_TOKEN set; stops the server with
SIGTERM; removes the temp dir; exits with COMMAND's status (non-zero too if the server did not
start, died during the run, or did not stop cleanly). The server's log is printed on failure.

--log-tail N: show that many lines of the server's log on failure (200); --keep-log FILE: copy
the whole log there.

--sandbox (for fuzzing): the server runs with an empty PATH, so a hook command that a fuzzer
writes into the settings cannot name a program, and, when started as root, as user `nobody`,
so that component folders a fuzzer configures cannot land outside what `nobody` may write.
"""

import argparse
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug", "backup-master")


def write(path: str, content: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)


def make_home(home: str, profile: str) -> None:
    """The profile's items (nested folders, a binary file, names with spaces, an empty folder)
    plus files outside the items."""
    blob = bytes((i * 7919 % 251) for i in range(20_000))
    j = os.path.join
    if profile == "maestro-hub":
        write(j(home, "hub.ini"), b"[Hub]\nPort=8080\n")
        write(j(home, "accountreg/accounts.dat"), blob)
        write(j(home, "accountreg/deep/nested/user one.reg"), b"user=one\n")
        write(j(home, "hubreg/components.reg"), b"lui=local\n")
        os.makedirs(j(home, "hubreg/empty"), exist_ok=True)
    elif profile == "maestro-lui":
        write(j(home, "lui.ini"), b"[LUI]\nDatabase=internal\n")
        write(j(home, "luidata/db/jobs.ibd"), blob)
        write(j(home, "luidata/recipients/list 1.csv"), b"a@example.org\n")
        write(j(home, "registry/lui.reg"), b"dataset=1\n")
        os.makedirs(j(home, "registry/empty"), exist_ok=True)
        write(j(home, "database/my.ini"), b"[mysqld]\n")
    else:  # maestro-tracker
        write(j(home, "tracker.ini"), b"[Tracker]\n")
        write(j(home, "data/events.dat"), blob)
        write(j(home, "data/sub dir/links.dat"), b"links\n")
        os.makedirs(j(home, "data/empty"), exist_ok=True)
    write(j(home, "logs/outside.log"), b"never backed up\n")
    write(j(home, "tmp/cache.tmp"), b"never backed up\n")


CONFIG = """\
listen = "127.0.0.1:0"
state_dir = "state"

[[tokens]]
role = "admin"
sha256 = "{admin}"

[[tokens]]
role = "operator"
sha256 = "{operator}"

[[tokens]]
role = "viewer"
sha256 = "{viewer}"

[schedule]
enabled = false
daily_time = "02:00"
time_zone = "Europe/Berlin"
catch_up = false

[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = 2

[[components]]
name = "lui"
profile = "maestro-lui"
home = "homes/lui"
keep = 2

[[components]]
name = "trk"
profile = "maestro-tracker"
home = "homes/trk"
keep = 2
"""


def sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("BM_SERVER_BIN", BIN))
    ap.add_argument("--sandbox", action="store_true")
    ap.add_argument("--log-tail", type=int, default=200, help="server log lines shown on failure")
    ap.add_argument("--keep-log", metavar="FILE", help="copy the server's log there at the end")
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        print(f"testserver: no server binary {args.bin} (cargo build)", file=sys.stderr)
        return 2

    tokens = {role: f"{role}-{secrets.token_hex(16)}" for role in ("admin", "operator", "viewer")}
    work = tempfile.mkdtemp(prefix="bm-clients-")
    try:
        for name, profile in (("hub", "maestro-hub"), ("lui", "maestro-lui"), ("trk", "maestro-tracker")):
            make_home(os.path.join(work, "homes", name), profile)
        config = os.path.join(work, "backup-master.toml")
        with open(config, "w") as f:
            f.write(CONFIG.format(**{role: sha(t) for role, t in tokens.items()}))
        log_path = os.path.join(work, "server.log")

        env = dict(os.environ)
        cmd = [args.bin, "serve", "--config", config, "--listen", "127.0.0.1:0"]
        if args.sandbox:
            empty = os.path.join(work, "empty-path")
            os.makedirs(empty)
            env["PATH"] = empty
            if os.geteuid() == 0:
                # Its own copy of the binary: the checkout's folders need not be open to nobody.
                own_bin = os.path.join(work, "bin", "backup-master")
                os.makedirs(os.path.dirname(own_bin))
                shutil.copy2(args.bin, own_bin)
                cmd[0] = own_bin
                os.chmod(work, 0o755)
                for dirpath, dirnames, filenames in os.walk(work):
                    for n in dirnames + filenames:
                        os.chown(os.path.join(dirpath, n), 65534, 65534, follow_symlinks=False)
                os.chown(work, 65534, 65534)
                cmd = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + cmd

        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, start_new_session=True
            )
            try:
                return supervise(server, args, log_path, tokens)
            finally:
                if server.poll() is None:  # only when supervise() itself failed
                    server.kill()
                    server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def supervise(server: subprocess.Popen, args: argparse.Namespace, log_path: str, tokens: dict[str, str]) -> int:
    """Waits for the server, runs the command against it, stops the server; the exit status."""
    url = wait_listening(server)
    if url is None:
        print(f"testserver: the server did not start (exit {server.poll()})", file=sys.stderr)
        dump(log_path, args.log_tail)
        stop(server)
        return 2
    if not wait_healthy(url):
        print("testserver: the server printed its address but /healthz never answered", file=sys.stderr)
        dump(log_path, args.log_tail)
        stop(server)
        return 2
    print(f"testserver: backup-master at {url}", file=sys.stderr)

    child_env = dict(os.environ)
    child_env.update(
        BM_URL=url,
        BM_TOKEN=tokens["admin"],
        BM_OPERATOR_TOKEN=tokens["operator"],
        BM_VIEWER_TOKEN=tokens["viewer"],
    )
    for var in ("NO_PROXY", "no_proxy"):
        child_env[var] = ",".join(filter(None, [os.environ.get(var, ""), "127.0.0.1", "localhost"]))
    rc = subprocess.call(args.command, env=child_env)

    died = server.poll()
    stopped_cleanly = died is None and stop(server) == 0
    if died is not None:
        print(f"testserver: the server died during the run (exit {died})", file=sys.stderr)
    elif not stopped_cleanly:
        print("testserver: the server did not stop cleanly on SIGTERM", file=sys.stderr)
    if rc != 0 or not stopped_cleanly:
        dump(log_path, args.log_tail)
    if args.keep_log:
        shutil.copyfile(log_path, args.keep_log)
    return rc if rc != 0 else (0 if stopped_cleanly else 3)


def wait_listening(server: subprocess.Popen, limit: float = 30.0) -> str | None:
    """Reads stdout until the listening line; keeps draining it afterwards."""
    found: list[str] = []
    ready = threading.Event()

    def reader() -> None:
        for raw in server.stdout:
            line = raw.decode(errors="replace").strip()
            prefix = "backup-master listening on "
            if not found and line.startswith(prefix):
                found.append(line[len(prefix) :].strip())
                ready.set()
        ready.set()

    threading.Thread(target=reader, daemon=True).start()
    ready.wait(limit)
    return found[0] if found else None


# The server is on loopback: never through a proxy from the environment.
NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_healthy(url: str, limit: float = 30.0) -> bool:
    """Polls GET /healthz until 200: the server then runs (and handles SIGTERM)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with NO_PROXY_OPENER.open(f"{url}/healthz", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def stop(server: subprocess.Popen) -> int | None:
    """SIGTERM, then SIGKILL after 20 s; returns the exit status (None if it had to be killed)."""
    if server.poll() is not None:
        return server.returncode
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        return None


def dump(log_path: str, tail: int = 200) -> None:
    try:
        with open(log_path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return
    print(f"--- server log (last {min(tail, len(lines))} of {len(lines)} lines) ---", file=sys.stderr)
    sys.stderr.writelines(lines[-tail:])
    print("--- end of server log ---", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
