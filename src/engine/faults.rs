//! Fault injection for tests: named points read once from `BACKUP_MASTER_FAULTS` when the
//! engine opens (the list of names is documented in `crate::jobs`). Production runs never set
//! the variable; an unknown name is an error so a typo cannot make a test pass silently.

use std::collections::HashSet;
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
    /// `restore_plant_safety:<component>`: right before that component's safety folder is
    /// created, "something else" creates a folder of that name, holding at the place of each
    /// path about to be moved aside an entry of the same kind (a file, or a folder with one
    /// file, named and filled [`PLANTED`]): the window between the plan check and the apply.
    pub restore_plant_safety: HashSet<String>,
    /// `restore_fsync_fail:<component>`: every folder fsync of that component's move-aside and
    /// put-back fails with EIO (a failed fsync is an error of the step, never ignored).
    pub restore_fsync_fail: HashSet<String>,
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
    }
}
