//! Shared test harness: fake component homes, the real server binary started on a free loopback
//! port with a generated config, an HTTP helper, and poll-with-deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const ADMIN: &str = "admin-token-for-tests";
pub const OPERATOR: &str = "operator-token-for-tests";
pub const VIEWER: &str = "viewer-token-for-tests";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_backup-master"))
}

pub fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Creates a fake home for `profile` under `home`: the profile's items with nested folders, a
/// binary file, a name with spaces, an empty folder, plus files outside the items.
pub fn make_home(home: &Path, profile: &str) {
    let bin: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    match profile {
        "maestro-hub" => {
            write(&home.join("hub.ini"), b"[Hub]\nPort=8080\n");
            write(&home.join("accountreg/accounts.dat"), &bin);
            write(
                &home.join("accountreg/deep/nested/user one.reg"),
                b"user=one\n",
            );
            write(&home.join("hubreg/components.reg"), b"lui=local\n");
            std::fs::create_dir_all(home.join("hubreg/empty")).unwrap();
        }
        "maestro-lui" => {
            write(&home.join("lui.ini"), b"[LUI]\nDatabase=internal\n");
            write(&home.join("luidata/db/jobs.ibd"), &bin);
            write(
                &home.join("luidata/recipients/list 1.csv"),
                b"a@example.org\n",
            );
            write(&home.join("registry/lui.reg"), b"dataset=1\n");
            std::fs::create_dir_all(home.join("registry/empty")).unwrap();
            write(&home.join("database/my.ini"), b"[mysqld]\n");
        }
        "maestro-tracker" => {
            write(&home.join("tracker.ini"), b"[Tracker]\n");
            write(&home.join("data/events.dat"), &bin);
            write(&home.join("data/sub dir/links.dat"), b"links\n");
            std::fs::create_dir_all(home.join("data/empty")).unwrap();
        }
        _ => {
            write(&home.join("app.ini"), b"[App]\n");
            write(&home.join("data/x.bin"), &bin);
        }
    }
    write(&home.join("logs/outside.log"), b"never backed up\n");
    write(&home.join("tmp/cache.tmp"), b"never backed up\n");
}

/// A test installation: a temp dir holding the config, the state dir and three fake homes.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Setup {
    /// hub, lui and trk homes with `keep`, and tokens for all three roles.
    pub fn new(keep: u32) -> Setup {
        Self::with_extra(keep, "")
    }

    /// As `new`, with `extra` TOML inserted before the components (e.g. a [hooks] table).
    pub fn with_extra(keep: u32, extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for (name, profile) in [
            ("hub", "maestro-hub"),
            ("lui", "maestro-lui"),
            ("trk", "maestro-tracker"),
        ] {
            make_home(&dir.path().join("homes").join(name), profile);
        }
        let text = format!(
            r#"# test config: this comment must survive API writes
listen = "127.0.0.1:0"
state_dir = "state"   # relative to this file

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
enabled = false        # tests start backups by hand
daily_time = "02:00"   # keep me
time_zone = "Europe/Berlin"
catch_up = false
{extra}
[[components]]
name = "hub"
profile = "maestro-hub"
home = "homes/hub"
keep = {keep}

[[components]]
name = "lui"
profile = "maestro-lui"
home = "homes/lui"
keep = {keep}

[[components]]
name = "trk"
profile = "maestro-tracker"
home = "homes/trk"
keep = {keep}
"#,
            admin = sha(ADMIN),
            operator = sha(OPERATOR),
            viewer = sha(VIEWER),
        );
        let config = dir.path().join("backup-master.toml");
        std::fs::write(&config, text).unwrap();
        Setup { dir, config }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self, name: &str) -> PathBuf {
        self.dir.path().join("homes").join(name)
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn start(&self) -> Server {
        Server::start(&self.config, self.dir.path(), &[])
    }

    pub fn start_env(&self, env: &[(&str, &str)]) -> Server {
        Server::start(&self.config, self.dir.path(), env)
    }
}

/// The real server binary, running.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub client: Client,
    pub stdout: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(config: &Path, cwd: &Path, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(cmd)
    }

    /// Starts `cmd` (a `serve` command) and waits for its "listening on" line.
    pub fn spawn(cmd: Command) -> Server {
        let (child, base, rx) = spawn_listening(cmd, "backup-master listening on ");
        Server {
            child,
            base,
            // A new connection per request: a request never goes out on a kept-alive connection
            // the server is closing at that moment (seen as "connection reset" on a loaded
            // machine), so a reset in a test is always a real one.
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            stdout: rx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap()
    }

    pub fn get_json(&self, path: &str, token: &str) -> Value {
        let r = self.get(path, token);
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().unwrap()
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn put(&self, path: &str, token: &str, body: &Value, if_match: Option<&str>) -> Response {
        let mut rb = self
            .client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body);
        if let Some(m) = if_match {
            rb = rb.header("If-Match", m);
        }
        rb.send().unwrap()
    }

    /// Sends SIGKILL and reaps the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as i32;
        unsafe_kill(pid, 15);
        wait_exit(&mut self.child, Duration::from_secs(20)).expect("server exits on SIGTERM")
    }
}

/// Starts `cmd` (its stdout piped) and waits until it prints `<prefix>ADDR`; returns the child,
/// ADDR, and the rest of its stdout.
pub fn spawn_listening(mut cmd: Command, prefix: &str) -> (Child, String, mpsc::Receiver<String>) {
    cmd.stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("start the process");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = line.strip_prefix(prefix) {
                    return (child, addr.trim().to_string(), rx);
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("{prefix}... never printed (exit {status:?}); stdout: {seen:?}");
            }
        }
    }
}

/// A real `backup-master agent` process.
pub struct Agent {
    pub child: Child,
    pub addr: String,
    pub config: PathBuf,
}

impl Agent {
    /// Writes `<root>/agent.toml` (unless it exists) serving component `name` with its home in
    /// `<root>/home` (made by `make_home`), accepting `token`, plus `extra` top-level TOML, and
    /// starts the agent on `listen`.
    pub fn start(
        root: &Path,
        (name, profile, token): (&str, &str, &str),
        extra: &str,
        listen: &str,
        env: &[(&str, &str)],
    ) -> Agent {
        let config = root.join("agent.toml");
        if !config.exists() {
            make_home(&root.join("home"), profile);
            std::fs::write(
                &config,
                format!(
                    "listen = \"127.0.0.1:0\"\nstate_dir = \"agent-state\"\n{extra}\n\
                     [[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
                     [[components]]\nname = \"{name}\"\nprofile = \"{profile}\"\nhome = \"home\"\n",
                    sha(token)
                ),
            )
            .unwrap();
        }
        Self::spawn(&config, listen, env)
    }

    /// Starts an agent on an existing config.
    pub fn spawn(config: &Path, listen: &str, env: &[(&str, &str)]) -> Agent {
        let mut cmd = Command::new(bin());
        cmd.arg("agent")
            .arg("--config")
            .arg(config)
            .arg("--listen")
            .arg(listen)
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (child, addr, _) = spawn_listening(cmd, "backup-master agent listening on ");
        Agent {
            child,
            addr,
            config: config.to_path_buf(),
        }
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// GET `path` (e.g. `/agent/v1/components`) with `token`; the JSON answer.
    pub fn get_json(&self, path: &str, token: &str) -> Value {
        let r = Client::new()
            .get(format!("{}{path}", self.addr))
            .bearer_auth(token)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().unwrap()
    }

    /// POST `body` to `path` with `token`.
    pub fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        Client::new()
            .post(format!("{}{path}", self.addr))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap()
    }

    /// The agent's open backups and restores (`transactions` of `GET /agent/v1/components`).
    pub fn open_transactions(&self, token: &str) -> Vec<Value> {
        self.get_json("/agent/v1/components", token)["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Starts the same agent again on the same address.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.kill9();
        let listen = self
            .addr
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        *self = Agent::spawn(&self.config, &listen, env);
    }
}

/// Runs `backup-master agent resolve --config <config> <args>`: (success, stdout, stderr).
pub fn agent_resolve(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .arg("agent")
        .arg("resolve")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run agent resolve");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: i32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Polls `f` until it returns Some, or panics after `limit` naming `what`.
pub fn poll<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Asserts `r` is a problem+json with `status` and returns its body.
pub fn assert_problem(r: Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "content type");
    let body: Value = r.json().unwrap();
    assert_eq!(body["status"].as_u64(), Some(status as u64), "{body}");
    assert!(
        body["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(body["title"].as_str().is_some(), "{body}");
    assert!(body["detail"].as_str().is_some(), "{body}");
    // Every problem carries a stable domain code, snake_case.
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
        "no domain code: {body}"
    );
    body
}

/// The field names listed in a validation problem.
pub fn problem_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Every file and folder below `root` (relative path -> content hash or "dir" / "link:target"),
/// for comparing trees before and after.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.flatten() {
            let p = entry.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("link:{}", std::fs::read_link(&p).unwrap().display()),
                );
            } else if meta.is_dir() {
                out.insert(rel.clone(), "dir".into());
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(rel, hex::encode(Sha256::digest(&bytes)));
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// Starts a backup (as operator) and returns its ID.
pub fn start_backup(server: &Server) -> String {
    let r = server.post("/api/v1/backups", OPERATOR, &serde_json::json!({}));
    assert_eq!(r.status(), 202, "start backup");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let body: Value = r.json().unwrap();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("/api/v1/backups/{id}"));
    id
}

/// Polls the backup until its status is final; returns the record.
pub fn wait_backup(server: &Server, id: &str) -> Value {
    poll(
        &format!("backup {id} to end"),
        Duration::from_secs(120),
        || {
            let r = server.get_json(&format!("/api/v1/backups/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    )
}

/// Starts a backup and waits for it; returns the final record.
pub fn run_backup(server: &Server) -> Value {
    let id = start_backup(server);
    wait_backup(server, &id)
}

/// `readme.txt` of a folder as (key, value) pairs in file order.
pub fn readme(folder: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(folder.join("readme.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn readme_id(folder: &Path) -> String {
    readme(folder)
        .into_iter()
        .find(|(k, _)| k == "Backup ID")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// Runs the real `sha256sum -c SHA256SUMS` in `folder`; prints only the files that fail (and
/// sha256sum's warning), which is what an assertion of success wants to show.
pub fn sha256sum_ok(folder: &Path) -> bool {
    Command::new("sha256sum")
        .args(["-c", "--quiet", "--strict", "SHA256SUMS"])
        .current_dir(folder)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Runs the real `sha256sum -c SHA256SUMS` in `folder` where a mismatch is expected: silently
/// (`--status`), so a passing test prints no `FAILED` line; true when it finds one.
pub fn sha256sum_finds_mismatch(folder: &Path) -> bool {
    Command::new("sha256sum")
        .args(["-c", "--status", "--strict", "SHA256SUMS"])
        .current_dir(folder)
        .status()
        .map(|s| s.code() == Some(1))
        .unwrap_or(false)
}

/// The slot folder names present next to `backup` in `home` (e.g. ["backup", "backup1"]), sorted.
pub fn slots(home: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| {
            n == "backup"
                || n.strip_prefix("backup")
                    .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

/// Names in `dir` that are staging folders (`<NAME>.staging-...`).
pub fn stagings(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".staging-"))
        .collect()
}

/// Like [`snapshot`], with each entry's mode and mtime (folders too, and `root` itself as
/// "."): for checks that a tree is exactly as it was, or exactly like another. Entries whose
/// name starts with one of `skip_prefixes` (at any depth) are left out.
pub fn snapshot_meta(
    root: &Path,
    skip_prefixes: &[&str],
) -> std::collections::BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    fn describe(p: &Path) -> String {
        let m = std::fs::symlink_metadata(p).unwrap();
        let mode = m.mode() & 0o7777;
        let time = format!("{}.{:09}", m.mtime(), m.mtime_nsec());
        if m.file_type().is_symlink() {
            format!("link {} {time}", std::fs::read_link(p).unwrap().display())
        } else if m.is_dir() {
            format!("dir {mode:o} {time}")
        } else {
            let bytes = std::fs::read(p).unwrap();
            format!(
                "file {mode:o} {time} {}",
                hex::encode(Sha256::digest(&bytes))
            )
        }
    }
    fn walk(
        root: &Path,
        dir: &Path,
        skip: &[&str],
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if skip.iter().any(|s| name.starts_with(s)) {
                continue;
            }
            let p = entry.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                walk(root, &p, skip, out);
            }
            out.insert(rel, describe(&p));
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if std::fs::symlink_metadata(root).unwrap().is_dir() {
        walk(root, root, skip_prefixes, &mut out);
    }
    out.insert(".".into(), describe(root));
    out
}

/// Posts a restore request as admin; returns the response.
pub fn post_restore(server: &Server, body: &Value) -> Response {
    server.post("/api/v1/restores", ADMIN, body)
}

/// Polls the restore until its status is final; returns the record.
pub fn wait_restore(server: &Server, id: &str) -> Value {
    poll(
        &format!("restore {id} to end"),
        Duration::from_secs(120),
        || {
            let r = server.get_json(&format!("/api/v1/restores/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    )
}

/// Starts a restore (expects 202 and a Location), waits for it; returns the final record.
pub fn run_restore(server: &Server, body: &Value) -> Value {
    let r = post_restore(server, body);
    assert_eq!(r.status(), 202, "start restore");
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let rec: Value = r.json().unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    assert_eq!(loc, format!("/api/v1/restores/{id}"));
    wait_restore(server, &id)
}

/// Names in `dir` that are restore safety folders (`.pre-restore-...`).
pub fn safety_folders(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".pre-restore-"))
        .collect()
}

/// (id, event, data) of each SSE block.
pub fn sse(text: &str) -> Vec<(Option<u64>, String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(|v| v.parse().unwrap());
            Some((id, event.to_string(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

/// The start of a test master's config: listen on a free port, state in `state`, the admin,
/// operator and viewer tokens of this harness; the caller adds the schedule and components.
/// Component `name` of a backup record (`GET /backups/{id}`).
pub fn component<'a>(rec: &'a Value, name: &str) -> &'a Value {
    rec["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name} in {rec}"))
}

/// The freeze and thaw commands of [`FlagWriter`]'s protocol: the freeze asks the writer to
/// stop between two full updates and waits until it says it did; the thaw lets it go on.
pub fn flag_commands(flags: &Path) -> (String, String) {
    let f = flags.display();
    (
        format!(
            "sh -c 'rm -f {f}/frozen; : > {f}/freeze; while [ ! -e {f}/frozen ]; do sleep 0.005; done'"
        ),
        format!("rm -f {f}/freeze"),
    )
}

/// A process that writes `n` into each of its files in turn, for n = 1, 2, ... as fast as it
/// can, so that after each full update they all hold the same number. It obeys a flag file:
/// while `<flags>/freeze` exists it stops between two full updates, says so with
/// `<flags>/frozen`, and waits. Killed when dropped.
pub struct FlagWriter(Child);

impl FlagWriter {
    /// Starts writing `files` and returns once the last one holds a number above 10.
    pub fn start(flags: &Path, files: &[PathBuf]) -> FlagWriter {
        const SCRIPT: &str = r#"
n=0
while :; do
  if [ -e "$D/freeze" ]; then
    : > "$D/frozen"
    while [ -e "$D/freeze" ]; do sleep 0.005; done
  fi
  n=$((n+1))
  for f in "$@"; do echo "$n" > "$f"; done
done
"#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("writer")
            .args(files)
            .env("D", flags)
            .spawn()
            .unwrap();
        let w = FlagWriter(child);
        let last = files.last().unwrap();
        poll("the writer to count", Duration::from_secs(10), || {
            (read_counter(last) > 10).then_some(())
        });
        w
    }
}

impl Drop for FlagWriter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines of a text file (none when it does not exist): marks left by test commands.
pub fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// The number a [`FlagWriter`] left in a file (0 when there is none yet).
pub fn read_counter(p: &Path) -> u64 {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

pub fn master_head() -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nstate_dir = \"state\"\n\
         [[tokens]]\nrole = \"admin\"\nsha256 = \"{}\"\n\
         [[tokens]]\nrole = \"operator\"\nsha256 = \"{}\"\n\
         [[tokens]]\nrole = \"viewer\"\nsha256 = \"{}\"\n",
        sha(ADMIN),
        sha(OPERATOR),
        sha(VIEWER)
    )
}

/// A tmpfs mounted for a test (root); unmounted when dropped.
pub struct Tmpfs(pub PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Mounts a tmpfs of `size` (`3m`, `2g`) at `at`, creating the folder.
pub fn mount_tmpfs(at: &Path, size: &str) -> Tmpfs {
    std::fs::create_dir_all(at).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .status()
        .unwrap();
    assert!(ok.success(), "mount tmpfs at {} (needs root)", at.display());
    Tmpfs(at.to_path_buf())
}

/// The random source of a kill-at-random-instants test: seeded from `CRASH_SEED` when set, else
/// at random; the seed is printed so that a failing run can be repeated exactly.
pub fn crash_rng() -> rand::rngs::StdRng {
    use rand::{Rng, SeedableRng};
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("CRASH_SEED={seed}");
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A loop-mounted btrfs; unmounted (and its loop device released) when dropped.
pub struct Btrfs {
    pub mnt: PathBuf,
}

impl Drop for Btrfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

pub fn kernel_has_btrfs() -> bool {
    let listed = std::fs::read_to_string("/proc/filesystems")
        .map(|s| s.lines().any(|l| l.trim_end().ends_with("btrfs")))
        .unwrap_or(false);
    listed
        || Command::new("modprobe")
            .arg("btrfs")
            .status()
            .is_ok_and(|s| s.success())
}

/// Makes and mounts a 512 MiB btrfs image in `dir`; `None` (after printing why) only when the
/// kernel cannot mount btrfs.
pub fn mount_btrfs(dir: &Path) -> Option<Btrfs> {
    let mkfs = Command::new("mkfs.btrfs").arg("--version").output();
    assert!(
        mkfs.is_ok_and(|o| o.status.success()),
        "mkfs.btrfs is missing: install btrfs-progs (apt-get install -y btrfs-progs)"
    );
    if !kernel_has_btrfs() {
        eprintln!(
            "\n*** SKIPPED: this kernel cannot mount btrfs (not in /proc/filesystems, modprobe \
             btrfs failed): the btrfs test did not run ***\n"
        );
        return None;
    }
    let img = dir.join("btrfs.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(512 << 20)
        .unwrap();
    let st = Command::new("mkfs.btrfs")
        .arg("-q")
        .arg(&img)
        .status()
        .unwrap();
    assert!(st.success(), "mkfs.btrfs");
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let st = Command::new("mount")
        .args(["-o", "loop"])
        .arg(&img)
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mount -o loop of a btrfs image (needs root)");
    Some(Btrfs { mnt })
}

/// The control script of [`FakeApp`]: `start`, `stop`, `health` (and `serve`, the application
/// itself), each given the app's run folder. The application refuses to run (exits 1 at its
/// start) when `$COMPONENT_HOME/data/BAD` exists; it is ready one second after its start; on
/// SIGTERM it records its exit time and ends. Times are Unix seconds with nanoseconds.
const FAKE_APP: &str = r#"#!/bin/sh
run="$2"
case "$1" in
start)
  rm -f "$run/ready"
  nohup sh "$0" serve "$run" >/dev/null 2>&1 &
  echo "starting in $COMPONENT_HOME"
  exit 0 ;;
serve)
  if [ -e "$COMPONENT_HOME/data/BAD" ]; then
    echo "refused $(date +%s.%N): data is bad" >> "$run/events"
    exit 1
  fi
  trap 'echo "exited $(date +%s.%N)" >> "$run/events"; rm -f "$run/pid" "$run/ready"; exit 0' TERM
  echo $$ > "$run/pid"
  echo "started $(date +%s.%N)" >> "$run/events"
  sleep 1
  echo "ready $(date +%s.%N)" >> "$run/events"
  : > "$run/ready"
  while :; do sleep 0.05; done ;;
stop)
  [ -e "$run/pid" ] || { echo "not running"; exit 0; }
  kill -TERM "$(cat "$run/pid")"
  i=0
  while [ -e "$run/pid" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  [ ! -e "$run/pid" ] || { echo "did not stop"; exit 1; }
  echo stopped ;;
health)
  if [ -e "$run/ready" ] && kill -0 "$(cat "$run/pid" 2>/dev/null)" 2>/dev/null; then
    echo healthy; exit 0
  fi
  echo "not healthy: $(tail -n 1 "$run/events" 2>/dev/null)"; exit 1 ;;
esac
"#;

/// A fake application of a component, for the restore's stop / start / health commands: a
/// background process writing a pid file, recording in `<run>/events` when it started, became
/// ready, refused to start (its home's `data/BAD` says the data is bad) and exited. Killed when
/// dropped.
pub struct FakeApp {
    pub run: PathBuf,
    script: PathBuf,
    home: PathBuf,
}

impl FakeApp {
    /// An application of the component whose home is `home`, run from `run` (created).
    pub fn new(run: &Path, home: &Path) -> FakeApp {
        std::fs::create_dir_all(run).unwrap();
        let script = run.join("ctl.sh");
        std::fs::write(&script, FAKE_APP).unwrap();
        FakeApp {
            run: run.to_path_buf(),
            script,
            home: home.to_path_buf(),
        }
    }

    /// The config command for `what` (`start`, `stop`, `health`).
    pub fn command(&self, what: &str) -> String {
        format!("sh {} {what} {}", self.script.display(), self.run.display())
    }

    /// The three commands as component keys, plus `extra` lines.
    pub fn config_keys(&self, extra: &str) -> String {
        format!(
            "stop_command = \"{}\"\nstart_command = \"{}\"\nhealth_command = \"{}\"\n{extra}",
            self.command("stop"),
            self.command("start"),
            self.command("health")
        )
    }

    /// Starts it by hand (as an operator would) and waits until it is ready.
    pub fn start_now(&self) {
        let st = Command::new("sh")
            .args([self.script.to_str().unwrap(), "start"])
            .arg(&self.run)
            .env("COMPONENT_HOME", &self.home)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        poll("the fake app to be ready", Duration::from_secs(10), || {
            self.running().filter(|_| self.run.join("ready").exists())
        });
    }

    /// The pid of the running application, if one runs.
    pub fn running(&self) -> Option<i32> {
        let pid: i32 = std::fs::read_to_string(self.run.join("pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // Signal 0: is it alive?
        let alive = Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        alive.then_some(pid)
    }

    /// `(event, unix seconds)` of each line of its events file, in order.
    pub fn events(&self) -> Vec<(String, f64)> {
        lines(&self.run.join("events"))
            .iter()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let what = w.next()?.to_string();
                let at: f64 = w.next()?.trim_end_matches(':').parse().ok()?;
                Some((what, at))
            })
            .collect()
    }

    /// The times of its events named `what`.
    pub fn times(&self, what: &str) -> Vec<f64> {
        self.events()
            .into_iter()
            .filter(|(w, _)| w == what)
            .map(|(_, t)| t)
            .collect()
    }
}

impl Drop for FakeApp {
    fn drop(&mut self) {
        if let Some(pid) = self.running() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// An RFC 3339 time of a record as Unix seconds.
pub fn unix_seconds(v: &Value) -> f64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    let t = chrono::DateTime::parse_from_rfc3339(s).unwrap();
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9
}

/// A real S3 protocol server (moto's server mode, from PyPI `moto[server]`) on a free loopback
/// port, shared by the tests of one test binary that run at the same time; stopped when the
/// last of them lets go of it. Failing to start it fails the test: there is no skip.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

static S3_SERVER: std::sync::Mutex<std::sync::Weak<S3Server>> =
    std::sync::Mutex::new(std::sync::Weak::new());

impl S3Server {
    /// The running server, or a new one.
    pub fn shared() -> std::sync::Arc<S3Server> {
        let mut slot = S3_SERVER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = slot.upgrade() {
            return s;
        }
        let s = std::sync::Arc::new(S3Server::start());
        *slot = std::sync::Arc::downgrade(&s);
        s
    }

    fn start() -> S3Server {
        Self::start_env(&[])
    }

    /// A server of its own that checks access keys (moto's IAM mode: only the first requests,
    /// which make a user, its key, a policy and `bucket`, go unchecked). Returns the server and
    /// the user's (access key, secret key).
    pub fn with_auth(bucket: &str) -> (S3Server, String, String) {
        let s = Self::start_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
        let out = s.python(&format!(
            "iam = boto3.client('iam', endpoint_url='{}', aws_access_key_id='x', aws_secret_access_key='y', region_name='us-east-1')\n\
             iam.create_user(UserName='bm')\n\
             k = iam.create_access_key(UserName='bm')['AccessKey']\n\
             iam.put_user_policy(UserName='bm', PolicyName='all', PolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}]}}))\n\
             s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id=k['AccessKeyId'], aws_secret_access_key=k['SecretAccessKey'], region_name='us-east-1')\n\
             s3.create_bucket(Bucket='{bucket}')\n\
             print(k['AccessKeyId'], k['SecretAccessKey'])",
            s.endpoint, s.endpoint
        ));
        let mut parts = out.split_whitespace();
        let access = parts.next().unwrap().to_string();
        let secret = parts.next().unwrap().to_string();
        (s, access, secret)
    }

    fn start_env(env: &[(&str, &str)]) -> S3Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m moto.server (pip install 'moto[server]')");
        let mut s = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.get(&s.endpoint).send().is_ok() {
                return s;
            }
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("the S3 test server (python3 -m moto.server) exited at start: {status}; install it with pip install 'moto[server]'");
            }
            if Instant::now() > deadline {
                let _ = s.child.kill();
                panic!(
                    "the S3 test server did not answer on {} within 60 s",
                    s.endpoint
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `code` (Python, with `s3` a boto3 client of this server) and returns its stdout.
    pub fn python(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json, sys\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n{code}\n",
            self.endpoint
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "python against the S3 server failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn create_bucket(&self, bucket: &str, versioning: bool) {
        let mut code = format!("s3.create_bucket(Bucket='{bucket}')");
        if versioning {
            code.push_str(&format!("\ns3.put_bucket_versioning(Bucket='{bucket}', VersioningConfiguration={{'Status': 'Enabled'}})"));
        }
        self.python(&code);
    }

    /// Every key of `bucket` with its size.
    pub fn objects(&self, bucket: &str) -> std::collections::BTreeMap<String, u64> {
        let out = self.python(&format!(
            "p = s3.get_paginator('list_objects_v2')\nout = {{}}\nfor page in p.paginate(Bucket='{bucket}'):\n    for o in page.get('Contents', []):\n        out[o['Key']] = o['Size']\nprint(json.dumps(out))"
        ));
        serde_json::from_str(out.trim()).unwrap()
    }

    /// Every key of `bucket` with its number of versions (delete markers count too).
    pub fn versions(&self, bucket: &str) -> std::collections::BTreeMap<String, u64> {
        let out = self.python(&format!(
            "p = s3.get_paginator('list_object_versions')\nout = {{}}\nfor page in p.paginate(Bucket='{bucket}'):\n    for v in page.get('Versions', []) + page.get('DeleteMarkers', []):\n        out[v['Key']] = out.get(v['Key'], 0) + 1\nprint(json.dumps(out))"
        ));
        serde_json::from_str(out.trim()).unwrap()
    }

    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self.python(&format!(
            "sys.stdout.write(s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read().hex())"
        ));
        hex::decode(out.trim()).unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Follows the server-sent events at `path` as they come, handing each (event, data) to
/// `seen` until it returns true. Panics when the stream ends (or the client's timeout passes)
/// first.
pub fn follow_sse(server: &Server, path: &str, mut seen: impl FnMut(&str, &Value) -> bool) {
    let r = server.get(path, VIEWER);
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    let mut event = String::new();
    for line in BufReader::new(r).lines() {
        let line = line.unwrap_or_else(|e| panic!("reading {path}: {e}"));
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            if seen(&event, &serde_json::from_str(d).unwrap()) {
                return;
            }
        }
    }
    panic!("the events of {path} ended before the one waited for");
}

/// Bytes that neither repeat nor compress (xorshift from `seed`), for file contents.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Replication `id`'s record once it has ended (polled for up to five minutes).
pub fn wait_replication(server: &Server, id: &str) -> Value {
    poll(
        &format!("replication {id} to end"),
        Duration::from_secs(300),
        || {
            let r = server.get_json(&format!("/api/v1/replications/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    )
}

/// Cancels drill `id` once its probe (of `component`, which wrote its pid to `pid_file` and
/// then printed a line) runs: the drill ends `cancelled` within 30 s, the component failed
/// naming the cancel, and the probe's process is gone. Returns the final record.
pub fn cancel_drill_while_probing(
    server: &Server,
    id: &str,
    component_name: &str,
    pid_file: &Path,
) -> Value {
    follow_sse(
        server,
        &format!("/api/v1/drills/{id}/events"),
        |event, _| event == "probe_output",
    );
    let probe_pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let t0 = Instant::now();
    let r = server.post(
        &format!("/api/v1/drills/{id}/cancel"),
        OPERATOR,
        &serde_json::json!({}),
    );
    assert!(r.status().is_success(), "{}", r.status());
    let rec = poll(
        &format!("drill {id} to end"),
        Duration::from_secs(120),
        || {
            let r = server.get_json(&format!("/api/v1/drills/{id}"), VIEWER);
            (r["status"] != "running").then_some(r)
        },
    );
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
    assert_eq!(rec["status"], "cancelled", "{rec:#}");
    let c = component(&rec, component_name);
    assert_eq!(c["status"], "failed", "{c:#}");
    assert!(c["errors"].to_string().contains("cancelled"), "{c:#}");
    assert!(!Path::new(&format!("/proc/{probe_pid}")).exists());
    rec
}
