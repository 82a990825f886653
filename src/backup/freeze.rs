//! One shared point in time for every component of a backup (README, *A consistent point in
//! time*): freeze every component (config order) → take every component's read point →
//! thaw → copy. A component whose read point is a snapshot is thawed as soon as every read
//! point is taken, so its freeze lasts as long as the snapshots take; one read live (no
//! snapshot) stays frozen until every component's copy has ended. A snapshot is released when
//! its component's prepare ends, whatever the outcome.
//!
//! **Thaw is guaranteed.** A freeze that fails or times out fails the backup: every component
//! frozen so far, the failing one included (its command may have half-frozen it), is thawed and
//! every snapshot released. A thaw command that fails is tried [`THAW_ATTEMPTS`] times, then
//! reported in the record (notes and the component's `freeze.errors`). Each step is written to
//! the job's journal *before* it starts (`frozen`, `snapshot_held` in the component's
//! `freeze` record), so after a crash [`recover`] thaws and releases what the journal says is
//! still frozen or held.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};

use super::coordinator::{CoordinatorJournal, Participant, Run};
use crate::engine::consistency::{FreezeRecord, SnapshotMode};
use crate::engine::record::BackupRecord;
use crate::engine::single_line;
use crate::engine::ComponentSpec;
use crate::store::{ComponentStore, ConsistencyStep, StepDone};

/// How often a failing thaw command is tried.
pub const THAW_ATTEMPTS: u32 = 3;
/// The wait before the second attempt; doubled before each further one.
const THAW_RETRY: Duration = Duration::from_secs(1);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

fn edit(journal: &dyn CoordinatorJournal, name: &str, f: &mut dyn FnMut(&mut FreezeRecord)) {
    let res = journal.update(&mut |r: &mut BackupRecord| {
        if let Some(c) = r.component_mut(name) {
            f(c.freeze.get_or_insert_with(FreezeRecord::default));
        }
    });
    if let Err(e) = res {
        tracing::error!(error = %e, component = %name, "could not write the backup job record");
    }
}

fn note(journal: &dyn CoordinatorJournal, text: String) {
    tracing::warn!("{text}");
    let _ = journal.update(&mut |r| r.notes.push(text.clone()));
}

/// One component's state during the point in time.
struct Member {
    p: Participant,
    frozen_at: Option<Instant>,
    frozen: bool,
    snapshot: Option<std::path::PathBuf>,
    held: bool,
    /// Renews an agent's lease on what it holds for this member (remote components only).
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl Member {
    /// Starts renewing the agent's lease when a step asks for it (once).
    fn renew_if_asked(&mut self, id: &str, done: &StepDone) {
        let Some(every) = done.renew_every else {
            return;
        };
        if self.renewal.is_some() {
            return;
        }
        let (p, id) = (self.p.clone(), id.to_string());
        self.renewal = Some(tokio::task::spawn_local(async move {
            loop {
                tokio::time::sleep(every).await;
                let d = step(&p, &id, ConsistencyStep::Renew, None).await;
                if let Some(e) = d.error {
                    tracing::warn!(component = %p.spec.name, backup = %id, error = %e, "renewing the freeze lease failed");
                }
            }
        }));
    }

    /// Stops the renewals once nothing is held any more.
    fn stop_renewing_if_done(&mut self) {
        if !self.frozen && !self.held {
            if let Some(h) = self.renewal.take() {
                h.abort();
            }
        }
    }
}

impl Drop for PointInTime {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(h) = m.renewal.take() {
                h.abort();
            }
        }
    }
}

/// The components of a backup between their freeze and their thaw.
pub struct PointInTime {
    journal: Arc<dyn CoordinatorJournal>,
    id: String,
    members: Vec<Member>,
}

impl PointInTime {
    /// Freezes every component, takes every read point, and thaws those read from a snapshot.
    /// Returns the point in time and the participants to copy (their spec's `read_point` set
    /// where it is a snapshot), or, when a step failed or the backup was cancelled, the reason
    /// (everything frozen is thawed and every snapshot released by then).
    pub async fn take(run: &Run) -> Result<(PointInTime, Vec<Participant>), String> {
        let journal = run.journal.clone();
        let mut pit = PointInTime {
            journal: journal.clone(),
            id: run.id.clone(),
            members: run
                .participants
                .iter()
                .filter(|p| p.spec.consistency.has_read_point_steps())
                .map(|p| Member {
                    p: p.clone(),
                    frozen_at: None,
                    frozen: false,
                    snapshot: None,
                    held: false,
                    renewal: None,
                })
                .collect(),
        };
        for m in &pit.members {
            let mode = m.p.spec.consistency.snapshot;
            edit(&*journal, &m.p.spec.name, &mut |f| f.snapshot_mode = mode);
        }
        if let Err(reason) = pit.freeze_and_read(run).await {
            pit.release_all().await;
            pit.thaw_all().await;
            return Err(reason);
        }
        // Read from a snapshot: nothing the component writes now reaches the copy.
        for i in 0..pit.members.len() {
            if pit.members[i].snapshot.is_some() {
                pit.thaw(i).await;
            }
        }
        let participants = run
            .participants
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if let Some(m) = pit.members.iter().find(|m| m.p.spec.name == p.spec.name) {
                    p.spec.read_point.clone_from(&m.snapshot);
                }
                p
            })
            .collect();
        Ok((pit, participants))
    }

    async fn freeze_and_read(&mut self, run: &Run) -> Result<(), String> {
        let journal = self.journal.clone();
        for m in &mut self.members {
            if !m.p.spec.consistency.freezes() {
                continue;
            }
            if run.stop.is_cancelled() {
                return Err("the backup was stopped during the freeze".into());
            }
            let name = m.p.spec.name.clone();
            let at = now();
            // In the journal before the command starts: a crash from here on thaws it.
            edit(&*journal, &name, &mut |f| {
                f.frozen = true;
                f.freeze_started_at = Some(at);
            });
            m.frozen = true;
            m.frozen_at = Some(Instant::now());
            let done = step(&m.p, &self.id, ConsistencyStep::Freeze, None).await;
            m.renew_if_asked(&self.id, &done);
            edit(&*journal, &name, &mut |f| {
                f.freeze_command.clone_from(&done.outcome);
                f.errors.extend(done.error.clone());
            });
            if let Some(e) = done.error {
                return Err(single_line(&format!(
                    "backup aborted because the freeze of component {name} failed: {e}; no \
                     history slot was changed"
                )));
            }
        }
        for m in &mut self.members {
            let name = m.p.spec.name.clone();
            if m.p.spec.consistency.snapshot == SnapshotMode::None {
                let at = now();
                edit(&*journal, &name, &mut |f| {
                    f.read_point_at = Some(at);
                    f.frozen_during_copy = true;
                });
                continue;
            }
            if run.stop.is_cancelled() {
                return Err("the backup was stopped while its read points were taken".into());
            }
            edit(&*journal, &name, &mut |f| f.snapshot_held = true);
            m.held = true;
            let done = step(&m.p, &self.id, ConsistencyStep::ReadPoint, None).await;
            m.renew_if_asked(&self.id, &done);
            let at = now();
            let path = done.snapshot.as_ref().map(|p| p.display().to_string());
            edit(&*journal, &name, &mut |f| {
                f.snapshot_command.clone_from(&done.outcome);
                f.errors.extend(done.error.clone());
                if done.error.is_none() {
                    f.read_point_at = Some(at);
                    f.snapshot.clone_from(&path);
                }
            });
            m.snapshot.clone_from(&done.snapshot);
            if let Some(e) = done.error {
                return Err(single_line(&format!(
                    "backup aborted because the read point of component {name} could not be \
                     taken: {e}; no history slot was changed"
                )));
            }
        }
        Ok(())
    }

    /// Releases the snapshot of component `name` (its prepare ended).
    pub async fn release(&mut self, name: &str) {
        if let Some(i) = self.members.iter().position(|m| m.p.spec.name == name) {
            self.release_at(i).await;
        }
    }

    async fn release_at(&mut self, i: usize) {
        if !self.members[i].held {
            return;
        }
        let m = &self.members[i];
        let name = m.p.spec.name.clone();
        let done = step(
            &m.p,
            &self.id,
            ConsistencyStep::Release,
            m.snapshot.as_deref(),
        )
        .await;
        let ok = done.error.is_none();
        if let Some(e) = &done.error {
            note(
                &*self.journal,
                single_line(&format!("{name}: the snapshot could not be released: {e}")),
            );
        }
        edit(&*self.journal, &name, &mut |f| {
            if done.outcome.is_some() {
                f.release_command.clone_from(&done.outcome);
            }
            f.errors.extend(done.error.clone());
            if ok {
                f.snapshot_held = false;
            }
        });
        self.members[i].held = false;
        self.members[i].stop_renewing_if_done();
    }

    async fn release_all(&mut self) {
        for i in 0..self.members.len() {
            self.release_at(i).await;
        }
    }

    async fn thaw(&mut self, i: usize) {
        if !self.members[i].frozen {
            return;
        }
        let journal = self.journal.clone();
        let m = &self.members[i];
        let done = thaw_with_retries(&m.p, &self.id, &*journal).await;
        let window = m.frozen_at.map(|t| t.elapsed().as_secs_f64());
        let name = m.p.spec.name.clone();
        edit(&*journal, &name, &mut |f| {
            f.thawed_at = Some(now());
            f.freeze_seconds = window.map(|w| (w * 1000.0).round() / 1000.0);
            if done.error.is_none() {
                f.frozen = false;
            }
        });
        self.members[i].frozen = false;
        self.members[i].stop_renewing_if_done();
    }

    /// Thaws every component still frozen (their copies have ended).
    pub async fn thaw_all(&mut self) {
        for i in 0..self.members.len() {
            self.thaw(i).await;
        }
    }

    /// Releases what is still held and thaws what is still frozen: the end of the backup's
    /// copies, whatever their outcome.
    pub async fn end(mut self) {
        self.release_all().await;
        self.thaw_all().await;
    }
}

async fn step(
    p: &Participant,
    id: &str,
    step: ConsistencyStep,
    snapshot: Option<&std::path::Path>,
) -> StepDone {
    p.store.consistency_step(id, &p.spec, step, snapshot).await
}

/// Runs the thaw command up to [`THAW_ATTEMPTS`] times until it succeeds; records each attempt
/// in the component's `freeze` record and, if every attempt failed, a note.
async fn thaw_with_retries(
    p: &Participant,
    id: &str,
    journal: &dyn CoordinatorJournal,
) -> StepDone {
    let done = thaw_loop(&*p.store, &p.spec, id, &mut |attempts, done| {
        edit(journal, &p.spec.name, &mut |f| {
            f.thaw_attempts = attempts;
            f.thaw_command.clone_from(&done.outcome);
        });
    })
    .await;
    if let Some(e) = &done.error {
        let text = single_line(&format!(
            "{}: the thaw failed {THAW_ATTEMPTS} times ({e}); the component may still be \
             frozen: thaw it by hand",
            p.spec.name
        ));
        tracing::error!("{text}");
        edit(journal, &p.spec.name, &mut |f| f.errors.push(text.clone()));
        note(journal, text);
    }
    done
}

async fn thaw_loop(
    store: &dyn ComponentStore,
    spec: &ComponentSpec,
    id: &str,
    on_attempt: &mut (dyn FnMut(u32, &StepDone) + Send),
) -> StepDone {
    let mut delay = THAW_RETRY;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let done = store
            .consistency_step(id, spec, ConsistencyStep::Thaw, None)
            .await;
        on_attempt(attempt, &done);
        if done.error.is_none() || attempt >= THAW_ATTEMPTS {
            return done;
        }
        tracing::warn!(component = %spec.name, backup = %id, attempt, error = ?done.error, "thaw failed; trying again");
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
}

/// The spec and store of a configured component, by name.
pub type SpecOf<'a> =
    dyn Fn(&str) -> Option<(ComponentSpec, Arc<dyn ComponentStore>)> + Send + Sync + 'a;

/// After a crash: for a record the master did not finish, thaws every component its journal
/// says is still frozen and releases every snapshot it says is still held, recording each in
/// the record (which the caller saves). `store_for` gives the component's store and its spec
/// (the current config's consistency settings).
pub async fn recover(rec: &mut BackupRecord, spec_of: &SpecOf<'_>) {
    let id = rec.id.clone();
    for c in &mut rec.components {
        let Some(f) = c.freeze.as_mut() else { continue };
        if !f.frozen && !f.snapshot_held {
            continue;
        }
        let Some((spec, store)) = spec_of(&c.name) else {
            let text = format!(
                "{}: left frozen or with a snapshot by the stopped master, but it is not \
                 configured any more: thaw it and remove its snapshot by hand",
                c.name
            );
            tracing::error!("{text}");
            rec.notes.push(text);
            continue;
        };
        if f.snapshot_held {
            let snap = f.snapshot.as_ref().map(std::path::PathBuf::from);
            let done = store
                .consistency_step(&id, &spec, ConsistencyStep::Release, snap.as_deref())
                .await;
            match &done.error {
                None => {
                    f.snapshot_held = false;
                    rec.notes.push(format!(
                        "{}: the snapshot left by the stopped master was released at start-up",
                        c.name
                    ));
                }
                Some(e) => rec.notes.push(single_line(&format!(
                    "{}: the snapshot left by the stopped master could not be released: {e}",
                    c.name
                ))),
            }
            if done.outcome.is_some() {
                f.release_command = done.outcome;
            }
        }
        if f.frozen {
            let mut attempts = 0;
            let mut last = None;
            let done = thaw_loop(&*store, &spec, &id, &mut |a, d| {
                attempts = a;
                last.clone_from(&d.outcome);
            })
            .await;
            f.thaw_attempts = attempts;
            f.thaw_command = last;
            f.thawed_at = Some(now());
            match &done.error {
                None => {
                    f.frozen = false;
                    rec.notes.push(format!(
                        "{}: frozen when the master stopped; thawed at start-up",
                        c.name
                    ));
                }
                Some(e) => rec.notes.push(single_line(&format!(
                    "{}: frozen when the master stopped; the thaw at start-up failed {THAW_ATTEMPTS} \
                     times ({e}): thaw it by hand",
                    c.name
                ))),
            }
        }
    }
}
