//! One short-lived command run to its end, blocking: a component's freeze, thaw and snapshot
//! commands. The same rules as the hooks' processes: the command is split into words like a
//! shell would (no shell unless it names one), runs in its own process group with a clean
//! environment (`PATH`, `HOME`, `LANG` and the variables given), stdin closed, stdout and
//! stderr interleaved into one kept output (its last [`OUTPUT_MAX`] bytes). At its timeout the
//! whole group gets SIGTERM, then SIGKILL. Call it from blocking code only.
//! [`run_watched`] also hands each output line to the caller while the command runs (a drill's
//! probe, read live over SSE) and stops the command when the caller's flag is raised.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{getpgrp, Pid};

/// The output kept of one command (its end, cut at a character boundary).
pub const OUTPUT_MAX: usize = 64 * 1024;
/// Variables of the master's environment every command gets (when the master has them).
pub const PASSED_ALWAYS: [&str; 3] = ["PATH", "HOME", "LANG"];
/// `PATH` of a command when the master has none.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Between SIGTERM and SIGKILL of a group that outlived its timeout.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// How long the output pipe is read after the command ended (a process it left behind may
/// hold it open).
const DRAIN: Duration = Duration::from_millis(500);
const POLL: Duration = Duration::from_millis(10);
/// A line longer than this is handed on in pieces of this size.
pub const LINE_MAX: usize = 4096;

/// argv of a command, split like a POSIX shell would, without running one.
pub fn split(command: &str) -> Result<Vec<String>, String> {
    let argv = shell_words::split(command).map_err(|e| e.to_string())?;
    if argv.is_empty() {
        return Err("the command has no words".into());
    }
    Ok(argv)
}

/// The part of a command's environment taken from the master's (read through `lookup`):
/// [`PASSED_ALWAYS`] and the names in `extra`, never a `BACKUP_*` (only the master sets those).
pub fn passed_env(
    extra: &[String],
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Vec<(OsString, OsString)> {
    let mut out: Vec<(OsString, OsString)> = Vec::new();
    let names = PASSED_ALWAYS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str));
    for name in names {
        if name.starts_with("BACKUP_") || out.iter().any(|(k, _)| k == name) {
            continue;
        }
        match lookup(name) {
            Some(v) => out.push((name.into(), v)),
            None if name == "PATH" => out.push((name.into(), DEFAULT_PATH.into())),
            None => {}
        }
    }
    out
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Run {
    pub command: String,
    /// Added to the passed environment (e.g. `BACKUP_ID`, `COMPONENT`).
    pub env: Vec<(String, String)>,
    /// Working folder; `None`: `/`.
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The command as configured.
    pub command: String,
    /// Exit code; absent when it was killed by a signal or did not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// It ran into its timeout and its process group was killed.
    pub timed_out: bool,
    /// The caller stopped it (a cancelled drill) and its process group was killed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// Why it could not be started (not found, not executable, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_error: Option<String>,
    /// stdout and stderr interleaved, its last 64 KiB.
    pub output: String,
    pub duration_ms: u64,
}

impl Outcome {
    /// It exited 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// One line saying how it ended, for errors and the report.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.start_error {
            return format!("could not be started: {e}");
        }
        if self.stopped {
            return format!(
                "was stopped after {:.1} s (cancelled) and killed",
                self.duration_ms as f64 / 1000.0
            );
        }
        if self.timed_out {
            return format!(
                "timed out after {:.1} s and was killed",
                self.duration_ms as f64 / 1000.0
            );
        }
        match (self.exit_code, self.signal) {
            (Some(0), _) => "exited 0".into(),
            (Some(c), _) => format!("exited {c}"),
            (None, Some(s)) => format!("was killed by signal {s}"),
            (None, None) => "ended without an exit status".into(),
        }
    }

    /// The last non-empty line of the output, trimmed.
    pub fn last_line(&self) -> Option<&str> {
        self.output
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
    }
}

/// Runs `run` to its end (or its timeout). Never panics; a command that cannot be split or
/// started ends with `start_error`.
pub fn run(run: &Run) -> Outcome {
    run_watched(run, &mut |_| {}, &AtomicBool::new(false))
}

/// Like [`run`], and hands every line of the output to `on_line` while the command runs (on the
/// calling thread, without its line end; lines over [`LINE_MAX`] bytes in pieces, invalid
/// UTF-8 replaced). When `stop` is raised the command's group is killed like at its timeout
/// and the outcome says `stopped`.
pub fn run_watched(run: &Run, on_line: &mut dyn FnMut(&str), stop: &AtomicBool) -> Outcome {
    let t0 = Instant::now();
    let mut out = Outcome {
        command: run.command.clone(),
        exit_code: None,
        signal: None,
        timed_out: false,
        stopped: false,
        start_error: None,
        output: String::new(),
        duration_ms: 0,
    };
    let argv = match split(&run.command) {
        Ok(a) => a,
        Err(e) => {
            out.start_error = Some(format!("bad command: {e}"));
            return out;
        }
    };
    let (reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => {
            out.start_error = Some(format!("no pipe: {e}"));
            return out;
        }
    };
    let writer_err = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => {
            out.start_error = Some(format!("no pipe: {e}"));
            return out;
        }
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(run.cwd.clone().unwrap_or_else(|| PathBuf::from("/")))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .process_group(0)
        .env_clear()
        .envs(passed_env(&[], |k| std::env::var_os(k)))
        .envs(run.env.iter().map(|(k, v)| (k, v)));
    let spawned = cmd.spawn();
    // Our copies of the write end go with the command: EOF comes when the group closes theirs.
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            out.start_error = Some(e.to_string());
            out.duration_ms = elapsed_ms(t0);
            return out;
        }
    };
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    // The pump sends what it reads and ends at EOF, or is left behind if a leftover process
    // holds the pipe (it then ends with that process; its sends then go nowhere).
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut output = Output::default();
    let deadline = t0 + run.timeout;
    let status = loop {
        // Waiting for output is the poll interval.
        match rx.recv_timeout(POLL) {
            Ok(bytes) => output.take(&bytes, on_line),
            Err(RecvTimeoutError::Timeout) => {}
            // The output ended before the command did.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if stop.load(Ordering::SeqCst) {
            out.stopped = true;
            kill_group(pgid, &mut child);
            break child.wait().ok();
        }
        if Instant::now() >= deadline {
            out.timed_out = true;
            kill_group(pgid, &mut child);
            break child.wait().ok();
        }
    };
    if let Some(st) = status {
        out.exit_code = st.code();
        out.signal = st.signal();
    }
    let drained = Instant::now() + DRAIN;
    loop {
        let left = drained.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => output.take(&bytes, on_line),
            Err(_) => break,
        }
    }
    output.finish(on_line);
    out.output = tail_text(&output.kept);
    out.duration_ms = elapsed_ms(t0);
    out
}

/// The output read so far: its kept tail, and the start of a line not yet ended.
#[derive(Default)]
struct Output {
    kept: Vec<u8>,
    partial: Vec<u8>,
}

impl Output {
    fn take(&mut self, bytes: &[u8], on_line: &mut dyn FnMut(&str)) {
        self.kept.extend_from_slice(bytes);
        if self.kept.len() > 2 * OUTPUT_MAX {
            self.kept.drain(..self.kept.len() - OUTPUT_MAX);
        }
        for &b in bytes {
            if b == b'\n' {
                self.line(on_line);
            } else {
                self.partial.push(b);
                if self.partial.len() >= LINE_MAX {
                    self.line(on_line);
                }
            }
        }
    }

    fn line(&mut self, on_line: &mut dyn FnMut(&str)) {
        let text = String::from_utf8_lossy(&self.partial);
        on_line(text.strip_suffix('\r').unwrap_or(&text));
        self.partial.clear();
    }

    /// The last line, when the output did not end with a line end.
    fn finish(&mut self, on_line: &mut dyn FnMut(&str)) {
        if !self.partial.is_empty() {
            self.line(on_line);
        }
    }
}

fn elapsed_ms(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// SIGTERM to the group, SIGKILL after [`TERM_GRACE`] if the leader still runs, and SIGKILL to
/// whatever is left of the group.
fn kill_group(pgid: i32, child: &mut std::process::Child) {
    if pgid <= 1 || pgid == getpgrp().as_raw() {
        let _ = child.kill();
        return;
    }
    let group = Pid::from_raw(pgid);
    let _ = killpg(group, Signal::SIGTERM);
    let until = Instant::now() + TERM_GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(POLL);
    }
    let _ = killpg(group, Signal::SIGKILL);
}

/// The last [`OUTPUT_MAX`] bytes as text, starting at a character boundary.
fn tail_text(bytes: &[u8]) -> String {
    let mut start = bytes.len().saturating_sub(OUTPUT_MAX);
    while start < bytes.len() && (bytes[start] & 0b1100_0000) == 0b1000_0000 {
        start += 1;
    }
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cmd: &str, timeout_ms: u64) -> Outcome {
        run(&Run {
            command: cmd.into(),
            env: vec![("COMPONENT".into(), "hub".into())],
            cwd: None,
            timeout: Duration::from_millis(timeout_ms),
        })
    }

    #[test]
    fn output_and_exit_code_are_kept_and_the_environment_is_given() {
        let o = r(
            "sh -c 'echo out; echo err >&2; echo $COMPONENT; exit 3'",
            5000,
        );
        assert_eq!(o.exit_code, Some(3), "{o:?}");
        assert!(!o.succeeded());
        assert!(
            o.output.contains("out\n") && o.output.contains("err\n"),
            "{o:?}"
        );
        assert_eq!(o.last_line(), Some("hub"));
        assert_eq!(o.describe(), "exited 3");
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("late");
        let cmd = format!("sh -c '(sleep 1; touch {}) & sleep 30'", marker.display());
        let o = r(&cmd, 300);
        assert!(o.timed_out, "{o:?}");
        assert!(o.duration_ms < 5000, "{o:?}");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a process of the killed group ran on");
    }

    #[test]
    fn lines_reach_the_watcher_while_the_command_runs_and_stop_kills_it() {
        let dir = tempfile::tempdir().unwrap();
        let flag = dir.path().join("go");
        // Prints a line, then waits for a flag only the watcher sets after seeing that line.
        let cmd = format!(
            "sh -c 'echo ready; while [ ! -e {f} ]; do sleep 0.02; done; printf \"done\\r\\nno end\"'",
            f = flag.display()
        );
        let mut lines = Vec::new();
        let o = run_watched(
            &Run {
                command: cmd,
                env: vec![],
                cwd: None,
                timeout: Duration::from_secs(20),
            },
            &mut |l| {
                if l == "ready" {
                    std::fs::write(&flag, b"").unwrap();
                }
                lines.push(l.to_string());
            },
            &AtomicBool::new(false),
        );
        assert!(o.succeeded(), "{o:?}");
        assert_eq!(lines, ["ready", "done", "no end"]);

        let stop = AtomicBool::new(false);
        let t0 = Instant::now();
        let o = run_watched(
            &Run {
                command: "sh -c 'echo up; sleep 30'".into(),
                env: vec![],
                cwd: None,
                timeout: Duration::from_secs(60),
            },
            &mut |_| stop.store(true, Ordering::SeqCst),
            &stop,
        );
        assert!(o.stopped && !o.timed_out && !o.succeeded(), "{o:?}");
        assert!(t0.elapsed() < Duration::from_secs(10), "{o:?}");
        assert!(o.describe().contains("cancelled"), "{}", o.describe());
    }

    #[test]
    fn no_shell_unless_named_and_missing_programs_are_reported() {
        let o = r("echo $HOME; exit 0", 5000);
        assert_eq!(o.output.trim(), "$HOME; exit 0");
        let o = r("/nonexistent/freeze", 5000);
        assert!(o.start_error.is_some() && !o.succeeded(), "{o:?}");
        let o = r("'unbalanced", 5000);
        assert!(o.describe().contains("bad command"), "{o:?}");
    }
}
