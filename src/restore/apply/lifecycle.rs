//! Stopping, starting and proving the components around a restore (`lifecycle` in the record,
//! one entry per component with a `stop_command`, `start_command` or `health_command`):
//!
//! * [`stop_all`], before the first change: every component with a stop command, in reverse
//!   order. A stop that fails aborts the restore (nothing was changed yet).
//! * [`start_and_prove`], once every component is applied and before the commit decision:
//!   each component is started (config order) and its health command retried until
//!   `start_timeout_seconds`; answers the components that did not become healthy.
//! * [`stop_started`], before a rollback: a component this restore started on the restored
//!   data is stopped again, so its old data is put back under a stopped application.
//! * [`start_down`], after a rollback or a commit: every component still stopped by this
//!   restore is started again and waited for.
//!
//! Each state change is recorded **before** its command runs (`stopping`, `starting`), so a
//! restart after a crash knows what is stopped and what runs on restored data: the rollback
//! stops the latter and starts the former again. The commands run like the freeze commands
//! ([`crate::toolkit::command`]) in the component's home, with `COMPONENT`, `COMPONENT_HOME`,
//! `RESTORE_ID` and `BACKUP_ID` set; each stop and start is killed at `start_timeout_seconds`.
//! A remote component's commands run on its agent ([`RemoteRestores::lifecycle`],
//! `crate::agent::lifecycle`), only when the agent's config lets the master run commands for
//! it; a call that fails counts as a command that could not be started.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::{ApplyError, Journal, RemoteRestores};
use crate::engine::lifecycle::{
    ComponentLifecycle, LifecycleState as L, LifecycleStep as Step, MAX_START_TIMEOUT,
};
use crate::restore::record::{RestoreRecord, StepAction};
use crate::store::wire::LifecycleRequest;
use crate::toolkit::command::{self, Outcome};

/// Between two runs of a health command.
const HEALTH_RETRY: Duration = Duration::from_millis(250);
/// The shortest time a health attempt is given, also near the deadline.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// Runs `step`'s command of component `l`: here, or on its agent through `remote`. A call to
/// the agent that fails is an outcome that could not be started, saying why.
fn run(
    rec: &RestoreRecord,
    l: &ComponentLifecycle,
    step: Step,
    timeout: Duration,
    remote: &dyn RemoteRestores,
) -> Outcome {
    let command = l.settings.command(step).to_string();
    if l.agent.is_some() {
        let req = LifecycleRequest {
            step,
            command: command.clone(),
            timeout_seconds: timeout.as_secs().clamp(1, MAX_START_TIMEOUT),
            backup_id: rec.backup_id.clone(),
        };
        return match remote.lifecycle(rec, &l.component, &req) {
            Ok(a) => a.outcome,
            Err(e) => Outcome {
                command,
                exit_code: None,
                signal: None,
                timed_out: false,
                stopped: false,
                start_error: Some(format!(
                    "on agent {}: {e}",
                    l.agent.as_deref().unwrap_or_default()
                )),
                output: String::new(),
                duration_ms: 0,
            },
        };
    }
    command::run(&command::Run {
        command,
        env: command_env(&l.component, &l.home, &rec.id, &rec.backup_id),
        cwd: Some(PathBuf::from(&l.home)),
        timeout,
    })
}

/// The variables a lifecycle command gets (here and on an agent).
pub fn command_env(
    component: &str,
    home: &str,
    restore_id: &str,
    backup_id: &str,
) -> Vec<(String, String)> {
    vec![
        ("COMPONENT".into(), component.to_string()),
        ("COMPONENT_HOME".into(), home.to_string()),
        ("RESTORE_ID".into(), restore_id.to_string()),
        ("BACKUP_ID".into(), backup_id.to_string()),
    ]
}

fn entries(journal: &dyn Journal<RestoreRecord>) -> Vec<ComponentLifecycle> {
    journal.snapshot().lifecycle
}

/// Records `f` on component `name`'s entry, with a step.
fn note(
    journal: &dyn Journal<RestoreRecord>,
    name: &str,
    action: StepAction,
    detail: Option<String>,
    f: &mut dyn FnMut(&mut ComponentLifecycle),
) -> Result<(), crate::toolkit::journal::JournalError> {
    journal.update(&mut |r| {
        if let Some(l) = r.lifecycle_mut(name) {
            f(l);
        }
        r.step(action, Some(name), None, None, detail.clone());
    })
}

/// Stops every component with a stop command, in reverse order, each recorded `stopping`
/// before its command runs. The first that fails (or cannot be recorded) ends it: that error,
/// the components stopped so far left `stopped` (the rollback starts them again).
pub fn stop_all(
    journal: &dyn Journal<RestoreRecord>,
    remote: &dyn RemoteRestores,
) -> Result<(), ApplyError> {
    for l in entries(journal).iter().rev().filter(|l| l.settings.stops()) {
        stop_one(journal, l, remote)?;
    }
    Ok(())
}

fn stop_one(
    journal: &dyn Journal<RestoreRecord>,
    l: &ComponentLifecycle,
    remote: &dyn RemoteRestores,
) -> Result<(), ApplyError> {
    let name = l.component.clone();
    note(journal, &name, StepAction::Stopping, None, &mut |e| {
        e.state = L::Stopping
    })
    .map_err(|source| ApplyError::RecordStart {
        name: name.clone(),
        source,
    })?;
    let rec = journal.snapshot();
    let out = run(&rec, l, Step::Stop, l.settings.timeout(), remote);
    let ok = out.succeeded();
    let line = format!("{name}: stop_command {}", out.describe());
    let saved = note(
        journal,
        &name,
        StepAction::Stopped,
        Some(out.describe()),
        &mut |e| {
            e.stop = Some(out.clone());
            if ok {
                e.state = L::Stopped;
                e.stopped_at = Some(Utc::now());
            } else {
                e.state = L::StopFailed;
                e.errors.push(line.clone());
            }
        },
    );
    if !ok {
        return Err(ApplyError::Lifecycle(format!(
            "{line}; the restore was aborted before any change"
        )));
    }
    saved.map_err(|source| ApplyError::RecordEnd { name, source })
}

/// Starts every component with a start command (config order) and waits for each one with a
/// health command to become healthy. Returns the names of those that did not.
pub fn start_and_prove(
    journal: &dyn Journal<RestoreRecord>,
    remote: &dyn RemoteRestores,
) -> Vec<String> {
    let mut unhealthy = Vec::new();
    for l in entries(journal) {
        if !(l.settings.starts() || l.settings.checks_health()) {
            continue;
        }
        if !start_one(journal, &l, false, remote) {
            unhealthy.push(l.component.clone());
        }
    }
    unhealthy
}

/// Starts component `l` (when it has a start command) and waits for its health; `again`: a
/// start after a rollback. True when it is healthy (or has no health command and started).
fn start_one(
    journal: &dyn Journal<RestoreRecord>,
    l: &ComponentLifecycle,
    again: bool,
    remote: &dyn RemoteRestores,
) -> bool {
    let name = l.component.clone();
    let t0 = Instant::now();
    let deadline = t0 + l.settings.timeout();
    if l.settings.starts() {
        // Recorded before it runs: a crash from here on finds it running on the restored data
        // (after a rollback it stays `stopped`: a restart starts it again).
        journal.update_or_log("a component's start", &mut |r| {
            if let Some(e) = r.lifecycle_mut(&name) {
                if !again {
                    e.state = L::Starting;
                }
                e.restarted |= again;
                e.health_attempts = 0;
                e.healthy_at = None;
            }
        });
        let rec = journal.snapshot();
        let out = run(&rec, l, Step::Start, l.settings.timeout(), remote);
        let ok = out.succeeded();
        let line = format!("{name}: start_command {}", out.describe());
        journal.update_or_log("a component's start", &mut |r| {
            if let Some(e) = r.lifecycle_mut(&name) {
                e.start = Some(out.clone());
                if ok {
                    e.state = L::Started;
                    e.started_at = Some(Utc::now());
                } else {
                    e.state = L::Unhealthy;
                    e.errors.push(line.clone());
                }
            }
            r.step(
                StepAction::Started,
                Some(&name),
                None,
                None,
                Some(out.describe()),
            );
        });
        if !ok {
            return false;
        }
    } else if again {
        return true;
    }
    if !l.settings.checks_health() {
        return true;
    }
    let mut attempts = 0u32;
    let (healthy, last) = loop {
        attempts += 1;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(MIN_ATTEMPT);
        let rec = journal.snapshot();
        let out = run(&rec, l, Step::Health, left, remote);
        if out.succeeded() {
            break (true, out);
        }
        if Instant::now() + HEALTH_RETRY >= deadline {
            break (false, out);
        }
        std::thread::sleep(HEALTH_RETRY);
    };
    let secs = l.settings.start_timeout_seconds;
    let line = format!(
        "{name}: did not become healthy within {secs} s ({} attempts of its health_command; the \
         last {})",
        attempts,
        last.describe()
    );
    let action = if healthy {
        StepAction::Healthy
    } else {
        StepAction::Unhealthy
    };
    let detail = format!("{} attempt(s); the last {}", attempts, last.describe());
    journal.update_or_log("a component's health", &mut |r| {
        if let Some(e) = r.lifecycle_mut(&name) {
            e.health = Some(last.clone());
            e.health_attempts = attempts;
            if healthy {
                e.state = L::Healthy;
                e.healthy_at = Some(Utc::now());
            } else {
                e.state = L::Unhealthy;
                e.errors.push(line.clone());
            }
        }
        r.step(action, Some(&name), None, None, Some(detail.clone()));
    });
    healthy
}

/// Before a rollback: stops again (reverse order) every component this restore started on
/// the restored data. One without a stop command, or whose stop fails, is noted; the rollback
/// goes on.
pub fn stop_started(journal: &dyn Journal<RestoreRecord>, remote: &dyn RemoteRestores) {
    for l in entries(journal)
        .iter()
        .rev()
        .filter(|l| l.runs_restored_data())
    {
        if !l.settings.stops() {
            let line = format!(
                "{}: it runs on the restored data and has no stop_command: it is put back while \
                 it runs",
                l.component
            );
            journal.update_or_log("a note", &mut |r| r.notes.push(line.clone()));
            continue;
        }
        if let Err(e) = stop_one(journal, l, remote) {
            let line = format!("{e}; it is put back while it may still run");
            journal.update_or_log("a stop before the rollback", &mut |r| {
                r.notes.push(line.clone())
            });
        }
    }
}

/// After a rollback (or a commit): starts again, in config order, every component this restore
/// stopped and did not start since, and waits for its health. Returns those that did not
/// become healthy.
pub fn start_down(
    journal: &dyn Journal<RestoreRecord>,
    remote: &dyn RemoteRestores,
) -> Vec<String> {
    let mut unhealthy = Vec::new();
    for l in entries(journal).iter().filter(|l| l.is_down()) {
        if !l.settings.starts() {
            let line = format!(
                "{}: it was stopped and has no start_command: start it by hand",
                l.component
            );
            journal.update_or_log("a note", &mut |r| r.notes.push(line.clone()));
            continue;
        }
        if !start_one(journal, l, true, remote) {
            unhealthy.push(l.component.clone());
        }
    }
    if !unhealthy.is_empty() {
        let line = format!(
            "started again after the rollback, {} did not become healthy: see lifecycle",
            unhealthy.join(", ")
        );
        journal.update_or_log("a note", &mut |r| r.notes.push(line.clone()));
    }
    unhealthy
}

/// The components with `rollback_on_unhealthy` among `names`.
pub fn wants_rollback(rec: &RestoreRecord, names: &[String]) -> bool {
    rec.lifecycle
        .iter()
        .any(|l| names.contains(&l.component) && l.settings.rollback_on_unhealthy)
}

/// The message of a restore `rec` that ends `unhealthy`.
pub fn unhealthy_message(names: &[String], rolled_back: bool) -> String {
    if rolled_back {
        format!(
            "unhealthy: {} did not become healthy after the restore; rollback_on_unhealthy put \
             every component back as it was and started it again",
            names.join(", ")
        )
    } else {
        format!(
            "unhealthy: {} did not become healthy after the restore; the restored data is in \
             place and the restore can be undone",
            names.join(", ")
        )
    }
}
