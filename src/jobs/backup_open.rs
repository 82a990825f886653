//! Opening the backup job service: the state folder and its lock, start-up crash recovery
//! ([`crate::backup::recovery`]), the stand-in of an unreadable record, and the chain of jobs
//! that finishes what recovery could not.

use super::backup_job::{RecoveredBackup, Recovering};
use super::*;

fn local_factory(faults: Arc<Faults>) -> StoreFactory {
    let store: Arc<dyn ComponentStore> = Arc::new(LocalStore::new(faults));
    Arc::new(move |_spec: &ComponentSpec| store.clone())
}

fn lock_state_dir(state_dir: &Path) -> Result<nix::fcntl::Flock<File>, EngineError> {
    let path = state_dir.join("engine.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx("opening", &path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| EngineError::StateLocked(state_dir.to_path_buf()))
}

impl BackupJobs {
    /// Opens the state dir (creating it), runs crash recovery synchronously, loads the job
    /// records. Faults come from `BACKUP_MASTER_FAULTS`.
    pub fn open(
        state_dir: PathBuf,
        components: Vec<ComponentSpec>,
    ) -> Result<BackupJobs, EngineError> {
        Self::open_with(state_dir, components, Faults::from_env()?, None)
    }

    /// Like [`BackupJobs::open`] with explicit faults and, optionally, a store factory (default:
    /// every component is local). Tests use it to avoid the environment.
    pub fn open_with(
        state_dir: PathBuf,
        components: Vec<ComponentSpec>,
        faults: Faults,
        store_factory: Option<StoreFactory>,
    ) -> Result<BackupJobs, EngineError> {
        let records_dir = record::records_dir(&state_dir);
        fs::create_dir_all(&records_dir).ctx("creating folder", &records_dir)?;
        let logs = state_dir.join("logs");
        fs::create_dir_all(&logs).ctx("creating folder", &logs)?;
        let state_lock = lock_state_dir(&state_dir)?;
        // Loading removes the temp files of interrupted record writes (the record store's).
        let (records, unreadable) = record::load_all(&state_dir)?;
        for u in &unreadable {
            tracing::warn!("{}", u.warning());
        }
        let newest_unreadable = unreadable.iter().filter_map(|u| u.id.clone()).max();
        let floor = records
            .last()
            .map(|r| r.id.clone())
            .into_iter()
            .chain(newest_unreadable)
            .max();
        let ids = IdGenerator::load(&state_dir, floor.as_deref())?;
        let faults = Arc::new(faults);
        let factory = store_factory.unwrap_or_else(|| local_factory(faults.clone()));
        let runner = runner::Runner::current()
            .map_err(|e| EngineError::Internal(format!("no runtime for the jobs: {e}")))?;

        let mut map: BTreeMap<String, BackupRecord> =
            records.into_iter().map(|r| (r.id.clone(), r)).collect();
        // Staging folders that must survive the start-up cleanup: those kept for the operator,
        // and those of records that cannot be read (whether that backup was decided is unknown).
        let mut keep: Vec<(String, String)> = Vec::new();
        for r in map.values() {
            for k in &r.kept_stagings {
                keep.push((k.component.clone(), r.id.clone()));
            }
        }
        let mut stand_ins = BTreeMap::new();
        for u in &unreadable {
            let Some(id) = &u.id else { continue };
            if map.contains_key(id) {
                continue;
            }
            for c in &components {
                keep.push((c.name.clone(), id.clone()));
            }
            if let Some(rec) = stand_in(&state_dir, u, id, &components) {
                tracing::warn!(backup = %id, kept = ?rec.kept_stagings, "a job record cannot be read; its staging folders are kept for an operator");
                stand_ins.insert(id.clone(), u.path.clone());
                map.insert(id.clone(), rec);
            }
        }
        let recovered = block_on(recovery::recover(
            &state_dir,
            map.values().cloned().collect(),
            &keep,
            &components,
            &*factory,
        ))?;
        for r in recovered.records.iter().chain(&recovered.pending) {
            map.insert(r.id.clone(), r.clone());
        }
        // Every final backup whose hook is still owed (finished by recovery now, or ended
        // before the master stopped and its hook was not started): delivered once a finish
        // listener is set.
        let owed: Vec<BackupRecord> = map
            .values()
            .filter(|r| r.status.is_final() && r.hook_pending)
            .cloned()
            .collect();
        let engine = BackupJobs {
            inner: Arc::new(Inner {
                state_dir,
                components: RwLock::new(components),
                state: Mutex::new(State {
                    records: map.into_values().collect(),
                    live: HashMap::new(),
                    own: HashMap::new(),
                }),
                lock: Arc::new(JobLock::default()),
                runner,
                write_lock: Mutex::new(()),
                ids: Mutex::new(ids),
                faults,
                listener: Mutex::new(None),
                undelivered: Mutex::new(owed),
                recovered: recovered.records,
                store_factory: RwLock::new(factory),
                problems: Mutex::new(BTreeMap::new()),
                unreadable: Mutex::new(stand_ins),
                restore_lookup: RwLock::new(None),
                events: Mutex::new(Default::default()),
                _state_lock: state_lock,
            }),
        };
        if !recovered.pending.is_empty() || !recovered.unrecorded.is_empty() {
            engine.finish_in_background(recovered.unrecorded, recovered.pending);
        }
        Ok(engine)
    }

    /// Finishes, as a chain of jobs of the runner holding the job lock from now on, what
    /// start-up recovery could not: first the records whose final write failed (retried until
    /// durable: they stay `running` until then), then the commit of decided backups that an
    /// agent had not acknowledged when the master stopped (see `engine::recovery`): each ends
    /// `succeeded` with [`recovery::ROLLED_FORWARD`] or `failed` with the reason. The lock
    /// passes from one to the next without a gap ([`runner::Runner::spawn_chain`]), so no
    /// backup starts in between (its prepare would remove the staging folders still needed).
    fn finish_in_background(&self, unrecorded: Vec<BackupRecord>, pending: Vec<BackupRecord>) {
        let mut jobs: Vec<Arc<dyn runner::Job>> = Vec::new();
        for rec in unrecorded {
            jobs.push(Arc::new(RecoveredBackup::new(
                &self.inner,
                &rec.id.clone(),
                Recovering::Unrecorded(rec),
            )));
        }
        let config = self.all_components();
        for rec in pending {
            // Every component, also those acknowledged before the restart: the commit skips
            // them and counts them as committed.
            let participants: Vec<Participant> = rec
                .components
                .iter()
                .map(|c| {
                    let spec = recovery::spec_for(c, &config);
                    Participant {
                        store: self.store_for(&spec),
                        spec,
                    }
                })
                .collect();
            let (run, _) = self.go_live(&rec, participants, true);
            jobs.push(Arc::new(RecoveredBackup::new(
                &self.inner,
                &rec.id,
                Recovering::Decided(run),
            )));
        }
        let Some(first) = jobs.first().map(|j| j.id()) else {
            return;
        };
        // Taken before `open` returns: no backup or restore can start in between.
        let guard = self.inner.lock.hold_for_recovery(JobKind::Backup, &first);
        self.inner.runner.spawn_chain(jobs, guard);
    }
}

/// The record shown for backup `id` whose record file cannot be read, when staging folders of
/// it exist: they are kept for an operator (whether that backup was decided is unknown).
fn stand_in(
    state_dir: &Path,
    unreadable: &UnreadableRecord,
    id: &str,
    components: &[ComponentSpec],
) -> Option<BackupRecord> {
    let kept: Vec<KeptStaging> = components
        .iter()
        .filter(|c| !c.is_remote())
        .filter_map(|c| {
            let path = SlotLayout::of(&c.backup_folder).ok()?.staging(id);
            fsutil::exists_nofollow(&path).then(|| KeptStaging {
                component: c.name.clone(),
                folder: c.backup_folder.display().to_string(),
                path: path.display().to_string(),
            })
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    Some(BackupRecord {
        id: id.to_string(),
        status: BackupStatus::Interrupted,
        trigger: Trigger::Manual,
        scheduled_for: None,
        started_at: crate::engine::backup_id::parse(id)
            .map(|p| p.time)
            .unwrap_or_else(now),
        finished_at: None,
        components: vec![],
        errors: vec![format!(
            "the job record {} cannot be read ({}); this entry stands in for it (its trigger, \
             components and progress are unknown). Whether this backup had been decided is \
             unknown, so its staging folders are kept until an operator discards them",
            unreadable.path.display(),
            crate::engine::single_line(&unreadable.error)
        )],
        notes: vec![],
        commit_decided: false,
        report: report::report_path(state_dir, id).display().to_string(),
        kept_stagings: kept,
        hook_pending: false,
        heuristic: vec![],
    })
}
