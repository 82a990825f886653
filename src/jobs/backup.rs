//! The backup job service's operations: components and stores, starting, listing, reading,
//! cancelling backups, their reports and events, kept staging folders, heuristic notes.

use super::backup_job::BackupJob;
use super::*;
use crate::engine::participation::HeuristicLog;
use crate::toolkit::journal::Journal;
use crate::toolkit::journal::JournalError;

impl BackupJobs {
    /// Replaces the components; takes effect for the next backup.
    pub fn set_components(&self, components: Vec<ComponentSpec>) {
        *self
            .inner
            .components
            .write()
            .unwrap_or_else(|e| e.into_inner()) = components;
    }

    /// The local components (homes on this machine): the ones whose folders the backup sets
    /// and restores read directly. See [`BackupJobs::all_components`] for every one.
    pub fn components(&self) -> Vec<ComponentSpec> {
        self.all_components()
            .into_iter()
            .filter(|s| !s.is_remote())
            .collect()
    }

    /// Every component the next backup will use, local and remote (agent).
    pub fn all_components(&self) -> Vec<ComponentSpec> {
        self.inner
            .components
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The store of a configured component (local or remote), with its spec.
    pub fn store_of(
        &self,
        component: &str,
    ) -> Result<(ComponentSpec, Arc<dyn ComponentStore>), EngineError> {
        let spec = self.spec(component)?;
        let store = self.store_for(&spec);
        Ok((spec, store))
    }

    /// Replaces how stores are made (for remote components).
    pub fn set_store_factory(&self, f: StoreFactory) {
        *self
            .inner
            .store_factory
            .write()
            .unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub(super) fn store_for(&self, spec: &ComponentSpec) -> Arc<dyn ComponentStore> {
        let f = self
            .inner
            .store_factory
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        f(spec)
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// The runner of every job kind (on the server's runtime).
    pub fn runner(&self) -> &runner::Runner {
        &self.inner.runner
    }

    /// The job holding the exclusive lock, if any.
    pub fn running(&self) -> Option<RunningJob> {
        self.inner.lock.running()
    }

    /// Takes the one-job-at-a-time lock shared by backups and restores.
    pub fn try_lock_exclusive(
        &self,
        kind: JobKind,
        id: &str,
    ) -> Result<ExclusiveGuard, StartError> {
        self.inner
            .lock
            .take(kind, id)
            .map_err(|Busy { kind, id }| StartError::Busy { kind, id })
    }

    /// Called with the final record whenever a backup ends (any status). Final backups whose
    /// hook is still owed when the engine opens (finished by recovery, or ended just before the
    /// master stopped) are delivered now, once (to the first listener set); each whose hook the
    /// listener handled gets `hook_pending` cleared.
    pub fn set_finish_listener(&self, f: FinishListener) {
        let pending = {
            let mut l = lock(&self.inner.listener);
            *l = Some(f.clone());
            std::mem::take(&mut *lock(&self.inner.undelivered))
        };
        for r in &pending {
            if f(r) {
                hook_handled(&self.inner, &r.id);
            }
        }
    }

    /// Where the jobs emit their events (`toolkit::events`): a backup's start, a restore's
    /// end, a failed verification. A backup's end reaches the finish listener.
    pub fn set_event_sink(&self, sink: crate::toolkit::events::EventSink) {
        *lock(&self.inner.events) = sink;
    }

    /// The sink set by [`BackupJobs::set_event_sink`] (one that drops events before).
    pub fn events(&self) -> crate::toolkit::events::EventSink {
        lock(&self.inner.events).clone()
    }

    /// Names the restore that left a `RestoreFromBackup=` line in a `lui.ini`, for the 409 a
    /// backup gets meanwhile (the restores are not the engine's).
    pub fn set_restore_lookup(&self, f: RestoreLookup) {
        *self
            .inner
            .restore_lookup
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(f);
    }

    /// Reports (`Some`) or clears (`None`) a problem that degrades the server, under `subject`
    /// (e.g. `backup <ID>`): a job whose record cannot be written.
    /// Shown by `/healthz` and `/metrics`, and logged.
    pub fn set_problem(&self, subject: &str, problem: Option<String>) {
        set_problem(&self.inner, subject, problem);
    }

    /// What degrades the server now (see [`BackupJobs::set_problem`]), one line each.
    pub fn problems(&self) -> Vec<String> {
        lock(&self.inner.problems).values().cloned().collect()
    }

    /// Staging folders kept for an operator, over all backups.
    pub fn kept_stagings(&self) -> Vec<KeptStaging> {
        lock(&self.inner.state)
            .records
            .oldest_first()
            .flat_map(|r| r.kept_stagings.iter().cloned())
            .collect()
    }

    /// Backups whose commit is decided but not yet acknowledged by every component: still
    /// `running` with `commit_decided` (live, or rolled forward after a restart).
    pub fn committing(&self) -> Vec<String> {
        lock(&self.inner.state)
            .records
            .oldest_first()
            .filter(|r| r.status == BackupStatus::Running && r.commit_decided)
            .map(|r| r.id.clone())
            .collect()
    }

    /// True when backup `id` is known only by a record file that cannot be read: whether it
    /// was decided is unknown, so nothing may be presumed about it.
    pub fn is_unreadable(&self, id: &str) -> bool {
        lock(&self.inner.unreadable).contains_key(id)
    }

    /// Adds a note (and, for a mismatch, an error) about a heuristic outcome met later, to the
    /// record of backup `id` (final or not), and saves it.
    pub fn record_heuristic(
        &self,
        id: &str,
        h: &crate::store::HeuristicOutcome,
    ) -> Result<(), JournalError> {
        BackupJournal::new(self.inner.clone(), id).update(&mut |r| r.note_heuristic(h))
    }

    /// Refuses a backup while a maestro-lui home's `lui.ini` still has the `RestoreFromBackup=`
    /// line a restore appended: the component restores its database from that folder at its
    /// first start, and a backup now would rotate the folder away (and copy a half-restored
    /// application). Remote components are checked by their agents (their prepare refuses).
    fn check_no_restore_pending(&self, specs: &[ComponentSpec]) -> Result<(), StartError> {
        for s in specs
            .iter()
            .filter(|s| !s.is_remote() && s.profile == Profile::MaestroLui)
        {
            match profile::pending_restore_from(&s.home) {
                Ok(Some(folder)) => {
                    let restore = self
                        .inner
                        .restore_lookup
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_ref()
                        .and_then(|f| f(&s.name, &folder));
                    return Err(StartError::RestorePending {
                        component: s.name.clone(),
                        file: s.home.join(profile::LUI_INI),
                        folder,
                        restore,
                    });
                }
                Ok(None) => {}
                // The backup itself reports a lui.ini it cannot read.
                Err(e) => tracing::warn!(component = %s.name, error = %e, "cannot read lui.ini"),
            }
        }
        Ok(())
    }

    /// Removes the staging folders backup `id` keeps for an operator (`kept_stagings`) and
    /// records that; backups can start again. Each folder is checked right before: it must be
    /// the backup's staging name beside its component's backup folder (the name the record
    /// gives, which only a backup creates, exclusively), and its `readme.txt`, when it has one,
    /// must name this backup and component. Nothing is removed unless every folder passes.
    /// A stand-in (for a record file that cannot be read) is then saved in its place; the
    /// unreadable file is kept as `<ID>.json.unreadable`. Blocking.
    pub fn discard_kept_stagings(&self, id: &str) -> Result<BackupRecord, DiscardError> {
        let rec = self.get_backup(id).ok_or(DiscardError::NotFound)?;
        if rec.kept_stagings.is_empty() || !rec.status.is_final() {
            return Err(DiscardError::NothingKept(id.to_string()));
        }
        for k in &rec.kept_stagings {
            let path = Path::new(&k.path);
            let expected = SlotLayout::of(Path::new(&k.folder))
                .map(|l| l.staging(id))
                .map_err(|e| DiscardError::NotOurs(e.to_string()))?;
            if expected != path {
                return Err(DiscardError::NotOurs(format!(
                    "{} is not the staging folder of backup {id} beside {}; left alone",
                    k.path, k.folder
                )));
            }
            match fs::symlink_metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(IoError::new("reading metadata of", path, e).into()),
                Ok(m) if !m.is_dir() => {
                    return Err(DiscardError::NotOurs(format!(
                        "{} is not a folder; left alone",
                        k.path
                    )))
                }
                Ok(_) => {}
            }
            if let Ok(r) = Readme::read_from(path) {
                if r.backup_id != id || r.component != k.component {
                    return Err(DiscardError::NotOurs(format!(
                        "{}: its readme.txt names backup {} of {}, not {id} of {}; left alone",
                        k.path, r.backup_id, r.component, k.component
                    )));
                }
            }
        }
        for k in &rec.kept_stagings {
            let path = Path::new(&k.path);
            fsutil::remove_tree(path)?;
            fsutil::fsync_dir(&fsutil::parent_of(path))?;
            tracing::warn!(backup = %id, folder = %k.path, "kept staging folder discarded by an operator");
        }
        if let Some(file) = lock(&self.inner.unreadable).remove(id) {
            let aside = file.with_extension("json.unreadable");
            fs::rename(&file, &aside).ctx("renaming", &file)?;
        }
        let names: Vec<String> = rec.kept_stagings.iter().map(|k| k.path.clone()).collect();
        let note = format!(
            "an operator discarded the kept staging folder(s) {} at {}",
            names.join(", "),
            crate::engine::readme::fmt_time(now())
        );
        let journal = BackupJournal::new(self.inner.clone(), id);
        journal.update(&mut |r| {
            r.kept_stagings.clear();
            r.notes.push(note.clone());
        })?;
        self.get_backup(id).ok_or(DiscardError::NotFound)
    }

    /// Backups that recovery finished when the engine opened (already delivered to the finish
    /// listener; do not run hooks for them again).
    pub fn recovered(&self) -> Vec<BackupRecord> {
        self.inner.recovered.clone()
    }

    /// Starts a backup: takes the lock, issues the ID, writes the record (status `running`)
    /// before returning, and runs the backup as a job of the runner. Blocking.
    pub fn start_backup(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<BackupRecord, StartError> {
        let specs = self.all_components();
        if specs.is_empty() {
            return Err(StartError::NoComponents);
        }
        if let Some(r) = lock(&self.inner.state)
            .records
            .oldest_first()
            .find(|r| !r.kept_stagings.is_empty())
        {
            return Err(StartError::StagingKept {
                id: r.id.clone(),
                paths: r.kept_stagings.iter().map(|k| k.path.clone()).collect(),
            });
        }
        let guard = self
            .inner
            .lock
            .take_issuing(JobKind::Backup, || lock(&self.inner.ids).issue(Utc::now()))
            .map_err(|e| match e {
                TakeError::Busy(Busy { kind, id }) => StartError::Busy { kind, id },
                TakeError::Issue(e) => StartError::Io(e.into()),
            })?;
        // Checked under the lock, so no restore can add a line meanwhile.
        self.check_no_restore_pending(&specs)?;
        let id = guard.id().to_string();
        let state_dir = &self.inner.state_dir;
        let rec = BackupRecord {
            id: id.clone(),
            status: BackupStatus::Running,
            trigger,
            scheduled_for: scheduled_for.map(|t| t.trunc_subsecs(0)),
            started_at: now(),
            finished_at: None,
            components: specs
                .iter()
                .map(|s| {
                    let folder = s.backup_folder.display().to_string();
                    ComponentProgress::pending(
                        &s.name,
                        &folder,
                        s.keep,
                        self.store_for(s).location(),
                    )
                })
                .collect(),
            errors: vec![],
            notes: vec![],
            commit_decided: false,
            report: report::report_path(state_dir, &id).display().to_string(),
            kept_stagings: vec![],
            hook_pending: false,
            heuristic: vec![],
        };
        record::save(state_dir, &rec).map_err(|e| StartError::Io(e.into()))?;
        self.events().emit(super::events::backup_started(&rec));

        let participants: Vec<Participant> = specs
            .into_iter()
            .map(|spec| Participant {
                store: self.store_for(&spec),
                spec,
            })
            .collect();
        let (run, journal) = self.go_live(&rec, participants, false);
        let job = Arc::new(BackupJob::new(&self.inner, run, journal));
        self.inner.runner.spawn(job, Some(guard));
        Ok(rec)
    }

    /// Makes backup `rec` live: its record shown (as saved) with its event channel and cancel
    /// token at once, and the [`Run`] of the coordinator with its journal.
    pub(super) fn go_live(
        &self,
        rec: &BackupRecord,
        participants: Vec<Participant>,
        resumed: bool,
    ) -> (Run, Arc<BackupJournal>) {
        let id = rec.id.as_str();
        let (tx, _) = broadcast::channel(EVENT_CAPACITY);
        let stop = CancelToken::new();
        let user_cancelled = Arc::new(AtomicBool::new(false));
        {
            let mut st = lock(&self.inner.state);
            st.records.insert(rec.clone());
            st.live.insert(
                id.to_string(),
                Live {
                    tx,
                    stop: stop.clone(),
                    user_cancelled: user_cancelled.clone(),
                },
            );
        }
        let journal = Arc::new(BackupJournal::new(self.inner.clone(), id));
        let run = Run {
            id: id.to_string(),
            participants,
            journal: journal.clone(),
            faults: self.inner.faults.clone(),
            stop,
            user_cancelled,
            state_dir: self.inner.state_dir.clone(),
            resumed,
        };
        (run, journal)
    }

    /// [`BackupJobs::start_backup`] for async callers: on the runtime's blocking pool.
    pub async fn start_backup_async(
        &self,
        trigger: Trigger,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<BackupRecord, StartError> {
        let me = self.clone();
        self.inner
            .runner
            .blocking(move || me.start_backup(trigger, scheduled_for))
            .await
            .map_err(|e| StartError::Io(EngineError::Internal(e.to_string())))?
    }

    /// Backups, newest first.
    pub fn list_backups(&self, q: &ListQuery<BackupStatus>) -> BackupPage {
        let st = lock(&self.inner.state);
        let (items, next_cursor) = st.records.page(q, MAX_PAGE);
        BackupPage { items, next_cursor }
    }

    pub fn get_backup(&self, id: &str) -> Option<BackupRecord> {
        lock(&self.inner.state).records.get(id).cloned()
    }

    /// `<state_dir>/logs/backupReport_<ID>.txt` if the backup exists (the file is written when
    /// the backup ends).
    pub fn report_path(&self, id: &str) -> Option<PathBuf> {
        let exists = lock(&self.inner.state).records.contains(id);
        exists.then(|| report::report_path(&self.inner.state_dir, id))
    }

    /// The report's text; `Ok(None)` when the backup is unknown or its report is not written
    /// yet (it is written when the backup ends). Blocking file read.
    pub fn read_report(&self, id: &str) -> Result<Option<String>, EngineError> {
        let Some(path) = self.report_path(id) else {
            return Ok(None);
        };
        match crate::engine::fsutil::read_regular(
            &path,
            crate::engine::fsutil::MAX_STATE_FILE_BYTES,
        ) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Asks a running backup to stop; it ends `cancelled` once the runner notices (between
    /// files). After the commit was decided the request is ignored (noted in the record).
    pub fn cancel_backup(&self, id: &str) -> Result<BackupRecord, CancelError> {
        let mut st = lock(&self.inner.state);
        let State { records, live, .. } = &mut *st;
        let rec = records.get_mut(id).ok_or(CancelError::NotFound)?;
        if rec.status != BackupStatus::Running {
            return Err(CancelError::NotRunning { status: rec.status });
        }
        if rec.commit_decided {
            rec.notes
                .push("a cancel request came after the commit was decided and was ignored".into());
        } else if let Some(l) = live.get(id) {
            l.user_cancelled.store(true, Ordering::SeqCst);
            l.stop.cancel();
        }
        Ok(rec.clone())
    }

    /// The current record and a receiver of the events that follow it. For a finished backup
    /// the receiver yields nothing (it is closed).
    pub fn subscribe(&self, id: &str) -> Option<(BackupRecord, broadcast::Receiver<BackupEvent>)> {
        let st = lock(&self.inner.state);
        let rec = st.records.get(id)?.clone();
        let rx = match st.live.get(id) {
            Some(l) => l.tx.subscribe(),
            None => broadcast::channel(1).1,
        };
        Some((rec, rx))
    }

    /// The history slots of a component, read from disk. Blocks briefly (reads a few readme
    /// files); from async code prefer [`BackupJobs::history_async`].
    pub fn history(&self, component: &str) -> Result<Vec<SlotInfo>, EngineError> {
        let spec = self.spec(component)?;
        let store = self.store_for(&spec);
        Ok(block_on(async move { store.history(&spec).await })??)
    }

    pub async fn history_async(&self, component: &str) -> Result<Vec<SlotInfo>, EngineError> {
        let spec = self.spec(component)?;
        Ok(self.store_for(&spec).history(&spec).await?)
    }

    fn spec(&self, component: &str) -> Result<ComponentSpec, EngineError> {
        self.all_components()
            .into_iter()
            .find(|s| s.name == component)
            .ok_or_else(|| EngineError::UnknownComponent(component.to_string()))
    }

    /// Blocks until the backup is final or `timeout` passes; returns the record then. For
    /// tests and command-line use, not for async code.
    pub fn wait_blocking(&self, id: &str, timeout: Duration) -> Option<BackupRecord> {
        let deadline = Instant::now() + timeout;
        loop {
            let rec = self.get_backup(id)?;
            if rec.status.is_final() && self.running().is_none_or(|j| j.id != id) {
                return Some(rec);
            }
            if Instant::now() >= deadline {
                return Some(rec);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl crate::store::Locator for BackupJobs {
    fn all_components(&self) -> Vec<ComponentSpec> {
        BackupJobs::all_components(self)
    }

    fn store_of(
        &self,
        component: &str,
    ) -> Result<(ComponentSpec, Arc<dyn ComponentStore>), crate::store::UnknownComponent> {
        BackupJobs::store_of(self, component)
            .map_err(|_| crate::store::UnknownComponent(component.to_string()))
    }

    fn state_dir(&self) -> &Path {
        BackupJobs::state_dir(self)
    }
}
