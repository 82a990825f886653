//! Fault injection for tests: named points read once from `BACKUP_MASTER_FAULTS` when the
//! engine opens (the list of names is documented in `crate::jobs`). Production runs never set
//! the variable; an unknown name is an error so a typo cannot make a test pass silently.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Environment variable holding the comma-separated fault list.
pub const FAULTS_ENV: &str = "BACKUP_MASTER_FAULTS";

#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// `prepare:<component>`: that component's prepare fails with an injected error.
    pub prepare_fail: HashSet<String>,
    /// `enospc:<component>`: writing that component's first copied file fails with ENOSPC.
    pub enospc: HashSet<String>,
    /// `panic:<component>`: that component's prepare panics (tests the panic boundary).
    pub panic: HashSet<String>,
    /// `slow_copy_ms:<n>`: sleep n ms before each file (a window for crash and cancel tests).
    pub slow_copy: Option<Duration>,
    /// `skip_change_check`: a backup's copy does not compare a file's status before and after
    /// its copy (the benchmark's baseline for the cost of that check).
    pub skip_change_check: bool,
    /// `abort_after_decision`: `std::process::abort()` right after the commit decision is durable.
    pub abort_after_decision: bool,
    /// `abort_mid_rotation:<component>`: abort the process during that component's rotation,
    /// after the older slots were shifted and before the staging folder became `backup`.
    pub abort_mid_rotation: HashSet<String>,
    /// `restore_fail_after:<component>`: a restore fails with an injected error right after that
    /// component's items were copied in (before the next component), so it is rolled back.
    pub restore_fail_after: HashSet<String>,
    /// `restore_slow_ms:<n>`: a restore sleeps n ms before each file it copies (a window for
    /// crash tests).
    pub restore_slow: Option<Duration>,
    /// `restore_abort_in_rollback:<component>`: `std::process::abort()` while rolling that
    /// component back, after its first item was put back (tests that rollback is idempotent).
    pub restore_abort_in_rollback: HashSet<String>,
    /// `fail_save_once:<save>`: the first job-record save of that kind fails (like a full or
    /// read-only disk), once per process. Kinds: [`SAVES`].
    pub fail_save_once: Armed,
    /// `abort_at:<step>`: `std::process::abort()` when the job reaches that step. Steps: [`STEPS`].
    pub abort_at: HashSet<String>,
    /// `panic_at:<step>`: the job panics at that step (tests its panic boundary). Steps: [`STEPS`].
    pub panic_at: HashSet<String>,
    /// `pause_at:<step>`: the job waits at that step: it creates `<state_dir>/fault-paused-<step>`
    /// and goes on once `<state_dir>/fault-resume-<step>` exists (a test changes the world
    /// meanwhile: a read-only folder, an agent's token). Steps: [`STEPS`].
    pub pause_at: HashSet<String>,
    /// `restore_plant_safety:<component>`: right before that component's safety folder is
    /// created, "something else" creates a folder of that name, holding at the place of each
    /// path about to be moved aside an entry of the same kind (a file, or a folder with one
    /// file, named and filled [`PLANTED`]): the window between the plan check and the apply.
    pub restore_plant_safety: HashSet<String>,
    /// `restore_fsync_fail:<component>`: every folder fsync of that component's move-aside and
    /// put-back fails with EIO (a failed fsync is an error of the step, never ignored).
    pub restore_fsync_fail: HashSet<String>,
}

/// Record saves `fail_save_once` can fail: the backup's commit decision and its final record,
/// the restore's commit decision and its final record.
pub const SAVES: [&str; 4] = [
    "backup_decision",
    "backup_final",
    "restore_decision",
    "restore_final",
];

/// Named steps for `abort_at` and `pause_at`:
/// * `backup_prepared`: every component of a backup prepared, the commit not decided yet (a
///   pause also stops the backup's renewals of its agents: a hung master);
/// * `backup_committing`: a backup's commit decision is durable, no component committed yet;
/// * `backup_first_commit`: the first component of a decided backup committed (acknowledged
///   and recorded), the others not yet;
/// * `backup_abort`: a backup has aborted its first component, not yet the others (also when
///   a refused commit abandoned a decided backup);
/// * `backup_finish`: a backup is about to write its final record;
/// * `hook_spawned`: an after-backup hook process was started, its process ID not yet recorded;
/// * `restore_applied`: every component of a restore applied, the commit not decided yet;
/// * `restore_decided`: a restore's commit decision was just saved;
/// * `restore_first_commit`: the first remote component of a decided restore committed
///   (acknowledged and recorded), the others not yet;
/// * `restore_retired`: an agent has renamed a discarded safety copy (a restore's kept safety
///   folder) to the retired name and not yet deleted it;
/// * `drill_restored`: a drill restored a component into its scratch home, not yet checked.
pub const STEPS: [&str; 11] = [
    "backup_prepared",
    "backup_committing",
    "backup_first_commit",
    "backup_abort",
    "backup_finish",
    "hook_spawned",
    "restore_applied",
    "restore_decided",
    "restore_first_commit",
    "restore_retired",
    "drill_restored",
];

/// A set of one-shot faults shared by every clone of [`Faults`]: each fires once.
#[derive(Clone, Debug, Default)]
pub struct Armed(Arc<Mutex<HashSet<String>>>);

impl Armed {
    fn arm(&self, name: String) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name);
    }

    /// True (once) when `name` is armed; disarms it.
    pub fn fire(&self, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(name)
    }
}

/// Name and content of what `restore_plant_safety` plants.
pub const PLANTED: &str = "planted-by-a-fault";

#[derive(Debug, thiserror::Error)]
#[error("{FAULTS_ENV}: {0}")]
pub struct FaultsError(String);

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads `BACKUP_MASTER_FAULTS` (unset or empty: no faults).
    pub fn from_env() -> Result<Self, FaultsError> {
        match std::env::var(FAULTS_ENV) {
            Ok(s) => Self::parse(&s),
            Err(_) => Ok(Self::none()),
        }
    }

    /// Parses a comma-separated fault list such as `prepare:hub,slow_copy_ms:50`.
    pub fn parse(spec: &str) -> Result<Self, FaultsError> {
        let mut f = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, arg) = match item.split_once(':') {
                Some((n, a)) => (n, Some(a.to_string())),
                None => (item, None),
            };
            let need_arg = || {
                arg.clone()
                    .ok_or_else(|| FaultsError(format!("{name} needs :<arg>")))
            };
            match name {
                "prepare" => {
                    f.prepare_fail.insert(need_arg()?);
                }
                "enospc" => {
                    f.enospc.insert(need_arg()?);
                }
                "panic" => {
                    f.panic.insert(need_arg()?);
                }
                "slow_copy_ms" => {
                    let ms: u64 = need_arg()?
                        .parse()
                        .map_err(|_| FaultsError(format!("{item}: not a number")))?;
                    f.slow_copy = Some(Duration::from_millis(ms));
                }
                "abort_after_decision" => f.abort_after_decision = true,
                "skip_change_check" => f.skip_change_check = true,
                "abort_mid_rotation" => {
                    f.abort_mid_rotation.insert(need_arg()?);
                }
                "restore_fail_after" => {
                    f.restore_fail_after.insert(need_arg()?);
                }
                "restore_slow_ms" => {
                    let ms: u64 = need_arg()?
                        .parse()
                        .map_err(|_| FaultsError(format!("{item}: not a number")))?;
                    f.restore_slow = Some(Duration::from_millis(ms));
                }
                "restore_abort_in_rollback" => {
                    f.restore_abort_in_rollback.insert(need_arg()?);
                }
                "fail_save_once" => f.fail_save_once.arm(known(&SAVES, need_arg()?)?),
                "abort_at" => {
                    f.abort_at.insert(known(&STEPS, need_arg()?)?);
                }
                "pause_at" => {
                    f.pause_at.insert(known(&STEPS, need_arg()?)?);
                }
                "panic_at" => {
                    f.panic_at.insert(known(&STEPS, need_arg()?)?);
                }
                "restore_plant_safety" => {
                    f.restore_plant_safety.insert(need_arg()?);
                }
                "restore_fsync_fail" => {
                    f.restore_fsync_fail.insert(need_arg()?);
                }
                _ => return Err(FaultsError(format!("unknown fault {name:?}"))),
            }
        }
        Ok(f)
    }

    /// The first save of kind `save` (one of [`SAVES`]) fails: returns the injected error once.
    pub fn save_error(&self, save: &str) -> Option<std::io::Error> {
        self.fail_save_once.fire(save).then(|| {
            std::io::Error::other(format!(
                "injected fault fail_save_once:{save} (as on a full or read-only disk)"
            ))
        })
    }

    /// A job reached `step` (one of [`STEPS`]): aborts the process for `abort_at:<step>`,
    /// panics for `panic_at:<step>`, waits for the test for `pause_at:<step>` (see the field
    /// docs). Blocks the calling thread.
    pub fn step(&self, step: &str, state_dir: &Path) {
        if self.abort_at.contains(step) {
            tracing::error!("injected fault abort_at:{step}: aborting the process");
            std::process::abort();
        }
        if self.panic_at.contains(step) {
            panic!("injected fault panic_at:{step}");
        }
        if self.pause_at.contains(step) {
            let paused = pause_file(state_dir, "paused", step);
            let resume = pause_file(state_dir, "resume", step);
            if let Err(e) = std::fs::write(&paused, b"") {
                tracing::error!(error = %e, "injected fault pause_at:{step}: cannot write {}", paused.display());
            }
            tracing::warn!(
                "injected fault pause_at:{step}: waiting for {}",
                resume.display()
            );
            while !resume.exists() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// `<state_dir>/fault-<what>-<step>`: the files of `pause_at`.
pub fn pause_file(state_dir: &Path, what: &str, step: &str) -> PathBuf {
    state_dir.join(format!("fault-{what}-{step}"))
}

fn known(list: &[&str], name: String) -> Result<String, FaultsError> {
    if list.contains(&name.as_str()) {
        Ok(name)
    } else {
        Err(FaultsError(format!(
            "unknown point {name:?}; known: {}",
            list.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_list() {
        let f = Faults::parse("prepare:hub, slow_copy_ms:20,abort_after_decision,abort_mid_rotation:lui,enospc:trk,panic:x").unwrap();
        assert!(f.prepare_fail.contains("hub"));
        assert_eq!(f.slow_copy, Some(Duration::from_millis(20)));
        assert!(f.abort_after_decision);
        assert!(f.abort_mid_rotation.contains("lui"));
        assert!(f.enospc.contains("trk"));
        assert!(f.panic.contains("x"));
        assert!(Faults::parse("").unwrap().prepare_fail.is_empty());
        let r = Faults::parse(
            "restore_fail_after:lui,restore_slow_ms:7,restore_abort_in_rollback:hub,restore_plant_safety:trk,restore_fsync_fail:app",
        )
        .unwrap();
        assert!(r.restore_plant_safety.contains("trk"));
        assert!(r.restore_fsync_fail.contains("app"));
        assert!(Faults::parse("restore_plant_safety").is_err());
        assert!(r.restore_fail_after.contains("lui"));
        assert_eq!(r.restore_slow, Some(Duration::from_millis(7)));
        assert!(r.restore_abort_in_rollback.contains("hub"));
        assert!(Faults::parse("restore_slow_ms:x").is_err());
        assert!(Faults::parse("bogus").is_err());
        assert!(Faults::parse("prepare").is_err());
        assert!(Faults::parse("slow_copy_ms:x").is_err());
        let f = Faults::parse(
            "fail_save_once:backup_final,abort_at:hook_spawned,pause_at:backup_finish",
        )
        .unwrap();
        let copy = f.clone();
        assert!(copy.save_error("backup_decision").is_none());
        assert!(copy.save_error("backup_final").is_some());
        assert!(
            f.save_error("backup_final").is_none(),
            "once, shared by clones"
        );
        assert!(f.abort_at.contains("hook_spawned"));
        assert!(f.pause_at.contains("backup_finish"));
        assert!(Faults::parse("fail_save_once:bogus").is_err());
        assert!(Faults::parse("abort_at:nowhere").is_err());
    }
}
