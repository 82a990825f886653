//! The agent's side of a restore drill of a remote component: on this machine, the slot the
//! master names is restored into a scratch home under the component's drill root with the
//! same code as a local drill ([`crate::drill::run::drill_component`]: the restore's plan and
//! apply, the check against `SHA256SUMS`, the probe), the scratch is removed, and the result
//! answered. The call is synchronous and runs to its end even when the master stops waiting;
//! the scratch it makes is noted in `<state_dir>/drills/` first, so an agent that died during
//! a drill removes it at its next start (only when its marker and identity prove it is the
//! drill's own, [`crate::drill::scratch::remove`]). The probe runs only for a component whose
//! agent config says `run_commands = true`.
//!
//! While the call runs, the master reads the probe's output lines as they come
//! ([`AgentDrills::output`], kept [`LINES_KEPT`] lines deep and for [`ENDED_KEPT`] after the
//! drill's end) and can stop the probe ([`AgentDrills::cancel`]).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::AgentComponentConfig;
use super::txn::Txns;
use crate::drill::record::ComponentDrill;
use crate::drill::remote::answer_of;
use crate::drill::run::{drill_component, ComponentInput, Progress};
use crate::drill::scratch::{self, is_drill_id, ScratchFolder};
use crate::engine::faults::Faults;
use crate::engine::folder_check::{Resident, Site};
use crate::engine::ComponentSpec;
use crate::error::{ApiError, ProblemKind};
use crate::restore::record::FolderOrigin;
use crate::store::wire::{
    RemoteDrillAnswer, RemoteDrillCancelled, RemoteDrillOutput, RemoteDrillRequest,
};
use crate::toolkit::fsutil;

/// A scratch folder this agent made for a drill, noted until it is removed.
#[derive(Debug, Serialize, Deserialize)]
struct Noted {
    drill_id: String,
    scratch: ScratchFolder,
}

/// The drills of this agent's components. Cheap to clone.
#[derive(Clone)]
pub struct AgentDrills {
    inner: Arc<Inner>,
}

struct Inner {
    components: Vec<AgentComponentConfig>,
    txns: Txns,
    state_dir: PathBuf,
    faults: Faults,
    /// (drill ID, component) -> its probe's lines and its cancel flag.
    watched: Mutex<HashMap<(String, String), Watched>>,
}

/// Probe output lines kept per drill for the master to read (the oldest go first).
pub const LINES_KEPT: usize = 10_000;
/// How long the lines of an ended drill stay readable.
pub const ENDED_KEPT: Duration = Duration::from_secs(600);

/// A drill of a component while it runs here, and for a while after.
struct Watched {
    /// The number of the first line in `lines` (lines are numbered from 0).
    first: u64,
    lines: VecDeque<String>,
    ended_at: Option<Instant>,
    cancel: Arc<AtomicBool>,
}

/// Keeps the probe's lines of one drill for [`AgentDrills::output`]; the rest of the result
/// goes to the master in the answer.
struct Keeper<'a> {
    drills: &'a AgentDrills,
    key: (String, String),
}

impl Progress for Keeper<'_> {
    fn component(&self, _: &ComponentDrill) {}
    fn probe_line(&self, _: &str, line: &str) {
        if let Some(w) = self.drills.watched().get_mut(&self.key) {
            w.lines.push_back(line.to_string());
            if w.lines.len() > LINES_KEPT {
                w.lines.pop_front();
                w.first += 1;
            }
        }
    }
}

impl AgentDrills {
    /// The drills of `components`; removes the scratch folders of drills a stop of the agent
    /// interrupted (noted in `<state_dir>/drills/`).
    pub fn open(
        state_dir: &Path,
        components: Vec<AgentComponentConfig>,
        txns: Txns,
    ) -> Result<AgentDrills, String> {
        let faults = Faults::from_env().map_err(|e| e.to_string())?;
        let me = AgentDrills {
            inner: Arc::new(Inner {
                components,
                txns,
                state_dir: state_dir.to_path_buf(),
                faults,
                watched: Mutex::new(HashMap::new()),
            }),
        };
        me.remove_leftovers();
        Ok(me)
    }

    fn watched(&self) -> MutexGuard<'_, HashMap<(String, String), Watched>> {
        self.inner.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts watching drill `drill_id` of `component` (dropping drills that ended long ago);
    /// returns its cancel flag. 409 when that drill of the component runs already.
    fn watch(&self, drill_id: &str, component: &str) -> Result<Arc<AtomicBool>, ApiError> {
        let mut w = self.watched();
        w.retain(|_, v| v.ended_at.is_none_or(|t| t.elapsed() < ENDED_KEPT));
        let key = (drill_id.to_string(), component.to_string());
        if w.get(&key).is_some_and(|v| v.ended_at.is_none()) {
            return Err(ApiError::conflict(format!(
                "drill {drill_id} of component {component:?} is running on this agent already"
            )));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        w.insert(
            key,
            Watched {
                first: 0,
                lines: VecDeque::new(),
                ended_at: None,
                cancel: cancel.clone(),
            },
        );
        Ok(cancel)
    }

    /// The probe output of drill `drill_id` of component `name` from line `after` on (lines
    /// are numbered from 0; lines no longer kept are skipped). 404 for a drill this agent does
    /// not know (or no longer keeps).
    pub fn output(
        &self,
        name: &str,
        drill_id: &str,
        after: u64,
    ) -> Result<RemoteDrillOutput, ApiError> {
        self.component(name)?;
        let w = self.watched();
        let v = w
            .get(&(drill_id.to_string(), name.to_string()))
            .ok_or_else(|| unknown_drill(name, drill_id))?;
        let next = v.first + v.lines.len() as u64;
        let skip = usize::try_from(after.saturating_sub(v.first)).unwrap_or(usize::MAX);
        Ok(RemoteDrillOutput {
            lines: v.lines.iter().skip(skip).cloned().collect(),
            next,
            ended: v.ended_at.is_some(),
        })
    }

    /// Stops drill `drill_id` of component `name`: a probe that runs is killed, one not yet
    /// started does not start. The answer of the drill call then says so. 404 for a drill
    /// this agent does not know.
    pub fn cancel(&self, name: &str, drill_id: &str) -> Result<RemoteDrillCancelled, ApiError> {
        self.component(name)?;
        let w = self.watched();
        let v = w
            .get(&(drill_id.to_string(), name.to_string()))
            .ok_or_else(|| unknown_drill(name, drill_id))?;
        v.cancel.store(true, Ordering::SeqCst);
        tracing::info!(
            component = name,
            drill = drill_id,
            "drill cancel requested by the master"
        );
        Ok(RemoteDrillCancelled {
            ended: v.ended_at.is_some(),
        })
    }

    fn notes_dir(&self) -> PathBuf {
        self.inner.state_dir.join("drills")
    }

    fn note_path(&self, drill_id: &str, component: &str) -> PathBuf {
        self.notes_dir()
            .join(format!("{drill_id}.{component}.json"))
    }

    fn note(&self, drill_id: &str, component: &str, s: &ScratchFolder) -> Result<(), String> {
        let dir = self.notes_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let body = serde_json::to_vec_pretty(&Noted {
            drill_id: drill_id.to_string(),
            scratch: s.clone(),
        })
        .map_err(|e| e.to_string())?;
        fsutil::write_atomic(&self.note_path(drill_id, component), &body).map_err(|e| e.to_string())
    }

    /// The scratch folders of drills the agent died in, removed when they prove to be the
    /// drill's own; a note is dropped once its folder is gone.
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(self.notes_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let noted = fsutil::read_regular(&path, 64 * 1024)
                .ok()
                .and_then(|b| serde_json::from_slice::<Noted>(&b).ok());
            let Some(n) = noted else {
                tracing::warn!(file = %path.display(), "an unreadable drill note; left as it is");
                continue;
            };
            match scratch::remove(&n.scratch, &n.drill_id) {
                Ok(_) => {
                    tracing::warn!(drill = %n.drill_id, folder = %n.scratch.path, "removed the scratch folder of an interrupted drill");
                    if let Err(e) = std::fs::remove_file(&path) {
                        tracing::warn!(file = %path.display(), error = %e, "could not drop a drill note");
                    }
                }
                Err(e) => {
                    tracing::warn!(drill = %n.drill_id, error = %e, "a drill's scratch folder was left as it is")
                }
            }
        }
    }

    fn component(&self, name: &str) -> Result<&AgentComponentConfig, ApiError> {
        self.inner
            .components
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                ApiError::new(
                    ProblemKind::NotFound,
                    format!("component {name:?} is not served by this agent"),
                )
            })
    }

    /// The checks of a drill request before anything is made: the ID, the probe command,
    /// the spec, and the slot holding the backup (successful).
    async fn source(
        &self,
        name: &str,
        drill_id: &str,
        req: &RemoteDrillRequest,
    ) -> Result<(AgentComponentConfig, ComponentSpec, PathBuf, PathBuf), ApiError> {
        if !is_drill_id(drill_id) {
            return Err(ApiError::field(
                "drill_id",
                format!("{drill_id:?} is not a drill ID"),
            ));
        }
        let c = self.component(name)?.clone();
        if let Some(cmd) = &req.probe_command {
            if cmd.contains('\0') || crate::toolkit::command::split(cmd).is_err() {
                return Err(ApiError::field(
                    "probe_command",
                    "must be a command that splits into arguments",
                ));
            }
        }
        let src = &req.source;
        if !crate::engine::backup_id::is_valid(&src.backup_id) {
            return Err(ApiError::field(
                "source.backup_id",
                format!("{:?} is not a backup ID", src.backup_id),
            ));
        }
        let (spec, folder) =
            super::restore::checked_source(&self.inner.txns, name, src, "source.").await?;
        let root = match &c.drill_root {
            Some(r) => r.clone(),
            None => spec
                .backup_folder
                .parent()
                .map(|p| p.join("drills"))
                .ok_or_else(|| {
                    ApiError::field(
                        "source.backup_folder",
                        "has no parent folder for the default drill root",
                    )
                })?,
        };
        let problems = crate::config::check_drill_root(&self.site(&spec), name, &root);
        if !problems.is_empty() {
            return Err(ApiError::conflict(format!(
                "the drill root of component {name:?} on this agent cannot be used: {}",
                problems.join("; ")
            )));
        }
        Ok((c, spec, folder, root))
    }

    /// This machine as the folder check sees it: every home of the agent's components, the
    /// drilled one with its items and backup folder, and the agent's state folder.
    fn site(&self, spec: &ComponentSpec) -> Site {
        Site {
            components: self
                .inner
                .components
                .iter()
                .map(|c| {
                    let me = c.name == spec.name;
                    Resident {
                        name: c.name.clone(),
                        home: c.home.clone(),
                        items: if me { spec.items.clone() } else { vec![] },
                        backup_folder: me.then(|| spec.backup_folder.clone()),
                    }
                })
                .collect(),
            state_dir: Some(self.inner.state_dir.clone()),
            allowed_roots: None,
        }
    }

    /// Drills component `name` for drill `drill_id` (see the module doc). 404 for a component
    /// not served here, 422 naming the field for a bad request, 409 for a drill root that
    /// cannot be used; otherwise 200 with the result, passed or not.
    pub async fn run(
        &self,
        name: &str,
        drill_id: &str,
        req: &RemoteDrillRequest,
    ) -> Result<RemoteDrillAnswer, ApiError> {
        let started = Instant::now();
        let (c, spec, folder, root) = self.source(name, drill_id, req).await?;
        let cancelled = self.watch(drill_id, name)?;
        let me = self.clone();
        let (id, backup_id, slot) = (
            drill_id.to_string(),
            req.source.backup_id.clone(),
            req.source.slot.clone(),
        );
        let probe = req.probe_command.clone().filter(|p| !p.trim().is_empty());
        // To its end even when the master stops waiting: the scratch is removed either way.
        super::to_the_end(async move {
            tokio::task::spawn_blocking(move || {
                let answer = me.drill_blocking(
                    &c, &spec, &folder, &root, &id, &backup_id, slot, probe, started, &cancelled,
                );
                if let Some(w) = me.watched().get_mut(&(id, c.name.clone())) {
                    w.ended_at = Some(Instant::now());
                }
                answer
            })
            .await
            .map_err(|e| ApiError::internal(format!("the drill's task stopped: {e}")))
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    fn drill_blocking(
        &self,
        c: &AgentComponentConfig,
        spec: &ComponentSpec,
        folder: &Path,
        root: &Path,
        drill_id: &str,
        backup_id: &str,
        slot: String,
        probe: Option<String>,
        started: Instant,
        cancelled: &AtomicBool,
    ) -> RemoteDrillAnswer {
        let scratch_dir = scratch::folder_of(root, drill_id);
        let scratch_home = scratch_dir.join(&c.name);
        let mut result = ComponentDrill::new(&c.name);
        result.source_folder = Some(folder.display().to_string());
        result.scratch_home = Some(scratch_home.display().to_string());
        let mut noted = ScratchFolder {
            path: scratch_dir.display().to_string(),
            device: None,
            inode: None,
            removed: false,
            made_dirs: vec![],
        };
        // Noted before it is made: a stop of the agent from here on leaves nothing behind.
        if let Err(e) = self.note(drill_id, &c.name, &noted) {
            result
                .errors
                .push(format!("noting the scratch folder: {e}"));
            return answer_of(&result);
        }
        let made = match scratch::make(root, drill_id) {
            Ok(m) => m,
            Err(e) => {
                self.drop_note(drill_id, &c.name);
                result.errors.push(format!("the scratch folder: {e}"));
                return answer_of(&result);
            }
        };
        noted.device = Some(made.device);
        noted.inode = Some(made.inode);
        noted.made_dirs = made.made_dirs;
        if let Err(e) = self.note(drill_id, &c.name, &noted) {
            tracing::warn!(drill = drill_id, error = %e, "could not note the scratch folder's identity");
        }
        let refused = (!c.run_commands).then(|| {
            format!(
                "not run: this agent does not run the master's commands for component {:?} \
                 (set run_commands = true for it in the agent's config)",
                c.name
            )
        });
        let input = ComponentInput {
            drill_id,
            backup_id,
            spec,
            folder,
            origin: FolderOrigin::Slot,
            slot: Some(slot),
            scratch_home,
            probe_command: probe,
            probe_refused: refused,
            started,
            faults: &self.inner.faults,
            state_dir: &self.inner.state_dir,
            cancelled,
        };
        let keeper = Keeper {
            drills: self,
            key: (drill_id.to_string(), c.name.clone()),
        };
        let mut result = drill_component(&input, &keeper);
        match scratch::remove(&noted, drill_id) {
            Ok(_) => self.drop_note(drill_id, &c.name),
            Err(e) => {
                result.errors.push(e.to_string());
                result.status = crate::drill::ComponentDrillStatus::Failed;
            }
        }
        tracing::info!(component = %c.name, drill = drill_id, status = ?result.status, "drill on the agent");
        answer_of(&result)
    }

    fn drop_note(&self, drill_id: &str, component: &str) {
        let path = self.note_path(drill_id, component);
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), error = %e, "could not drop a drill note");
        }
    }
}

fn unknown_drill(name: &str, drill_id: &str) -> ApiError {
    ApiError::new(
        ProblemKind::NotFound,
        format!("no drill {drill_id} of component {name:?} is known to this agent"),
    )
}
