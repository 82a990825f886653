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
use crate::config::{check_relative, has_dot_dot, resolve, MAX_KEEP};
use crate::engine::faults::Faults;
use crate::engine::{folder_check, single_line, CancelToken, ComponentSpec, Profile};
use crate::error::{ApiError, FieldError, ProblemKind};
use crate::store::wire::{
    AgentComponent, AgentInfo, OpenState, OpenTransaction, RemoteSpec, TxnKind, TxnState, TxnView,
};
use crate::store::{
    ComponentStore, Decision, LocalStore, OperatorDecision, PrepareStatus, ProgressSink, SlotInfo,
};

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
}

/// The agent's transactions. Cheap to clone.
#[derive(Clone)]
pub struct Txns {
    inner: Arc<Inner>,
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
        let txns = Txns {
            inner: Arc::new(Inner {
                state_dir: cfg.state_dir.clone(),
                components: cfg.components.clone(),
                allowed_roots: cfg.allowed_roots.clone(),
                decision_timeout: Duration::from_secs(cfg.decision_timeout_seconds),
                store: LocalStore::new(Arc::new(faults)),
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

    fn component(&self, name: &str) -> Result<&AgentComponentConfig, ApiError> {
        self.inner
            .components
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                ApiError::not_found(format!("this agent does not serve component {name:?}"))
            })
    }

    /// `Ok` when this agent serves component `name` (404 otherwise).
    pub fn spec_of_name(&self, name: &str) -> Result<(), ApiError> {
        self.component(name).map(|_| ())
    }

    /// This machine as [`folder_check`] sees it when component `name` uses `items`: every
    /// component's home and items (the others' from their newest transaction, else their
    /// profile's), the others' backup folders as their newest transaction left them, the state
    /// dir and `allowed_roots`.
    fn site(&self, name: &str, items: &[String]) -> folder_check::Site {
        let entries = lock(&self.inner.entries);
        let components = self
            .inner
            .components
            .iter()
            .map(|c| {
                let newest = entries
                    .iter()
                    .filter(|((n, _), _)| *n == c.name)
                    .max_by(|((_, a), _), ((_, b), _)| a.cmp(b))
                    .map(|(_, e)| &e.file);
                let given = if c.name == name {
                    Some(items.to_vec())
                } else {
                    newest.map(|f| f.items.clone())
                };
                let items = match given {
                    Some(i) if !i.is_empty() => i,
                    _ => c
                        .profile
                        .default_items()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                };
                folder_check::Resident {
                    name: c.name.clone(),
                    home: c.home.clone(),
                    items: items
                        .into_iter()
                        .filter(|i| check_relative(i).is_ok())
                        .collect(),
                    backup_folder: newest
                        .filter(|_| c.name != name)
                        .map(|f| f.backup_folder.clone()),
                }
            })
            .collect();
        folder_check::Site {
            components,
            state_dir: Some(self.inner.state_dir.clone()),
            allowed_roots: self.inner.allowed_roots.clone(),
        }
    }

    /// The backup folder setting resolved against the component's home and checked on this
    /// machine exactly as the master checks its own ([`folder_check::check_backup_folder`]).
    /// `to_write` (backups) also refuses what sits at the slot names without being this
    /// component's backup; reads (history, verify, restores) need not, and the rotation checks
    /// that itself anyway.
    fn folder_of(
        &self,
        c: &AgentComponentConfig,
        backup_folder: &str,
        items: &[String],
        to_write: bool,
    ) -> Result<PathBuf, Vec<FieldError>> {
        let bad = |m: String| vec![FieldError::new("backup_folder", m)];
        if backup_folder.is_empty() || backup_folder.contains('\0') {
            return Err(bad("must name a folder".into()));
        }
        if has_dot_dot(backup_folder) {
            return Err(bad("must not contain '..'".into()));
        }
        let folder = resolve(&c.home, backup_folder);
        let problems: Vec<FieldError> =
            folder_check::check_backup_folder(&self.site(&c.name, items), &c.name, &folder)
                .into_iter()
                .filter(|p| to_write || !matches!(p, folder_check::FolderProblem::Foreign(_)))
                .map(|p| FieldError::new("backup_folder", p.to_string()))
                .collect();
        if problems.is_empty() {
            Ok(folder)
        } else {
            Err(problems)
        }
    }

    /// The spec of a backup call (prepare, commit, abort): the master's settings checked
    /// against this agent's component and machine.
    pub fn spec_of(&self, name: &str, req: &RemoteSpec) -> Result<ComponentSpec, ApiError> {
        self.checked_spec(name, req, true)
    }

    /// The spec of a call that only reads the backup folder (a restore's source): checked
    /// like [`Self::spec_of`], except for what sits at the slot names.
    pub fn spec_to_read(&self, name: &str, req: &RemoteSpec) -> Result<ComponentSpec, ApiError> {
        self.checked_spec(name, req, false)
    }

    fn checked_spec(
        &self,
        name: &str,
        req: &RemoteSpec,
        to_write: bool,
    ) -> Result<ComponentSpec, ApiError> {
        let c = self.component(name)?;
        let mut errors = Vec::new();
        if req.profile != c.profile {
            errors.push(FieldError::new(
                "profile",
                format!(
                    "the master says {}, this agent's config says {} for component {name:?}",
                    req.profile.as_str(),
                    c.profile.as_str()
                ),
            ));
        }
        let folder = self
            .folder_of(c, &req.backup_folder, &req.items, to_write)
            .map_err(|e| errors.extend(e))
            .ok();
        if req.keep > MAX_KEEP {
            errors.push(FieldError::new(
                "keep",
                format!("must be between 0 and {MAX_KEEP}"),
            ));
        }
        if req.items.is_empty() && c.profile == Profile::Custom {
            errors.push(FieldError::new("items", "a custom component needs items"));
        }
        for (j, item) in req.items.iter().enumerate() {
            if let Err(e) = check_relative(item) {
                errors.push(FieldError::new(format!("items[{j}]"), e.to_string()));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: folder.unwrap_or_default(),
            keep: req.keep,
            items: req.items.clone(),
        })
    }

    fn spec_of_entry(&self, name: &str, id: &str) -> Option<ComponentSpec> {
        let c = self.inner.components.iter().find(|c| c.name == name)?;
        let entries = lock(&self.inner.entries);
        let e = entries.get(&(name.to_string(), id.to_string()))?;
        Some(ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: e.file.backup_folder.clone(),
            keep: e.file.keep,
            items: e.file.items.clone(),
        })
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

    /// Starts preparing `id`; answers at once (the copy runs in the background). Runs to its
    /// end even when the master stops waiting ([`super::to_the_end`]).
    pub async fn prepare(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        super::to_the_end(async move { me.prepare_now(&name, &id, &req).await }).await
    }

    async fn prepare_now(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        // Only IDs of the shape the master issues: the staging folder's readme must carry
        // one for the rotation to accept it as this backup's.
        if !crate::engine::backup_id::is_valid(id) {
            return Err(ApiError::field("id", format!("{id:?} is not a backup ID")));
        }
        let spec = self.spec_of(name, req)?;
        if spec.profile == Profile::MaestroLui {
            if let Ok(Some(folder)) = crate::engine::profile::pending_restore_from(&spec.home) {
                return Err(conflict(format!(
                    "a restore of component {name} waits for the component's first start: {} \
                     still has the line RestoreFromBackup={folder}; the Maestro User Interface \
                     restores its database from that folder when it starts and then removes the \
                     line. Start it before the next backup",
                    spec.home.join(crate::engine::profile::LUI_INI).display()
                )));
            }
        }
        let _d = self.inner.decide.lock().await;
        let key = (name.to_string(), id.to_string());
        let cancel = CancelToken::new();
        let file = {
            let mut entries = lock(&self.inner.entries);
            if let Some(e) = entries.get(&key) {
                return Err(conflict(format!(
                    "backup {id} of component {name} is already known here ({})",
                    state_name(e.file.view.state)
                )));
            }
            // One job per component: refused (naming the holder) while another backup of it
            // is open, or a restore of it is applied or in doubt.
            if let Some(h) = self.inner.claims.holder(name) {
                if let Some(e) = entries.get(&(name.to_string(), h.id.clone())) {
                    if h.kind == TxnKind::Backup && e.file.view.state == TxnState::InDoubt {
                        return Err(conflict(in_doubt_text(&e.file.view)));
                    }
                }
            }
            self.inner.claims.claim(name, TxnKind::Backup, id)?;
            let at = now();
            let file = TxnFile {
                view: TxnView {
                    component: name.to_string(),
                    backup_id: id.to_string(),
                    state: TxnState::Preparing,
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
                    decision_timeout_seconds: self.inner.decision_timeout.as_secs(),
                },
                backup_folder: spec.backup_folder.clone(),
                keep: spec.keep,
                items: spec.items.clone(),
            };
            entries.insert(key.clone(), Entry::new(file.clone(), cancel.clone()));
            file
        };
        // Durable before any staging folder exists: a restart then knows to remove it.
        if let Err(e) = self.persist(&file) {
            lock(&self.inner.entries).remove(&key);
            self.inner.claims.release(name, TxnKind::Backup, id);
            return Err(ApiError::new(
                ProblemKind::Unavailable,
                format!("could not record the backup on this agent: {e}"),
            ));
        }
        let me = self.clone();
        let (name2, id2) = key;
        tokio::spawn(async move {
            let sink_me = me.clone();
            let (sn, si) = (name2.clone(), id2.clone());
            let sink: ProgressSink = Arc::new(move |u| {
                if let Some(e) = lock(&sink_me.inner.entries).get_mut(&(sn.clone(), si.clone())) {
                    e.file.view.progress = u;
                }
            });
            let outcome = me.inner.store.prepare(&id2, &spec, cancel, sink).await;
            let state = match outcome.status {
                PrepareStatus::Prepared => TxnState::Prepared,
                PrepareStatus::Failed => TxnState::Failed,
                PrepareStatus::Cancelled => TxnState::Cancelled,
            };
            tracing::info!(component = %name2, backup = %id2, ?state, "prepare ended");
            // Under the decision lock: an abort that came meanwhile has the last word.
            let _d = me.inner.decide.lock().await;
            let key = (name2.clone(), id2.clone());
            let Some(mut file) = lock(&me.inner.entries).get(&key).map(|e| e.file.clone()) else {
                return;
            };
            if file.view.state != TxnState::Preparing {
                tracing::warn!(component = %name2, backup = %id2, state = ?file.view.state,
                    "the prepare ended after the backup was decided here; its end is ignored");
                if state == TxnState::Prepared {
                    // Whatever the copy left after the abort removed the staging folder.
                    let errors = vec![file.view.detail.clone().unwrap_or_else(|| "aborted".into())];
                    if let Err(e) = me.inner.store.abort(&id2, &spec, &errors).await {
                        tracing::error!(error = %e, "removing the staging folder of an aborted backup");
                    }
                }
                return;
            }
            file.view.progress = outcome.stats;
            file.view.state = state;
            if state == TxnState::Prepared {
                file.view.prepared_at = Some(now());
            } else {
                file.view.decided_at = Some(now());
                file.view.detail = outcome.errors.first().cloned();
            }
            file.view.outcome = Some(outcome);
            // On disk before the master can see it: a `prepared` it acts on survives a crash.
            if let Err(e) = me.persist(&file) {
                if state == TxnState::Prepared {
                    let msg = format!("could not record the prepared backup: {e}");
                    if let Err(e) = me
                        .inner
                        .store
                        .abort(&id2, &spec, std::slice::from_ref(&msg))
                        .await
                    {
                        tracing::error!(error = %e, "removing a staging folder that could not be recorded");
                    }
                    file.view.state = TxnState::Failed;
                    file.view.prepared_at = None;
                    file.view.decided_at = Some(now());
                    file.view.detail = Some(msg.clone());
                    if let Some(o) = &mut file.view.outcome {
                        o.status = PrepareStatus::Failed;
                        o.errors.push(msg);
                    }
                    // Best effort: a restart finds it `preparing` and removes it anyway.
                    let _ = me.persist(&file);
                }
            }
            let ended = file.view.state.is_final();
            if let Some(e) = lock(&me.inner.entries).get_mut(&key) {
                let last = e.file.view.participation.last_message_at;
                e.file = file;
                e.file.view.participation.last_message_at = last;
            }
            if ended {
                me.inner.claims.release(&name2, TxnKind::Backup, &id2);
            }
        });
        Ok(file.view)
    }

    /// The master still works on the set of backup `id` (it waits for other components):
    /// the alarm starts again, and a transaction in doubt is prepared again. Answers the
    /// transaction as it stands (also a final one: nothing changes then).
    pub async fn renew(&self, name: &str, id: &str) -> Result<TxnView, ApiError> {
        let (me, name, id) = (self.clone(), name.to_string(), id.to_string());
        super::to_the_end(async move { me.renew_now(&name, &id).await }).await
    }

    async fn renew_now(&self, name: &str, id: &str) -> Result<TxnView, ApiError> {
        self.status(name, id)?;
        self.heard_from_master(name, id);
        let v = self.status(name, id)?;
        if v.state != TxnState::InDoubt {
            return Ok(v);
        }
        let _d = self.inner.decide.lock().await;
        if self.status(name, id)?.state != TxnState::InDoubt {
            return self.status(name, id);
        }
        tracing::info!(component = %name, backup = %id, "the master is back: no longer in doubt");
        self.change(name, id, &mut |f| {
            f.view.state = TxnState::Prepared;
            f.view.participation.in_doubt_since = None;
        })
        .ok_or_else(|| unrecorded("renewal"))
    }

    /// Commits `id` (rotation + rename). Idempotent. Runs to its end even when the master
    /// stops waiting ([`super::to_the_end`]).
    pub async fn commit(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        super::to_the_end(async move { me.commit_now(&name, &id, &req).await }).await
    }

    async fn commit_now(
        &self,
        name: &str,
        id: &str,
        req: &RemoteSpec,
    ) -> Result<TxnView, ApiError> {
        if self.inner.abort_on_commit {
            tracing::error!("injected fault abort_on_commit: aborting the agent process");
            std::process::abort();
        }
        let req_spec = self.spec_of(name, req)?;
        self.heard_from_master(name, id);
        let _d = self.inner.decide.lock().await;
        let known = lock(&self.inner.entries)
            .get(&(name.to_string(), id.to_string()))
            .map(|e| (e.file.view.clone(), e.file.keep));
        let spec = match &known {
            Some((v, kept)) => match v.state {
                TxnState::Committed if req.keep < *kept => {
                    return self.drop_extra_slots(name, id, req.keep).await
                }
                TxnState::Committed => return Ok(v.clone()),
                // The keep sent now: one more than configured (see the module doc).
                s if s.is_prepared() => self
                    .spec_of_entry(name, id)
                    .map(|e| ComponentSpec {
                        keep: req.keep,
                        ..e
                    })
                    .unwrap_or(req_spec),
                TxnState::Preparing => {
                    return Err(conflict(format!(
                        "backup {id} of component {name} is still being prepared"
                    )))
                }
                other => {
                    return Err(conflict(format!(
                        "backup {id} of component {name} cannot be committed: it is {} on this \
                         agent{}",
                        state_name(other),
                        v.detail
                            .as_deref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )))
                }
            },
            None => req_spec,
        };
        match self.inner.store.commit(id, &spec).await {
            Ok(_) => {
                if known.is_none() {
                    self.adopt(name, id, &spec, TxnState::Committed, None);
                }
                tracing::info!(component = %name, backup = %id, "committed");
                let keep = spec.keep;
                self.change(name, id, &mut |f| {
                    f.keep = keep;
                    f.view.state = TxnState::Committed;
                    if f.view.decided_at.is_none() {
                        f.view.decided_at = Some(now());
                    }
                    f.view.participation.in_doubt_since = None;
                })
                .ok_or_else(|| unrecorded("commit"))
            }
            Err(e) => {
                let msg = single_line(&e.to_string());
                tracing::error!(component = %name, backup = %id, error = %msg, "commit failed");
                if known.is_none() {
                    Err(conflict(format!("backup {id} of component {name} is unknown here and cannot be committed: {msg}")))
                } else {
                    Err(ApiError::new(
                        ProblemKind::Unavailable,
                        format!("commit failed: {msg}"),
                    ))
                }
            }
        }
    }

    /// A commit repeated with a smaller `keep` once every component of the set committed:
    /// drops the slots above it (best effort: a later backup's rotation drops them too).
    async fn drop_extra_slots(&self, name: &str, id: &str, keep: u32) -> Result<TxnView, ApiError> {
        if let Some(spec) = self.spec_of_entry(name, id) {
            let spec = ComponentSpec { keep, ..spec };
            match self.inner.store.commit(id, &spec).await {
                Ok(_) => {
                    if let Some(v) = self.change(name, id, &mut |f| f.keep = keep) {
                        return Ok(v);
                    }
                }
                Err(e) => {
                    tracing::warn!(component = %name, backup = %id, error = %e, "could not drop the slots above keep; the next backup does")
                }
            }
        }
        self.status(name, id)
    }

    /// Records a transaction the agent had no record of.
    fn adopt(
        &self,
        name: &str,
        id: &str,
        spec: &ComponentSpec,
        state: TxnState,
        detail: Option<String>,
    ) {
        let file = TxnFile {
            view: TxnView {
                component: name.to_string(),
                backup_id: id.to_string(),
                state,
                backup_path: spec.backup_folder.display().to_string(),
                progress: Default::default(),
                outcome: None,
                started_at: now(),
                prepared_at: None,
                decided_at: Some(now()),
                detail,
                participation: crate::store::Participation {
                    last_message_at: Some(now()),
                    ..Default::default()
                },
                decision_timeout_seconds: self.inner.decision_timeout.as_secs(),
            },
            backup_folder: spec.backup_folder.clone(),
            keep: spec.keep,
            items: spec.items.clone(),
        };
        let _ = self.persist(&file);
        lock(&self.inner.entries).insert(
            (name.to_string(), id.to_string()),
            Entry::new(file, CancelToken::new()),
        );
    }

    /// Aborts `id`: stops a running prepare, removes the staging folder, writes `.failed`.
    /// Idempotent; refused (409) for a committed backup.
    /// Runs to its end even when the master stops waiting ([`super::to_the_end`]).
    pub async fn abort(&self, name: &str, id: &str, req: &RemoteSpec) -> Result<TxnView, ApiError> {
        let (me, name, id, req) = (self.clone(), name.to_string(), id.to_string(), req.clone());
        super::to_the_end(async move { me.abort_now(&name, &id, &req).await }).await
    }

    async fn abort_now(&self, name: &str, id: &str, req: &RemoteSpec) -> Result<TxnView, ApiError> {
        // A known backup is aborted where its prepare put it; an unknown one only in a folder
        // that passes the check (the abort writes `<NAME>.failed` there).
        let req_spec = match self.spec_of_entry(name, id) {
            Some(spec) => spec,
            None => self.spec_of(name, req)?,
        };
        self.heard_from_master(name, id);
        let key = (name.to_string(), id.to_string());
        // Stop a running prepare first and wait for it to end (it checks between files).
        let cancel = lock(&self.inner.entries)
            .get(&key)
            .map(|e| e.cancel.clone());
        if let Some(c) = cancel {
            c.cancel();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while lock(&self.inner.entries)
                .get(&key)
                .is_some_and(|e| e.file.view.state == TxnState::Preparing)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _d = self.inner.decide.lock().await;
        let known = lock(&self.inner.entries)
            .get(&key)
            .map(|e| e.file.view.clone());
        if let Some(v) = &known {
            if v.state == TxnState::Committed {
                let by = match v.participation.operator {
                    Some(o) => format!(
                        " by an operator on this machine at {} (backup-master agent resolve)",
                        crate::engine::readme::fmt_time(o.at)
                    ),
                    None => String::new(),
                };
                return Err(conflict(format!(
                    "backup {id} of component {name} is already committed{by}"
                )));
            }
        }
        let spec = self.spec_of_entry(name, id).unwrap_or(req_spec);
        let errors: Vec<String> = if req.errors.is_empty() {
            vec!["aborted by the master".into()]
        } else {
            req.errors.clone()
        };
        self.inner
            .store
            .abort(id, &spec, &errors)
            .await
            .map_err(|e| ApiError::new(ProblemKind::Unavailable, format!("abort failed: {e}")))?;
        let mut detail = Some(single_line(&errors.join("; ")));
        let state = match known.as_ref().map(|v| v.state) {
            None => {
                self.adopt(name, id, &spec, TxnState::Aborted, detail.clone());
                TxnState::Aborted
            }
            Some(s) if !s.is_final() => TxnState::Aborted,
            // Already ended (also by an operator): answered as it is.
            Some(s) => {
                detail = None;
                s
            }
        };
        tracing::info!(component = %name, backup = %id, "aborted");
        self.set_state(name, id, state, detail)
            .ok_or_else(|| unrecorded("abort"))
    }

    /// The history slots of a component for the master's backup folder setting.
    pub async fn history(
        &self,
        name: &str,
        backup_folder: &str,
        keep: u32,
    ) -> Result<Vec<SlotInfo>, ApiError> {
        let c = self.component(name)?;
        let folder = self
            .folder_of(c, backup_folder, &[], false)
            .map_err(ApiError::validation)?;
        let spec = ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: folder,
            keep,
            items: vec![],
        };
        self.inner
            .store
            .history(&spec)
            .await
            .map_err(|e| ApiError::new(ProblemKind::Unavailable, e.to_string()))
    }

    /// Checks one slot of a component against its `SHA256SUMS`.
    pub async fn verify(
        &self,
        name: &str,
        backup_folder: &str,
        slot: &str,
    ) -> Result<crate::sets::FolderVerification, ApiError> {
        let c = self.component(name)?;
        let folder = self
            .folder_of(c, backup_folder, &[], false)
            .map_err(ApiError::validation)?;
        let base = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ok_slot = slot
            .strip_prefix(base.as_str())
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()) && rest.len() <= 3);
        if !ok_slot {
            return Err(ApiError::field(
                "slot",
                format!("{slot:?} is not a history slot of {base:?}"),
            ));
        }
        let path = folder.with_file_name(slot);
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let check = crate::sets::verify::check_tree(&path, &Default::default());
            crate::sets::FolderVerification::of(&name, &path.display().to_string(), check)
        })
        .await
        .map_err(ApiError::internal)
    }

    /// Marks prepared transactions in doubt once the master has not spoken about them for the
    /// decision timeout (monotonic clock). Only an alarm: nothing is committed or aborted.
    /// Runs until the process ends.
    pub async fn watch_alarms(self) {
        let t = self.inner.decision_timeout;
        let every = (t / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            tokio::time::sleep(every).await;
            let due: Vec<(String, String)> = lock(&self.inner.entries)
                .iter()
                .filter(|(_, e)| e.file.view.state == TxnState::Prepared && e.heard.elapsed() >= t)
                .map(|(k, _)| k.clone())
                .collect();
            for (name, id) in due {
                let _d = self.inner.decide.lock().await;
                let still = lock(&self.inner.entries)
                    .get(&(name.clone(), id.clone()))
                    .is_some_and(|e| {
                        e.file.view.state == TxnState::Prepared && e.heard.elapsed() >= t
                    });
                if !still {
                    continue;
                }
                let v = self.change(&name, &id, &mut |f| {
                    f.view.state = TxnState::InDoubt;
                    f.view.participation.in_doubt_since = Some(now());
                });
                if let Some(v) = v {
                    tracing::warn!(
                        component = %name,
                        backup = %id,
                        last_message = ?v.participation.last_message_at,
                        "in doubt: prepared, and no word from the master for {} s; the staging \
                         folder is kept and the backup waits for the master's decision (or an \
                         operator's: backup-master agent resolve)",
                        t.as_secs()
                    );
                }
            }
        }
    }

    /// Carries out an operator's decision (`backup-master agent resolve`) on every open
    /// backup `id` of this agent (of `component` only, when given): commit or abort, recorded
    /// as a heuristic outcome the master reports when it meets it again. Used with the agent
    /// stopped. Returns the transactions as they ended.
    pub async fn resolve_by_operator(
        &self,
        id: &str,
        component: Option<&str>,
        decision: Decision,
    ) -> Result<Vec<TxnView>, String> {
        let open: Vec<(String, TxnState)> = lock(&self.inner.entries)
            .iter()
            .filter(|((c, i), _)| i == id && component.is_none_or(|w| w == c))
            .map(|((c, _), e)| (c.clone(), e.file.view.state))
            .collect();
        let open: Vec<String> = open
            .into_iter()
            .filter(|(_, s)| s.is_prepared())
            .map(|(c, _)| c)
            .collect();
        if open.is_empty() {
            return Err(format!(
                "no prepared or in-doubt backup {id}{} on this agent",
                component
                    .map(|c| format!(" of component {c}"))
                    .unwrap_or_default()
            ));
        }
        let _d = self.inner.decide.lock().await;
        let mut out = Vec::new();
        for name in open {
            let spec = self
                .spec_of_entry(&name, id)
                .ok_or_else(|| format!("component {name} is not served by this agent any more"))?;
            let at = now();
            let (state, detail) = match decision {
                Decision::Commit => {
                    self.inner
                        .store
                        .commit(id, &spec)
                        .await
                        .map_err(|e| format!("committing {name}: {e}"))?;
                    (
                        TxnState::Committed,
                        format!(
                            "committed by an operator on this machine at {} (backup-master \
                             agent resolve), without the master",
                            crate::engine::readme::fmt_time(at)
                        ),
                    )
                }
                _ => {
                    let why = format!(
                        "aborted by an operator on this machine at {} (backup-master agent \
                         resolve), without the master",
                        crate::engine::readme::fmt_time(at)
                    );
                    self.inner
                        .store
                        .abort(id, &spec, std::slice::from_ref(&why))
                        .await
                        .map_err(|e| format!("aborting {name}: {e}"))?;
                    (TxnState::Aborted, why)
                }
            };
            let v = self
                .change(&name, id, &mut |f| {
                    f.view.state = state;
                    f.view.decided_at = Some(at);
                    f.view.detail = Some(detail.clone());
                    f.view.participation.in_doubt_since = None;
                    f.view.participation.operator = Some(OperatorDecision {
                        decision: if state == TxnState::Committed {
                            Decision::Commit
                        } else {
                            Decision::Abort
                        },
                        at,
                    });
                })
                .ok_or_else(|| format!("{name}: the decision was carried out but could not be recorded; run it again"))?;
            tracing::warn!(component = %name, backup = %id, ?decision, "resolved by an operator");
            out.push(v);
        }
        Ok(out)
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
