//! One component's drill: plan, apply into the scratch home, check, probe (see the module doc
//! of [`crate::drill`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{SubsecRound, Utc};

use super::check::check_restored;
use super::record::{ComponentDrill, ComponentDrillStatus as C};
use crate::engine::faults::Faults;
use crate::engine::ComponentSpec;
use crate::restore::apply::{apply_component, Journal};
use crate::restore::plan::{plan_component, safety_folder, PlanInput, PlanIssue};
use crate::restore::record::{FolderOrigin, RestoreRecord, RestoreStatus};
use crate::toolkit::command;
use crate::toolkit::journal::JournalError;

/// How long a probe may run before its process group is killed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What one component's drill needs.
pub struct ComponentInput<'a> {
    pub drill_id: &'a str,
    pub backup_id: &'a str,
    /// The component as configured (its real home is never touched).
    pub spec: &'a ComponentSpec,
    /// The set's folder to restore from, and how it was found.
    pub folder: &'a Path,
    pub origin: FolderOrigin,
    pub slot: Option<String>,
    /// `<drill_root>/<ID>/<component>`, not yet made.
    pub scratch_home: PathBuf,
    pub probe_command: Option<String>,
    /// Why the probe may not run here (an agent whose config does not let the master run
    /// commands for the component): the probe step then fails with this, after the restore
    /// and its check ran.
    pub probe_refused: Option<String>,
    /// The drill's start, for the RTO.
    pub started: Instant,
    pub faults: &'a Faults,
    pub state_dir: &'a Path,
    /// Set when an operator cancels the drill: the probe is then not started, or stopped.
    pub cancelled: &'a AtomicBool,
}

/// Where a component's drill reports each change (and each probe output line).
pub trait Progress {
    fn component(&self, c: &ComponentDrill);
    fn probe_line(&self, component: &str, line: &str);
}

/// The restore record a drill's apply works on: in memory only (a drill is no restore).
struct MemJournal(Mutex<RestoreRecord>);

impl Journal<RestoreRecord> for MemJournal {
    fn update(&self, f: &mut dyn FnMut(&mut RestoreRecord)) -> Result<(), JournalError> {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(())
    }

    fn snapshot(&self) -> RestoreRecord {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn fail(c: &mut ComponentDrill, p: &dyn Progress, error: String) {
    c.errors.push(error);
    c.status = C::Failed;
    c.finished_at = Some(now());
    p.component(c);
}

/// Drills one component (see the module doc). Never panics on bad data: every problem ends
/// up in the result.
pub fn drill_component(input: &ComponentInput<'_>, progress: &dyn Progress) -> ComponentDrill {
    let mut c = ComponentDrill::new(&input.spec.name);
    c.source_folder = Some(input.folder.display().to_string());
    c.scratch_home = Some(input.scratch_home.display().to_string());
    c.started_at = Some(now());
    c.status = C::Restoring;
    progress.component(&c);

    if let Err(e) = std::fs::create_dir(&input.scratch_home) {
        fail(
            &mut c,
            progress,
            format!("creating {}: {e}", input.scratch_home.display()),
        );
        return c;
    }
    let mut spec = input.spec.clone();
    spec.home = input.scratch_home.clone();
    spec.read_point = None;
    let plan = match plan_component(&PlanInput {
        restore_id: input.drill_id,
        spec: &spec,
        folder: input.folder,
        origin: input.origin,
        slot: input.slot.clone(),
    }) {
        Ok(p) => p,
        Err(issues) => {
            for i in issues {
                let (PlanIssue::Folder(m) | PlanIssue::Home(m)) = i;
                c.errors.push(format!("plan: {m}"));
            }
            fail(&mut c, progress, "the restore could not be planned".into());
            return c;
        }
    };
    let mut rec = RestoreRecord::blank(
        input.drill_id,
        input.backup_id,
        RestoreStatus::Running,
        now(),
    );
    rec.components = vec![plan.clone()];
    let journal = MemJournal(Mutex::new(rec));
    let applied = apply_component(&journal, input.faults, 0);
    if let Some(done) = journal.snapshot().components.first() {
        c.files = done.files;
        c.bytes = done.bytes;
    }
    // The safety folder of the apply holds nothing (the scratch home was empty): not part of
    // the restored copy. `remove_dir` removes only an empty folder.
    let safety = safety_folder(&input.scratch_home, input.drill_id);
    if let Err(e) = std::fs::remove_dir(&safety) {
        if e.kind() != std::io::ErrorKind::NotFound {
            c.errors.push(format!("{}: {e}", safety.display()));
        }
    }
    if let Err(e) = &applied {
        c.errors.push(format!("restore: {e}"));
    }
    input.faults.step("drill_restored", input.state_dir);

    c.status = C::Verifying;
    progress.component(&c);
    let checked = check_restored(&plan);
    c.files_checked = checked.files;
    c.mismatched = checked.mismatched;
    c.missing = checked.missing;
    c.errors.extend(checked.errors);
    if applied.is_err() || !c.mismatched.is_empty() || !c.missing.is_empty() || !c.errors.is_empty()
    {
        c.status = C::Failed;
        c.finished_at = Some(now());
        progress.component(&c);
        return c;
    }

    if input.cancelled.load(Ordering::SeqCst) {
        fail(&mut c, progress, "cancelled before its probe".into());
        return c;
    }
    if let (Some(_), Some(why)) = (&input.probe_command, &input.probe_refused) {
        fail(&mut c, progress, format!("probe: {why}"));
        return c;
    }
    if let Some(cmd) = &input.probe_command {
        c.status = C::Probing;
        progress.component(&c);
        let outcome = command::run_watched(
            &command::Run {
                command: cmd.clone(),
                env: vec![
                    (
                        "DRILL_HOME".into(),
                        input.scratch_home.display().to_string(),
                    ),
                    (
                        "COMPONENT_HOME".into(),
                        input.scratch_home.display().to_string(),
                    ),
                    ("BACKUP_ID".into(), input.backup_id.to_string()),
                    ("COMPONENT".into(), input.spec.name.clone()),
                ],
                cwd: Some(input.scratch_home.clone()),
                timeout: PROBE_TIMEOUT,
            },
            &mut |line| progress.probe_line(&c.name, line),
            input.cancelled,
        );
        let ok = outcome.succeeded();
        if !ok {
            c.errors.push(format!("probe: {}", outcome.describe()));
        }
        c.probe = Some(outcome);
        if !ok {
            c.status = C::Failed;
            c.finished_at = Some(now());
            progress.component(&c);
            return c;
        }
    }
    c.rto_seconds = Some(seconds(input.started.elapsed()));
    c.status = C::Passed;
    c.finished_at = Some(now());
    progress.component(&c);
    c
}

/// A duration in seconds, to the millisecond.
pub fn seconds(d: Duration) -> f64 {
    (d.as_millis() as f64) / 1000.0
}
