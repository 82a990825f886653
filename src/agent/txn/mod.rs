//! The agent's side of the two-phase commit: one transaction per (component, backup ID).
//!
//! ```text
//! preparing ─► prepared ◄──► in_doubt     (alarm: no word from the master for a while)
//!     │            │  └──────────┴─► committed            (commit from the master or an operator)
//!     │            └─────────────┴─► aborted              (abort from the master or an operator)
//!     ├─► failed | cancelled                    (the copy failed / an abort stopped it)
//!     └─► interrupted                           (the agent restarted while preparing)
//! ```
//!
//! Each transaction is a file `<state_dir>/transactions/<component>/<id>.json`, written
//! atomically at every state change, so an agent that restarts knows which staging folders are
//! prepared (kept, waiting for the decision) and which were half-written (removed, the
//! transaction `interrupted`). A state is on disk before anyone sees it (the master acts on
//! `prepared`); a write that fails leaves the transaction as it was, and the call fails (the
//! master repeats it). Every change of state, the end of a prepare included, is made under the
//! decision lock, so an abort has the last word over a prepare still copying. The operations
//! run to their end even when the master stops waiting. The copy, rotation and removal are
//! [`LocalStore`]'s.
//!
//! **No one-sided outcome.** A prepared transaction voted yes: it is committed or aborted only
//! by the master (which holds the durable decision) or by an operator on this machine
//! (`backup-master agent resolve`, a heuristic outcome recorded as such), never by the agent
//! alone. `decision_timeout_seconds` is an alarm: a prepared transaction that hears nothing
//! from the master for that long (a monotonic clock from the master's last message about it:
//! prepare, renew, commit, abort; restarted when the agent starts) becomes `in_doubt`, keeps
//! its staging folder and is listed in the agent's status (`transactions`); a message from the
//! master ends the alarm. The master renews prepared transactions while it works on the rest
//! of the set, and resolves open ones it no longer drives from its records (presumed abort).
//!
//! **A restore waiting.** A prepare of a maestro-lui component whose `lui.ini` still has the
//! `RestoreFromBackup=` line of a restore is refused (409): the component has not started since
//! the restore, and the backup would rotate that folder away.
//!
//! **One job per component** ([`super::claims`]): a prepare is refused with 409 naming the
//! holder while another backup of the component is open (preparing, prepared or in doubt) or
//! a restore of it is applied or in doubt.
//!
//! **Keeping the oldest set.** The master commits with `keep` one higher than configured and,
//! once every component committed, commits again with the configured `keep`: a commit of a
//! committed backup with a smaller `keep` drops the slots above it. So the oldest set stays
//! complete until the new one is complete everywhere.
//!
//! Commit and abort are idempotent by ID. A commit or abort of an ID the agent has no record
//! of (its state folder was lost) is still carried out with the settings sent by the master:
//! the rotation itself is idempotent and refuses when there is no staging folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use super::claims::Claims;
use super::config::{AgentComponentConfig, AgentConfig};
use crate::engine::faults::Faults;
use crate::engine::{CancelToken, ComponentSpec};
use crate::error::{ApiError, ProblemKind};
use crate::store::wire::{
    AgentComponent, AgentInfo, OpenState, OpenTransaction, TxnKind, TxnState, TxnView,
};
use crate::store::{ComponentStore, LocalStore};

mod decide;
mod prepare;
mod spec;

/// Environment variable with agent-only faults (tests): `abort_on_commit` makes the agent
/// process abort when a commit arrives, before it does anything (a crash after the master's
/// decision). The engine's `BACKUP_MASTER_FAULTS` (e.g. `slow_copy_ms:<n>`) apply too.
pub const AGENT_FAULTS_ENV: &str = "BACKUP_MASTER_AGENT_FAULTS";

/// A transaction as kept on disk: the view plus the settings needed to finish it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TxnFile {
    view: TxnView,
    backup_folder: PathBuf,
    keep: u32,
    items: Vec<String>,
}

impl TxnFile {
    /// A new record of backup `id` of component `name` in `state`, started and last heard now.
    fn new(
        name: &str,
        id: &str,
        spec: &ComponentSpec,
        state: TxnState,
        decision_timeout: Duration,
    ) -> TxnFile {
        let at = now();
        TxnFile {
            view: TxnView {
                component: name.to_string(),
                backup_id: id.to_string(),
                state,
                backup_path: spec.backup_folder.display().to_string(),
                progress: Default::default(),
                outcome: None,
                started_at: at,
                prepared_at: None,
                decided_at: None,
                detail: None,
                participation: crate::store::Participation {
                    last_message_at: Some(at),
                    ..Default::default()
                },
                decision_timeout_seconds: decision_timeout.as_secs(),
            },
            backup_folder: spec.backup_folder.clone(),
            keep: spec.keep,
            items: spec.items.clone(),
        }
    }
}

struct Entry {
    file: TxnFile,
    cancel: CancelToken,
    /// The master's last message about it, on the monotonic clock: the alarm counts from here.
    heard: Instant,
}

impl Entry {
    fn new(file: TxnFile, cancel: CancelToken) -> Entry {
        Entry {
            file,
            cancel,
            heard: Instant::now(),
        }
    }
}

struct Inner {
    state_dir: PathBuf,
    components: Vec<AgentComponentConfig>,
    allowed_roots: Option<Vec<PathBuf>>,
    decision_timeout: Duration,
    store: LocalStore,
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// Serialises commit/abort/prepare decisions (quick file work; never held across a copy).
    decide: tokio::sync::Mutex<()>,
    abort_on_commit: bool,
    /// Which backup or restore holds each component (shared with the restores).
    claims: Arc<Claims>,
    /// Freezes and snapshots held for the master's backups.
    freezes: crate::agent::freeze::Freezes,
}

/// The agent's transactions. Cheap to clone.
#[derive(Clone)]
pub struct Txns {
    inner: Arc<Inner>,
}

impl Txns {
    /// The freezes and snapshots this agent holds for the master's backups.
    pub fn freezes(&self) -> &crate::agent::freeze::Freezes {
        &self.inner.freezes
    }

    /// The agent's state folder.
    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn conflict(msg: String) -> ApiError {
    ApiError::conflict(msg)
}

/// A step was done but its record could not be written: the master retries (the steps are
/// idempotent), and this agent shows the transaction as it was until the record is written.
fn unrecorded(step: &str) -> ApiError {
    ApiError::new(
        ProblemKind::Unavailable,
        format!("the {step} could not be recorded on this agent (see its log); retry"),
    )
}

impl Txns {
    /// Loads the transaction records, finishes those a restart interrupted, and returns the
    /// manager. Must run inside a tokio runtime (it aborts interrupted prepares).
    pub async fn open(cfg: &AgentConfig) -> Result<Txns, String> {
        let faults = Faults::from_env().map_err(|e| e.to_string())?;
        let agent_faults = std::env::var(AGENT_FAULTS_ENV).unwrap_or_default();
        let mut abort_on_commit = false;
        for f in agent_faults
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match f {
                "abort_on_commit" => abort_on_commit = true,
                other => return Err(format!("{AGENT_FAULTS_ENV}: unknown fault {other:?}")),
            }
        }
        let dir = cfg.state_dir.join("transactions");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let store = LocalStore::new(Arc::new(faults));
        let freezes = crate::agent::freeze::Freezes::open(cfg, store.clone()).await?;
        let txns = Txns {
            inner: Arc::new(Inner {
                state_dir: cfg.state_dir.clone(),
                components: cfg.components.clone(),
                allowed_roots: cfg.allowed_roots.clone(),
                decision_timeout: Duration::from_secs(cfg.decision_timeout_seconds),
                freezes,
                store,
                entries: Mutex::new(HashMap::new()),
                decide: tokio::sync::Mutex::new(()),
                abort_on_commit,
                claims: Arc::new(Claims::default()),
            }),
        };
        let loaded = load_all(&dir);
        for mut file in loaded {
            file.view.decision_timeout_seconds = cfg.decision_timeout_seconds;
            let key = (file.view.component.clone(), file.view.backup_id.clone());
            if !file.view.state.is_final() {
                // Still open: it holds its component (several open ones come only from
                // records of earlier versions; the first keeps the claim).
                let _ = txns.inner.claims.claim(&key.0, TxnKind::Backup, &key.1);
            }
            lock(&txns.inner.entries).insert(key, Entry::new(file, CancelToken::new()));
        }
        // A prepare the agent died in: its staging folder is incomplete.
        let interrupted: Vec<(String, String)> = lock(&txns.inner.entries)
            .iter()
            .filter(|(_, e)| e.file.view.state == TxnState::Preparing)
            .map(|(k, _)| k.clone())
            .collect();
        for (c, id) in interrupted {
            tracing::warn!(component = %c, backup = %id, "the agent stopped while preparing; removing the staging folder");
            let msg = "the agent stopped while this backup was being prepared".to_string();
            if let Some(spec) = txns.spec_of_entry(&c, &id) {
                if let Err(e) = txns
                    .inner
                    .store
                    .abort(&id, &spec, std::slice::from_ref(&msg))
                    .await
                {
                    tracing::error!(error = %e, "removing an interrupted staging folder");
                }
            }
            txns.set_state(&c, &id, TxnState::Interrupted, Some(msg));
        }
        Ok(txns)
    }

    /// Who this agent is.
    pub fn info(&self) -> AgentInfo {
        AgentInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            decision_timeout_seconds: self.inner.decision_timeout.as_secs(),
            components: self
                .inner
                .components
                .iter()
                .map(|c| AgentComponent {
                    name: c.name.clone(),
                    profile: c.profile,
                    home: c.home.display().to_string(),
                })
                .collect(),
            transactions: self.open_transactions(),
        }
    }

    /// The claims of this agent's components (shared with its restores).
    pub fn claims(&self) -> Arc<Claims> {
        self.inner.claims.clone()
    }

    /// The backups not final here (preparing, prepared, in doubt), by component and ID.
    pub fn open_transactions(&self) -> Vec<OpenTransaction> {
        let mut out: Vec<OpenTransaction> = lock(&self.inner.entries)
            .values()
            .filter(|e| !e.file.view.state.is_final())
            .map(|e| open_view(&e.file))
            .collect();
        out.sort_by(|a, b| (&a.component, &a.id).cmp(&(&b.component, &b.id)));
        out
    }

    fn path_of(&self, name: &str, id: &str) -> PathBuf {
        self.inner
            .state_dir
            .join("transactions")
            .join(name)
            .join(format!("{id}.json"))
    }

    /// Writes a transaction record atomically; the error is logged and returned.
    fn persist(&self, file: &TxnFile) -> Result<(), String> {
        let path = self.path_of(&file.view.component, &file.view.backup_id);
        let res = path
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .map_err(|e| e.to_string())
            .and_then(|_| serde_json::to_vec_pretty(file).map_err(|e| e.to_string()))
            .and_then(|bytes| {
                crate::config::write_atomic(&path, &bytes).map_err(|e| e.to_string())
            });
        if let Err(e) = &res {
            tracing::error!(path = %path.display(), error = %e, "could not write a transaction record");
        }
        res
    }

    /// Moves a transaction to `state`: written to disk first, shown (to the master's status
    /// polls and to the other calls) only once it is there. `None` when the transaction is
    /// unknown or the write failed (the transaction then stays as it was, on disk and here).
    /// Callers hold the decision lock.
    fn set_state(
        &self,
        name: &str,
        id: &str,
        state: TxnState,
        detail: Option<String>,
    ) -> Option<TxnView> {
        self.change(name, id, &mut |file| {
            file.view.state = state;
            if state == TxnState::Prepared && file.view.prepared_at.is_none() {
                file.view.prepared_at = Some(now());
            } else if state.is_final() && file.view.decided_at.is_none() {
                file.view.decided_at = Some(now());
            }
            if state.is_final() {
                file.view.participation.in_doubt_since = None;
            }
            if detail.is_some() {
                file.view.detail = detail.clone();
            }
        })
    }

    /// Applies `f` to a transaction: written to disk first, then shown. A transaction that
    /// became final frees its component. `None` when unknown or the write failed.
    fn change(&self, name: &str, id: &str, f: &mut dyn FnMut(&mut TxnFile)) -> Option<TxnView> {
        let key = (name.to_string(), id.to_string());
        let mut file = lock(&self.inner.entries).get(&key)?.file.clone();
        f(&mut file);
        self.persist(&file).ok()?;
        let mut entries = lock(&self.inner.entries);
        let e = entries.get_mut(&key)?;
        // Progress counters and the last message may have moved meanwhile; the rest is what
        // was written.
        file.view.progress = e.file.view.progress;
        file.view.participation.last_message_at = e
            .file
            .view
            .participation
            .last_message_at
            .max(file.view.participation.last_message_at);
        e.file = file;
        if e.file.view.state.is_final() {
            self.inner.claims.release(name, TxnKind::Backup, id);
        }
        Some(e.file.view.clone())
    }

    /// The master spoke about this transaction: the alarm starts again from now.
    fn heard_from_master(&self, name: &str, id: &str) {
        if let Some(e) = lock(&self.inner.entries).get_mut(&(name.to_string(), id.to_string())) {
            e.heard = Instant::now();
            e.file.view.participation.last_message_at = Some(now());
        }
    }

    /// A transaction's view.
    pub fn status(&self, name: &str, id: &str) -> Result<TxnView, ApiError> {
        self.component(name)?;
        lock(&self.inner.entries)
            .get(&(name.to_string(), id.to_string()))
            .map(|e| e.file.view.clone())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no backup {id:?} of component {name:?} on this agent"
                ))
            })
    }
}

/// A state as the API spells it.
pub fn state_name(s: TxnState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| format!("{s:?}"))
}

/// Why a prepare is refused while backup `v` of the component is in doubt.
fn in_doubt_text(v: &TxnView) -> String {
    let fmt = |t: Option<DateTime<Utc>>| {
        t.map(crate::engine::readme::fmt_time)
            .unwrap_or_else(|| "(unknown)".into())
    };
    format!(
        "backup {} of component {} is in doubt on this agent since {} (prepared, and no word \
         from the master since {}); one job per component: the master resolves it when it \
         reaches this agent, or an operator with `backup-master agent resolve`",
        v.backup_id,
        v.component,
        fmt(v.participation.in_doubt_since),
        fmt(v.participation.last_message_at)
    )
}

/// An open transaction as the agent's status lists it.
fn open_view(f: &TxnFile) -> OpenTransaction {
    let v = &f.view;
    let state = match v.state {
        TxnState::Preparing => OpenState::Preparing,
        TxnState::InDoubt => OpenState::InDoubt,
        _ => OpenState::Prepared,
    };
    let staging = crate::engine::slots::SlotLayout::of(&f.backup_folder)
        .map(|l| l.staging(&v.backup_id).display().to_string())
        .unwrap_or_else(|_| v.backup_path.clone());
    OpenTransaction {
        kind: TxnKind::Backup,
        component: v.component.clone(),
        id: v.backup_id.clone(),
        backup_id: v.backup_id.clone(),
        state,
        started_at: v.started_at,
        ready_at: v.prepared_at,
        participation: v.participation.clone(),
        path: staging,
    }
}

/// The open backups recorded under `state_dir` (read only: for `agent resolve --list`, also
/// while the agent runs).
pub fn open_on_disk(state_dir: &Path) -> Vec<OpenTransaction> {
    let mut out: Vec<OpenTransaction> = load_all(&state_dir.join("transactions"))
        .iter()
        .filter(|f| !f.view.state.is_final())
        .map(open_view)
        .collect();
    out.sort_by(|a, b| (&a.component, &a.id).cmp(&(&b.component, &b.id)));
    out
}

/// Every readable transaction file under `dir/<component>/`.
fn load_all(dir: &Path) -> Vec<TxnFile> {
    let mut out = Vec::new();
    let Ok(comps) = std::fs::read_dir(dir) else {
        return out;
    };
    for c in comps.flatten() {
        let Ok(files) = std::fs::read_dir(c.path()) else {
            continue;
        };
        for f in files.flatten() {
            let p = f.path();
            if p.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match crate::engine::fsutil::read_regular(
                &p,
                crate::engine::fsutil::MAX_STATE_FILE_BYTES,
            )
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<TxnFile>(&b).map_err(|e| e.to_string()))
            {
                Ok(t) => out.push(t),
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "unreadable transaction record")
                }
            }
        }
    }
    out
}
