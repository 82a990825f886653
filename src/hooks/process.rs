//! Starting a hook command as its own process group, supervising it (exit, timeout,
//! terminate request) and ending a whole process group.
//!
//! The supervisor of one process waits for three things: the child's exit (it reaps it),
//! the end of the output pump (pipe closed), and, when a timeout or a terminate request
//! started one, the end of the group kill. Only when all are over is the record made final
//! and `done` raised, so that a final record always means: no line will follow, and the
//! group is gone (unless a member left it with `setsid`).
//!
//! Liveness of a group is read from `/proc`: a member in state `Z` (a zombie nobody has
//! reaped yet: in containers PID 1 often never reaps) counts as gone.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::{getpgrp, Pid};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::manager::Entry;
use super::output::{self, Line};
use super::{BackupContext, HookError, HookStatus};

/// After a group kill has finished, how long the output pipe may stay open (held by a
/// process that left the group) before the pump stops reading it.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(2);
/// How long to wait for a group to vanish after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// argv of a command, split like a POSIX shell would, without running one.
pub(crate) fn split_command(command: &str) -> Result<Vec<String>, HookError> {
    crate::toolkit::command::split(command).map_err(|reason| HookError::BadCommand { reason })
}

/// `BACKUP_FOLDER_<NAME>`: the component name upper-cased, other characters than
/// `[A-Z0-9_]` replaced by `_`.
pub(crate) fn folder_var(component: &str) -> String {
    let name: String = component
        .chars()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("BACKUP_FOLDER_{name}")
}

/// The `BACKUP_*` variables of a hook.
pub(crate) fn hook_env(result: &str, ctx: Option<&BackupContext>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = vec![("BACKUP_RESULT".into(), result.into())];
    match ctx {
        Some(ctx) => {
            env.push(("BACKUP_ID".into(), ctx.backup_id.clone().into()));
            env.push(("BACKUP_REPORT".into(), ctx.report.clone().into_os_string()));
            for (name, folder) in &ctx.folders {
                env.push((folder_var(name).into(), folder.clone().into_os_string()));
            }
        }
        None => {
            env.push(("BACKUP_ID".into(), OsString::new()));
            env.push(("BACKUP_REPORT".into(), OsString::new()));
        }
    }
    env
}

pub(crate) use crate::toolkit::command::passed_env;

/// A started child and the read end of its output pipe.
pub(crate) struct Spawned {
    pub child: Child,
    pub output: pipe::Receiver,
    pub pid: u32,
}

/// Starts `argv` in `cwd` as the leader of a new process group, stdout and stderr on one
/// pipe, stdin `/dev/null`, in a clean environment: [`passed_env`] of `pass` and the master's
/// environment, plus `env` (the `BACKUP_*` variables). Must run inside the runtime that will
/// supervise it (`Handle::enter`).
pub(crate) fn spawn(
    argv: &[String],
    cwd: &Path,
    pass: &[String],
    env: &[(OsString, OsString)],
) -> io::Result<Spawned> {
    let Some((program, args)) = argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    // One pipe for both streams keeps the exact order in which the process wrote its lines.
    // std creates it close-on-exec, so no other child inherits it.
    let (reader, writer) = io::pipe()?;
    let output = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;
    let writer_err = writer.try_clone()?;

    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer_err))
        .process_group(0)
        .kill_on_drop(false);
    cmd.env_clear();
    cmd.envs(passed_env(pass, |k| std::env::var_os(k)));
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let child = cmd.spawn()?;
    // Dropping the command closes our copies of the write end: EOF comes when the child's
    // group closes theirs.
    drop(cmd);
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("the started process has no pid"))?;
    Ok(Spawned { child, output, pid })
}

/// Runs the life of one started process to its final record. See the module doc.
pub(crate) async fn supervise(
    entry: Arc<Entry>,
    spawned: Spawned,
    log: tokio::fs::File,
    tx: broadcast::Sender<Line>,
    timeout: Option<Duration>,
    grace: Duration,
) {
    // Marks the entry ended (in memory) should this task be dropped or panic before the end.
    let guard = FinishGuard(Some(entry.clone()));
    let Spawned {
        mut child,
        output,
        pid,
        ..
    } = spawned;
    let pgid = pid as i32;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let mut stop_tx = Some(stop_tx);
    let mut pump = tokio::spawn(output::pump(output, log, entry.clone(), tx, stop_rx));

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut exit: Option<io::Result<ExitStatus>> = None;
    let mut pump_done = false;
    let mut ending: Option<HookStatus> = None;
    let mut killer: Option<JoinHandle<()>> = None;
    let mut drain_until: Option<Instant> = None;

    loop {
        if exit.is_some() && pump_done && killer.is_none() {
            break;
        }
        tokio::select! {
            status = child.wait(), if exit.is_none() => exit = Some(status),
            res = &mut pump, if !pump_done => {
                pump_done = true;
                if let Err(e) = res {
                    tracing::error!(id = %entry.id, error = %e, "hook output pump failed");
                }
            }
            _ = sleep_until_opt(deadline), if ending.is_none() && deadline.is_some() => {
                tracing::warn!(id = %entry.id, pid, "hook process timed out; ending its process group");
                ending = Some(HookStatus::TimedOut);
                killer = Some(tokio::spawn(end_group(pgid, grace)));
            }
            _ = entry.kill.notified(), if ending.is_none() => {
                tracing::info!(id = %entry.id, pid, "terminating hook process group");
                ending = Some(HookStatus::Killed);
                killer = Some(tokio::spawn(end_group(pgid, grace)));
            }
            _ = join_opt(&mut killer), if killer.is_some() => {
                killer = None;
                drain_until = Some(Instant::now() + DRAIN_AFTER_KILL);
            }
            _ = sleep_until_opt(drain_until), if drain_until.is_some() && !pump_done && stop_tx.is_some() => {
                tracing::warn!(id = %entry.id, "output pipe still open after the group ended (held by a process that left the group); no longer reading it");
                if let Some(s) = stop_tx.take() {
                    let _ = s.send(());
                }
            }
        }
    }

    let (exit_code, signal, error) = match exit {
        Some(Ok(st)) => (st.code(), st.signal(), None),
        Some(Err(e)) => (
            None,
            None,
            Some(format!("cannot wait for the process: {e}")),
        ),
        None => (None, None, None),
    };
    let status = ending.unwrap_or(HookStatus::Exited);
    {
        let mut rec = super::manager::lock(&entry.record);
        rec.status = status;
        rec.exit_code = exit_code;
        rec.signal = signal;
        rec.finished_at = Some(Utc::now());
        if let Some(e) = error {
            rec.error = Some(match rec.error.take() {
                Some(prev) => format!("{prev}; {e}"),
                None => e,
            });
        }
    }
    match (status, exit_code, signal) {
        (HookStatus::Exited, Some(0), _) => {
            tracing::info!(id = %entry.id, hook = %entry.hook, "hook process exited with code 0")
        }
        _ => {
            tracing::warn!(id = %entry.id, hook = %entry.hook, %status, ?exit_code, ?signal, "hook process ended")
        }
    }
    let e2 = entry.clone();
    match tokio::task::spawn_blocking(move || e2.persist()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(id = %entry.id, error = %e, "cannot write hook record"),
        Err(e) => tracing::error!(id = %entry.id, error = %e, "cannot write hook record"),
    }
    guard.finish();
}

/// Raises `done` when dropped; if the record is still `running` then (the supervisor was
/// dropped or panicked), marks it `orphaned` in memory. The file keeps saying `running`, so
/// the next start-up deals with whatever is left of the group.
struct FinishGuard(Option<Arc<Entry>>);

impl FinishGuard {
    fn finish(mut self) {
        if let Some(entry) = self.0.take() {
            entry.done.send_replace(true);
        }
    }
}

impl Drop for FinishGuard {
    fn drop(&mut self) {
        if let Some(entry) = self.0.take() {
            {
                let mut rec = super::manager::lock(&entry.record);
                if rec.status == HookStatus::Running {
                    rec.status = HookStatus::Orphaned;
                    rec.finished_at = Some(Utc::now());
                    rec.error = Some("the master stopped supervising this process".into());
                }
            }
            *super::manager::lock(&entry.live) = None;
            entry.done.send_replace(true);
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn join_opt(handle: &mut Option<JoinHandle<()>>) {
    match handle {
        Some(h) => {
            if let Err(e) = h.await {
                tracing::error!(error = %e, "process group kill task failed");
            }
        }
        None => std::future::pending().await,
    }
}

/// A process as `/proc/<pid>/stat` shows it.
#[derive(Clone, Debug)]
pub(crate) struct ProcStat {
    pub pid: i32,
    pub state: char,
    pub pgrp: i32,
    pub start_ticks: u64,
}

/// Reads `/proc/<pid>/stat`; None when the process is gone or /proc is not there.
pub(crate) fn proc_stat(pid: i32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid pgrp ... starttime(22) ...": comm may hold spaces and ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        pid,
        state: fields.first()?.chars().next()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

/// Every process of the machine; None without /proc.
pub(crate) fn all_processes() -> Option<Vec<ProcStat>> {
    let dir = std::fs::read_dir("/proc").ok()?;
    Some(
        dir.filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(proc_stat)
            .collect(),
    )
}

/// Is `state` that of a process that has ended (zombie or dead)?
pub(crate) fn is_dead(state: char) -> bool {
    matches!(state, 'Z' | 'X' | 'x')
}

/// The kernel's boot id: start ticks only compare within one boot.
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Refuses group IDs whose signalling would hit the master itself or everything.
fn safe_pgid(pgid: i32) -> bool {
    pgid > 1 && pgid != getpgrp().as_raw()
}

/// Does the group still have a member that has not ended?
pub(crate) fn group_alive(pgid: i32) -> bool {
    if !safe_pgid(pgid) {
        return false;
    }
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        _ => match all_processes() {
            Some(all) => all.iter().any(|p| p.pgrp == pgid && !is_dead(p.state)),
            None => true,
        },
    }
}

/// Sends `sig` to the whole group; a vanished group is fine.
pub(crate) fn signal_group(pgid: i32, sig: Signal) {
    if !safe_pgid(pgid) {
        return;
    }
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::warn!(pgid, ?sig, error = %e, "cannot signal hook process group"),
    }
}

/// SIGTERM (and SIGCONT, so a stopped member sees it) to the group, wait up to `grace`,
/// SIGKILL, wait until no member is left (at most [`KILL_WAIT`]).
pub(crate) async fn end_group(pgid: i32, grace: Duration) {
    signal_group(pgid, Signal::SIGTERM);
    signal_group(pgid, Signal::SIGCONT);
    if wait_gone(pgid, grace).await {
        return;
    }
    tracing::warn!(pgid, "hook process group outlived SIGTERM; sending SIGKILL");
    signal_group(pgid, Signal::SIGKILL);
    if !wait_gone(pgid, KILL_WAIT).await {
        tracing::error!(pgid, "hook process group still has members after SIGKILL");
    }
}

async fn wait_gone(pgid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The blocking form of [`end_group`] for several groups at once (used at start-up).
pub(crate) fn end_groups_blocking(pgids: &[i32], grace: Duration) {
    if pgids.is_empty() {
        return;
    }
    for &g in pgids {
        signal_group(g, Signal::SIGTERM);
        signal_group(g, Signal::SIGCONT);
    }
    let wait = |limit: Duration| {
        let end = std::time::Instant::now() + limit;
        loop {
            let alive: Vec<i32> = pgids.iter().copied().filter(|&g| group_alive(g)).collect();
            if alive.is_empty() || std::time::Instant::now() >= end {
                return alive;
            }
            std::thread::sleep(POLL);
        }
    };
    let left = wait(grace);
    for &g in &left {
        signal_group(g, Signal::SIGKILL);
    }
    for g in wait(if left.is_empty() {
        Duration::ZERO
    } else {
        KILL_WAIT
    }) {
        tracing::error!(
            pgid = g,
            "orphaned hook process group still has members after SIGKILL"
        );
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn folder_variable_names() {
        assert_eq!(folder_var("lui"), "BACKUP_FOLDER_LUI");
        assert_eq!(folder_var("my-db_2"), "BACKUP_FOLDER_MY_DB_2");
    }

    #[test]
    fn only_path_home_lang_and_listed_names_are_passed() {
        let master = |k: &str| -> Option<OsString> {
            match k {
                "PATH" => Some("/opt/bin:/usr/bin".into()),
                "LANG" => Some("de_DE.UTF-8".into()),
                "TAPE" => Some("/dev/nst0".into()),
                "SECRET" => Some("s3cr3t".into()),
                "BACKUP_MASTER_AGENT_TOKEN_TRK" => Some("token".into()),
                _ => None,
            }
        };
        let listed: Vec<String> = ["TAPE", "UNSET", "BACKUP_MASTER_AGENT_TOKEN_TRK", "PATH"]
            .map(String::from)
            .to_vec();
        let got: Vec<(String, String)> = passed_env(&listed, master)
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        let want = [
            ("PATH", "/opt/bin:/usr/bin"),
            ("LANG", "de_DE.UTF-8"),
            ("TAPE", "/dev/nst0"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(got, want);
        // No PATH at all: a sane default, so bare command names still resolve.
        let got = passed_env(&[], |_| None);
        assert_eq!(
            got,
            [("PATH".into(), crate::toolkit::command::DEFAULT_PATH.into())]
        );
    }

    #[test]
    fn proc_stat_parses_this_process() {
        let me = proc_stat(std::process::id() as i32).expect("/proc is mounted");
        assert_eq!(me.pgrp, getpgrp().as_raw());
        assert!(!is_dead(me.state));
        assert!(me.start_ticks > 0);
        assert!(
            !group_alive(getpgrp().as_raw()),
            "the master's own group is never targeted"
        );
    }
}
