//! The README works verbatim for a newcomer: every fenced `sh` block of README.md runs with
//! `bash -euo pipefail` (`-x` too, so a failure shows its command) against a fresh embedded
//! default (the real binary started with no config in an empty temp dir, as `cargo run
//! --release -- serve` does in a clone), and the Python snippet runs with the generated Python
//! client.
//!
//! How the README's blocks map onto the test:
//! * each block runs in its own bash, in the folder the server was started in (where
//!   `backup-master-data/admin.token` is), `~` being a fresh folder, `backup-master` the binary
//!   under test on `PATH`;
//! * `http://127.0.0.1:8080` is the server's real address (it listens on a free port), also for
//!   the CLI (`BACKUP_MASTER_URL`), and `127.0.0.1:8081` a second free port;
//! * the import's `/mnt/tape/lui-backup` is a copy of lui's newest backup in the temp dir;
//! * a block after `<!-- readme-test: skip (reason) -->` is not run (the reason is printed);
//!   one after `<!-- readme-test: background -->` starts a server: it runs in the background
//!   until the test ends, and the next block runs once it prints its listening line;
//! * blocks of other languages (toml, json, ts, rust, output) are not run; the TypeScript and
//!   Rust snippets follow the clients' smoke tests, and the Rust one is, line for line, a program
//!   `clients/smoke.sh` builds (checked below).
//!
//! `README_TEST_SHOW=1 cargo test --test readme -- --nocapture` prints what the blocks printed.
//!
//! The Python snippet needs the Python client: `clients/install-tools.sh` installs it into
//! `clients/.tools/py-client` (CI runs it before `cargo test`); without it this test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

/// The folder on external media the README imports.
const TAPE: &str = "/mnt/tape/lui-backup";

/// One fenced block of the README.
struct Block {
    lang: String,
    /// README line of the opening fence.
    line: usize,
    text: String,
    /// What the `<!-- readme-test: ... -->` comment right before it says, if there is one.
    marker: Option<String>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    let mut last_text_line = "";
    for (i, line) in readme.lines().enumerate() {
        if let Some(block) = open.as_mut() {
            if line.trim_start().starts_with("```") {
                out.push(open.take().unwrap());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            let marker = last_text_line
                .trim()
                .strip_prefix("<!-- readme-test:")
                .and_then(|m| m.strip_suffix("-->"))
                .map(|m| m.trim().to_string());
            open = Some(Block {
                lang: lang.trim().to_string(),
                line: i + 1,
                text: String::new(),
                marker,
            });
        } else if !line.trim().is_empty() {
            last_text_line = line;
        }
    }
    assert!(open.is_none(), "README.md has an unclosed ``` block");
    out
}

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the test runs each block with.
struct Env {
    root: PathBuf,
    home: PathBuf,
    path: String,
    base: String,
    second: String,
}

impl Env {
    fn substitute(&self, text: &str) -> String {
        text.replace("http://127.0.0.1:8080", &self.base)
            .replace("127.0.0.1:8081", &self.second)
            .replace(TAPE, &self.tape().to_string_lossy())
    }

    /// Where the test puts the "external medium" the README imports from.
    fn tape(&self) -> PathBuf {
        self.root.join("tape/lui-backup")
    }

    /// A copy of lui's newest backup (`cp -a`, as an operator would copy it off the medium)
    /// stands in for the one on tape.
    fn fill_tape(&self) {
        std::fs::create_dir_all(self.tape().parent().unwrap()).unwrap();
        let status = Command::new("cp")
            .arg("-a")
            .arg(self.root.join("backup-master-data/demo/lui/backup"))
            .arg(self.tape())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "copying lui's backup to the stand-in tape"
        );
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root)
            .env("HOME", &self.home)
            .env("PATH", &self.path)
            .env("BACKUP_MASTER_URL", &self.base)
            .env("NO_COLOR", "1")
            .env_remove("BACKUP_MASTER_TOKEN")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd` to its end (at most `limit`) with its output in a file; (success, output).
    fn run(&self, mut cmd: Command, name: &str, limit: Duration) -> (bool, String) {
        let log = self.root.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        cmd.stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        let mut child = cmd.spawn().unwrap();
        let status = wait_exit(&mut child, limit);
        if status.is_none() {
            kill_group(&mut child);
        }
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        (status.is_some_and(|s| s.success()), output)
    }
}

fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
}

/// The last lines of `output`, for a failure message.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn python_client() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/.tools/py-client/bin/python");
    assert!(
        python.is_file(),
        "README test: the README's Python snippet needs the generated Python client, which is \
         not installed: run clients/install-tools.sh (it installs it into {})",
        python.display()
    );
    python
}

#[test]
fn every_readme_block_works_verbatim_on_the_embedded_default() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let blocks = blocks(&readme);
    let python = python_client();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let home = root.join("home");
    std::fs::create_dir(&home).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let server = Server::spawn(cmd);
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let env = Env {
        path: format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
        root,
        home,
        base: server.base.clone(),
        second: format!("127.0.0.1:{}", free_port()),
    };

    let mut background: Vec<Child> = Vec::new();
    let mut ran = Vec::new();
    let mut outputs = String::new();
    let mut failure = None;
    for (n, block) in blocks.iter().enumerate() {
        let marker = block.marker.as_deref().unwrap_or("");
        if let Some(reason) = marker.strip_prefix("skip") {
            assert!(
                !reason.trim().is_empty(),
                "README.md line {}: a skipped block says why",
                block.line
            );
            println!(
                "skipped the {} block at README.md line {}: {}",
                block.lang,
                block.line,
                reason.trim().trim_start_matches('(').trim_end_matches(')')
            );
            continue;
        }
        assert!(
            marker.is_empty() || marker == "background",
            "README.md line {}: unknown readme-test marker {marker:?}",
            block.line
        );
        if block.text.contains(TAPE) {
            env.fill_tape();
        }
        let text = env.substitute(&block.text);
        let (ok, output) = match block.lang.as_str() {
            "sh" if marker == "background" => {
                let mut cmd = env.command("bash");
                cmd.args(["-euo", "pipefail", "-c", &text])
                    .stderr(Stdio::null())
                    .process_group(0);
                let (child, _, _) = spawn_listening(cmd, "backup-master listening on ");
                background.push(child);
                (true, String::new())
            }
            "sh" => {
                let mut cmd = env.command("bash");
                cmd.args(["-euxo", "pipefail", "-c", &text]);
                env.run(cmd, &format!("block-{n}"), Duration::from_secs(300))
            }
            "python" => {
                let file = env.root.join("readme_snippet.py");
                std::fs::write(&file, &text).unwrap();
                let mut cmd = env.command(&python);
                cmd.arg(&file);
                env.run(cmd, &format!("block-{n}"), Duration::from_secs(300))
            }
            _ => continue,
        };
        ran.push(format!("{} block at line {}", block.lang, block.line));
        outputs.push_str(&output);
        if !ok {
            failure = Some(format!(
                "the {} block at README.md line {} failed; its output ends:\n{}",
                block.lang,
                block.line,
                tail(&output)
            ));
            break;
        }
    }
    for mut child in background {
        kill_group(&mut child);
    }
    if let Some(f) = failure {
        panic!("{f}");
    }

    // The blocks did what the README says they do, and enough of them ran.
    assert!(ran.len() >= 5, "only these README blocks ran: {ran:?}");
    assert!(
        ran.iter().any(|r| r.starts_with("python ")),
        "the Python snippet did not run: {ran:?}"
    );
    for expected in [
        // the Python snippet prints the report of the backup it waited for
        "The backup was completed successfully",
        // the demo hook's output, followed live over SSE
        "demo hook: done",
        // the first real config is valid
        "ok: ",
    ] {
        assert!(
            outputs.contains(expected),
            "no README block printed {expected:?}; blocks run: {ran:?}"
        );
    }
    if std::env::var_os("README_TEST_SHOW").is_some() {
        println!("{outputs}");
    }
    drop(server);
}

/// The README's Rust snippet is, line for line, the program `clients/smoke.sh` builds against
/// the generated client (a snippet that does not compile cannot pass CI).
#[test]
fn the_readme_rust_snippet_is_the_program_smoke_sh_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let rust: Vec<Block> = blocks(&readme)
        .into_iter()
        .filter(|b| b.lang == "rust")
        .collect();
    assert_eq!(rust.len(), 1, "one Rust snippet in the README");
    let file = root.join("clients/rust/smoke/src/bin/readme.rs");
    let program = std::fs::read_to_string(&file).unwrap();
    let body: String = program
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        rust[0].text,
        body,
        "README.md line {} differs from {}",
        rust[0].line,
        file.display()
    );
}
