//! The agent's side of a backup's point in time: it runs the freeze, read point, release and
//! thaw steps the master asks for on this machine (with the same local store code the master
//! uses for its own components), and it keeps what they leave behind under a **lease**: a
//! component frozen, or a snapshot held, for a backup the master stops renewing for
//! `freeze_lease_seconds` is thawed and released by the agent itself, so a dead master or a
//! broken network never leaves an application frozen.
//!
//! What is held is written to `<state_dir>/freezes/<component>-<ID>.json` before the step that
//! makes it starts, and removed once nothing is held; a restarted agent releases and thaws
//! everything those files name at once (its master's lease died with it). The master's
//! commands run here only for a component whose agent config says `run_commands = true`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::{AgentComponentConfig, AgentConfig};
use crate::engine::consistency::{Consistency, SnapshotMode};
use crate::engine::{fsutil, ComponentSpec};
use crate::error::ApiError;
use crate::store::wire::{ConsistencyAnswer, ConsistencyRequest};
use crate::store::{ComponentStore, ConsistencyStep, LocalStore, StepDone};

/// What one backup holds of one component, as written to its file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Held {
    component: String,
    backup_id: String,
    consistency: Consistency,
    frozen: bool,
    snapshot_held: bool,
    #[serde(default)]
    snapshot: Option<PathBuf>,
}

struct Entry {
    held: Held,
    deadline: Instant,
}

struct Inner {
    dir: PathBuf,
    lease: Duration,
    components: Vec<AgentComponentConfig>,
    store: LocalStore,
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// One step at a time per agent: steps are short, and a lease expiry never races a step.
    steps: tokio::sync::Mutex<()>,
}

/// The held freezes and snapshots of this agent. Cheap to clone.
#[derive(Clone)]
pub struct Freezes {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Freezes {
    /// Opens `<state_dir>/freezes` and undoes what a previous run of the agent left held.
    pub async fn open(cfg: &AgentConfig, store: LocalStore) -> Result<Freezes, String> {
        let dir = cfg.state_dir.join("freezes");
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let f = Freezes {
            inner: Arc::new(Inner {
                dir,
                lease: Duration::from_secs(cfg.freeze_lease_seconds),
                components: cfg.components.clone(),
                store,
                entries: Mutex::new(HashMap::new()),
                steps: tokio::sync::Mutex::new(()),
            }),
        };
        let mut left = Vec::new();
        for e in std::fs::read_dir(&f.inner.dir).map_err(|e| e.to_string())? {
            let path = e.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|x| x == "json") {
                match std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Held>(&b).ok())
                {
                    Some(h) => left.push(h),
                    None => {
                        tracing::error!(file = %path.display(), "unreadable freeze record left alone")
                    }
                }
            }
        }
        for h in left {
            tracing::warn!(component = %h.component, backup = %h.backup_id,
                "held by the agent's previous run: releasing and thawing it now");
            f.undo(h, "the agent restarted").await;
        }
        Ok(f)
    }

    fn file(&self, component: &str, id: &str) -> PathBuf {
        self.inner.dir.join(format!("{component}-{id}.json"))
    }

    fn save(&self, h: &Held) -> Result<(), String> {
        let path = self.file(&h.component, &h.backup_id);
        if !h.frozen && !h.snapshot_held {
            return match std::fs::remove_file(&path) {
                Ok(()) => fsutil::fsync_dir(&self.inner.dir).map_err(|e| e.to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.to_string()),
            };
        }
        let bytes = serde_json::to_vec_pretty(h).map_err(|e| e.to_string())?;
        fsutil::write_atomic(&path, &bytes).map_err(|e| e.to_string())
    }

    /// The spec a step runs with; `backup_folder` as the master sends it (absent: the default
    /// `backup`; only a snapshot view's check reads it).
    fn spec(
        &self,
        c: &AgentComponentConfig,
        k: &Consistency,
        backup_folder: Option<&str>,
    ) -> ComponentSpec {
        ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: crate::config::resolve(&c.home, backup_folder.unwrap_or("backup")),
            keep: 0,
            items: vec![],
            consistency: k.clone(),
            read_point: None,
        }
    }

    /// The snapshot backup `id` holds of `component`, for its prepare to read from.
    pub fn read_point(&self, component: &str, id: &str) -> Option<PathBuf> {
        let entries = lock(&self.inner.entries);
        let e = entries.get(&(component.to_string(), id.to_string()))?;
        e.held
            .snapshot_held
            .then(|| e.held.snapshot.clone())
            .flatten()
    }

    /// Does one step the master asks for. 404 for a component not served here; 422 naming
    /// `consistency` when it would run a command this agent's config does not allow.
    pub async fn step(
        &self,
        component: &str,
        id: &str,
        req: &ConsistencyRequest,
    ) -> Result<ConsistencyAnswer, ApiError> {
        if !crate::engine::backup_id::is_valid(id) {
            return Err(ApiError::field("id", format!("{id:?} is not a backup ID")));
        }
        let c = self
            .inner
            .components
            .iter()
            .find(|c| c.name == component)
            .ok_or_else(|| {
                ApiError::new(
                    crate::error::ProblemKind::NotFound,
                    format!("component {component:?} is not served by this agent"),
                )
            })?
            .clone();
        if let Some(bf) = &req.backup_folder {
            if bf.is_empty() || bf.contains('\0') || crate::config::has_dot_dot(bf) {
                return Err(ApiError::field(
                    "backup_folder",
                    format!("{bf:?} must name a folder, without '..'"),
                ));
            }
        }
        let k = &req.consistency;
        if !c.run_commands && (k.freezes() || k.snapshot == SnapshotMode::Command) {
            return Err(ApiError::field(
                "consistency",
                format!(
                    "this agent does not run the master's commands for component {component:?}: \
                     set run_commands = true for it in the agent's config"
                ),
            ));
        }
        let me = self.clone();
        let (id, req) = (id.to_string(), req.clone());
        // To its end even when the master stops waiting: what it holds is then in the book.
        crate::agent::to_the_end(async move { Ok(me.step_now(&c, &id, &req).await) }).await
    }

    async fn step_now(
        &self,
        c: &AgentComponentConfig,
        id: &str,
        req: &ConsistencyRequest,
    ) -> ConsistencyAnswer {
        let _one = self.inner.steps.lock().await;
        let key = (c.name.clone(), id.to_string());
        let spec = self.spec(c, &req.consistency, req.backup_folder.as_deref());
        let lease = self.inner.lease;
        // Recorded before the step: a crash of the agent from here on undoes it at restart.
        let before = {
            let mut entries = lock(&self.inner.entries);
            let e = entries.entry(key.clone()).or_insert_with(|| Entry {
                held: Held {
                    component: c.name.clone(),
                    backup_id: id.to_string(),
                    consistency: req.consistency.clone(),
                    ..Held::default()
                },
                deadline: Instant::now() + lease,
            });
            e.deadline = Instant::now() + lease;
            match req.step {
                ConsistencyStep::Freeze => e.held.frozen = true,
                ConsistencyStep::ReadPoint => e.held.snapshot_held = true,
                _ => {}
            }
            e.held.clone()
        };
        if let Err(e) = self.save(&before) {
            return answer(
                StepDone {
                    error: Some(format!("the agent could not record the step: {e}")),
                    ..StepDone::default()
                },
                0,
            );
        }
        let done = match req.step {
            ConsistencyStep::Renew => StepDone::default(),
            step => {
                self.inner
                    .store
                    .consistency_step(id, &spec, step, before.snapshot.as_deref())
                    .await
            }
        };
        let after = {
            let mut entries = lock(&self.inner.entries);
            let Some(e) = entries.get_mut(&key) else {
                return answer(done, 0);
            };
            match req.step {
                ConsistencyStep::ReadPoint => e.held.snapshot.clone_from(&done.snapshot),
                ConsistencyStep::Release if done.error.is_none() => {
                    e.held.snapshot_held = false;
                }
                ConsistencyStep::Thaw if done.error.is_none() => e.held.frozen = false,
                _ => {}
            }
            let h = e.held.clone();
            if !h.frozen && !h.snapshot_held {
                entries.remove(&key);
            }
            h
        };
        if let Err(e) = self.save(&after) {
            tracing::error!(error = %e, component = %c.name, backup = %id, "could not record a freeze step");
        }
        let lease_secs = if after.frozen || after.snapshot_held {
            lease.as_secs()
        } else {
            0
        };
        answer(done, lease_secs)
    }

    /// Releases the snapshot and thaws what `h` holds (a lease expired, or a restart).
    async fn undo(&self, h: Held, why: &str) {
        let Some(c) = self
            .inner
            .components
            .iter()
            .find(|c| c.name == h.component)
            .cloned()
        else {
            tracing::error!(component = %h.component, backup = %h.backup_id,
                "a held freeze of a component no longer served here: thaw it by hand");
            return;
        };
        let spec = self.spec(&c, &h.consistency, None);
        let mut left = h.clone();
        if h.snapshot_held {
            let d = self
                .inner
                .store
                .consistency_step(
                    &h.backup_id,
                    &spec,
                    ConsistencyStep::Release,
                    h.snapshot.as_deref(),
                )
                .await;
            match d.error {
                None => left.snapshot_held = false,
                Some(e) => {
                    tracing::error!(component = %h.component, backup = %h.backup_id, error = %e, "releasing a snapshot failed")
                }
            }
        }
        if h.frozen {
            let d = self
                .inner
                .store
                .consistency_step(&h.backup_id, &spec, ConsistencyStep::Thaw, None)
                .await;
            match d.error {
                None => left.frozen = false,
                Some(e) => {
                    tracing::error!(component = %h.component, backup = %h.backup_id, error = %e, "thawing failed")
                }
            }
        }
        tracing::warn!(component = %h.component, backup = %h.backup_id, thawed = !left.frozen,
            released = !left.snapshot_held, "{why}: the agent undid the backup's freeze by itself");
        if let Err(e) = self.save(&left) {
            tracing::error!(error = %e, "could not record the undone freeze");
        }
    }

    /// Undoes every hold whose lease expired; runs for the agent's life.
    pub async fn watch_leases(self) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _one = self.inner.steps.lock().await;
            let expired: Vec<Held> = {
                let mut entries = lock(&self.inner.entries);
                let now = Instant::now();
                let keys: Vec<_> = entries
                    .iter()
                    .filter(|(_, e)| e.deadline <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.iter()
                    .filter_map(|k| entries.remove(k))
                    .map(|e| e.held)
                    .collect()
            };
            for h in expired {
                self.undo(h, "the master's freeze lease expired").await;
            }
        }
    }
}

fn answer(done: StepDone, lease_seconds: u64) -> ConsistencyAnswer {
    ConsistencyAnswer {
        outcome: done.outcome,
        snapshot: done.snapshot.map(|p| p.display().to_string()),
        error: done.error,
        lease_seconds,
    }
}
