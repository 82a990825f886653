//! The remote stores of a config (`Agents`), the probe of an agent for `GET /components`, the
//! in-doubt transactions it lists, the store of a component whose agent is gone, and the
//! agents' health: every probe (and a periodic watch) reports an agent that stops answering
//! once per outage (`agent_unreachable`), and again when it answers (`agent_reachable`).

use crate::config::Config;
use crate::engine::{CancelToken, ComponentSpec};
use crate::store::wire::OpenTransaction;
use crate::store::{
    Ack, ComponentStore, PrepareOutcome, ProgressSink, ProgressUpdate, SlotInfo, StoreError,
};
use async_trait::async_trait;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::toolkit::events::{Event, EventKind, EventSink, Severity};

use super::{failed, now, RemoteStore};

/// A remote component whose agent is not (or no longer) configured: every call fails. Used
/// when recovery meets a record of a component that has since left the config.
pub(super) struct Unconfigured(pub(super) String);

#[async_trait]
impl ComponentStore for Unconfigured {
    fn is_remote(&self) -> bool {
        true
    }
    async fn prepare(
        &self,
        _id: &str,
        _spec: &ComponentSpec,
        _cancel: CancelToken,
        _progress: ProgressSink,
    ) -> PrepareOutcome {
        failed(now(), ProgressUpdate::default(), self.0.clone())
    }
    async fn commit(&self, _id: &str, _spec: &ComponentSpec) -> Result<Ack, StoreError> {
        Err(StoreError::NotConfigured(self.0.clone()))
    }
    async fn abort(&self, _: &str, _: &ComponentSpec, _: &[String]) -> Result<Ack, StoreError> {
        Err(StoreError::NotConfigured(self.0.clone()))
    }
    async fn history(&self, _spec: &ComponentSpec) -> Result<Vec<SlotInfo>, StoreError> {
        Err(StoreError::Refused(self.0.clone()))
    }
    async fn verify_slot(
        &self,
        _: &ComponentSpec,
        _: &str,
    ) -> Result<crate::store::wire::FolderVerification, StoreError> {
        Err(StoreError::Refused(self.0.clone()))
    }
    async fn remove_temporaries(
        &self,
        _: &ComponentSpec,
        _: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
}

/// What `GET /components` says about a remote component's agent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The agent answered (even if it refused).
    pub reachable: bool,
    pub version: Option<String>,
    /// Why the component cannot be backed up through it right now.
    pub error: Option<String>,
    /// The component's transactions in doubt on the agent.
    pub in_doubt: Vec<InDoubt>,
}

/// A backup or restore of a remote component that is in doubt on its agent: it voted yes and
/// heard nothing from the master for the agent's `decision_timeout_seconds`. It waits for the
/// master's decision (the master resolves it from its records when it reaches the agent), or
/// an operator's on that machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InDoubt {
    pub kind: crate::store::TxnKind,
    /// The backup ID, or the restore ID.
    #[schema(example = "20261126T020000Z")]
    pub id: String,
    /// Since when it is in doubt.
    pub since: chrono::DateTime<Utc>,
}

impl InDoubt {
    /// The in-doubt ones among an agent's open transactions.
    pub fn of(open: &[OpenTransaction]) -> Vec<InDoubt> {
        open.iter()
            .filter(|t| t.in_doubt())
            .map(|t| InDoubt {
                kind: t.kind,
                id: t.id.clone(),
                since: t
                    .participation
                    .in_doubt_since
                    .or(t.participation.last_message_at)
                    .unwrap_or(t.started_at),
            })
            .collect()
    }
}

/// The remote stores of the configured remote components, by name.
#[derive(Clone, Default)]
pub struct Agents {
    stores: Arc<HashMap<String, Arc<RemoteStore>>>,
    /// Whether each component's agent answered its last probe (absent: not probed yet,
    /// taken as answering, so an outage is reported from the first probe on).
    health: Arc<Mutex<HashMap<String, bool>>>,
    events: Arc<Mutex<EventSink>>,
}

impl Agents {
    /// A store for every component of `cfg` that has an `agent`. Errors name the field.
    pub fn from_config(cfg: &Config) -> Result<Agents, String> {
        let mut stores = HashMap::new();
        for (i, c) in cfg.components.iter().enumerate() {
            let Some(url) = &c.agent else { continue };
            let token = cfg
                .agent_token(c)
                .map_err(|e| format!("components[{i}].agent_token_file: {e}"))?;
            let ca = match &c.agent_ca_file {
                Some(f) => {
                    let path = crate::config::resolve(&cfg.base_dir, f);
                    Some(std::fs::read(&path).map_err(|e| {
                        format!(
                            "components[{i}].agent_ca_file: cannot read {}: {e}",
                            path.display()
                        )
                    })?)
                }
                None => None,
            };
            let store = RemoteStore::new(&c.name, url, token, ca.as_deref())
                .map_err(|e| format!("components[{i}]: {e}"))?;
            stores.insert(c.name.clone(), Arc::new(store));
        }
        Ok(Agents {
            stores: Arc::new(stores),
            ..Agents::default()
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<RemoteStore>> {
        self.stores.get(name).cloned()
    }

    /// Every remote component's store, by component name (sorted).
    pub fn all(&self) -> Vec<(String, Arc<RemoteStore>)> {
        let mut v: Vec<(String, Arc<RemoteStore>)> = self
            .stores
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The store for a remote spec; a failing one when no agent is configured for it.
    pub fn store(&self, name: &str) -> Arc<dyn ComponentStore> {
        match self.get(name) {
            Some(s) => s,
            None => Arc::new(Unconfigured(format!(
                "component {name} is not configured as a remote component (agent) any more"
            ))),
        }
    }

    /// Where changes of an agent's health are reported.
    pub fn set_event_sink(&self, sink: EventSink) {
        *self.events.lock().unwrap_or_else(|e| e.into_inner()) = sink;
    }

    /// Probes every remote component's agent now and then every `period`, so an outage is
    /// reported even when nothing else calls an agent. Returns at once without agents.
    pub async fn watch(self, period: std::time::Duration) {
        if self.stores.is_empty() {
            return;
        }
        loop {
            for (name, _) in self.all() {
                self.probe(&name).await;
            }
            tokio::time::sleep(period).await;
        }
    }

    /// Records what a probe of `name`'s agent found; a change is an event.
    fn note(&self, name: &str, url: &str, probe: &Probe) {
        let was = self
            .health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), probe.reachable)
            .unwrap_or(true);
        let mut e = match (was, probe.reachable) {
            (true, false) => Event::new(
                EventKind::AgentUnreachable,
                Severity::Error,
                format!(
                    "the agent {url} of component {name} is unreachable: {}",
                    probe.error.as_deref().unwrap_or("no answer")
                ),
            ),
            (false, true) => Event::new(
                EventKind::AgentReachable,
                Severity::Info,
                format!("the agent {url} of component {name} answers again"),
            ),
            _ => return,
        };
        e.components = vec![name.to_string()];
        e.link = Some(format!("/api/v1/components/{name}"));
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .emit(e);
    }

    /// Asks the agent of `name` who it is (short timeout). `None` for a local component.
    pub async fn probe(&self, name: &str) -> Option<Probe> {
        let store = self.get(name)?;
        let probe = self.ask(name, &store).await;
        self.note(name, store.url(), &probe);
        Some(probe)
    }

    async fn ask(&self, name: &str, store: &RemoteStore) -> Probe {
        match store.info().await {
            Ok(info) => {
                let mine: Vec<OpenTransaction> = info
                    .transactions
                    .into_iter()
                    .filter(|t| t.component == name)
                    .collect();
                Probe {
                    reachable: true,
                    error: (!info.components.iter().any(|c| c.name == name))
                        .then(|| format!("agent {} does not serve component {name}", store.url())),
                    version: Some(info.version),
                    in_doubt: InDoubt::of(&mine),
                }
            }
            Err(StoreError::Refused(e) | StoreError::Conflict(e)) => Probe {
                reachable: true,
                version: None,
                error: Some(e),
                in_doubt: vec![],
            },
            Err(e) => Probe {
                reachable: false,
                version: None,
                error: Some(e.to_string()),
                in_doubt: vec![],
            },
        }
    }
}
