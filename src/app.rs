//! Wiring: starts the engine, the hook manager and the scheduler for a config, connects them
//! (a finished backup starts its hook; the scheduler starts backups; a config change reaches
//! each of them), and stops them on shutdown.

use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::engine::record::{BackupRecord, BackupStatus, Trigger};
use crate::hooks::HookManager;
use crate::jobs::BackupJobs;
use crate::schedule::{Clock, ScheduleSpec, ScheduledTrigger, Scheduler, SystemClock};
use crate::server::ServeError;
use crate::state::AppState;

/// The running parts of the server, shared by every worker.
#[derive(Clone)]
pub struct AppParts {
    pub state: web::Data<AppState>,
    pub engine: web::Data<BackupJobs>,
    pub hooks: web::Data<HookManager>,
    pub scheduler: web::Data<Scheduler>,
    pub sets: web::Data<crate::sets::Sets>,
    pub restorer: web::Data<crate::jobs::restore::Restorer>,
    /// The agents of the remote components (probed by `GET /components`).
    pub agents: web::Data<crate::store::remote::Agents>,
    /// Resolves the agents' open transactions from the records (in doubt ones in `/metrics`).
    pub resolver: web::Data<crate::resolver::Resolver>,
    /// Subscribers per event stream (`max_stream_subscribers`).
    pub streams: web::Data<crate::api::streams::StreamLimits>,
    /// The audit log (`<state_dir>/audit`), written by `request_audit`.
    pub audit: web::Data<crate::audit::AuditLog>,
}

fn hook_settings(cfg: &Config) -> crate::hooks::HookSettings {
    crate::hooks::HookSettings {
        on_success: cfg.hooks.on_success.clone(),
        on_failure: cfg.hooks.on_failure.clone(),
        work_folder: cfg.hook_work_folder(),
        timeout_seconds: cfg.hooks.timeout_seconds,
        env: cfg.hooks.env.clone(),
    }
}

fn schedule_spec(cfg: &Config) -> Result<ScheduleSpec, ServeError> {
    let s = &cfg.schedule;
    ScheduleSpec::from_config_parts(s.enabled, &s.daily_time, &s.time_zone, s.catch_up)
        .map_err(|e| ServeError::Other(format!("schedule.{e}")))
}

/// The scheduler's clock. `BACKUP_MASTER_CLOCK_OFFSET_SECS` (for tests only) shifts it, so a
/// test can put "now" just before a scheduled instant instead of waiting for it.
struct OffsetClock(jiff::SignedDuration);

impl Clock for OffsetClock {
    fn now(&self) -> jiff::Timestamp {
        SystemClock
            .now()
            .saturating_add(self.0)
            .unwrap_or(SystemClock.now())
    }

    fn sleep_until(&self, deadline: jiff::Timestamp) -> crate::schedule::SleepFuture<'_> {
        let real = deadline.saturating_sub(self.0).unwrap_or(deadline);
        Box::pin(async move { SystemClock.sleep_until(real).await })
    }
}

fn clock_from_env() -> Arc<dyn Clock> {
    match std::env::var("BACKUP_MASTER_CLOCK_OFFSET_SECS")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(secs) if secs != 0 => {
            tracing::warn!(
                secs,
                "scheduler clock shifted by BACKUP_MASTER_CLOCK_OFFSET_SECS"
            );
            Arc::new(OffsetClock(jiff::SignedDuration::from_secs(secs)))
        }
        _ => Arc::new(SystemClock),
    }
}

fn to_chrono(t: jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.as_second(), 0)
}

impl AppParts {
    /// Starts everything behind the API for `config`. Must run inside the server's runtime.
    pub fn start(config: Config) -> Result<AppParts, ServeError> {
        let state_dir = config.state_dir.clone();
        let audit = crate::audit::AuditLog::open(
            &state_dir.join(crate::audit::DIR_NAME),
            config.audit_max_bytes,
        )
        .map_err(|e| ServeError::Other(format!("opening the audit log: {e}")))?;
        // Local components use the LocalStore, remote ones (agent) a RemoteStore each.
        let faults = crate::engine::faults::Faults::from_env()
            .map_err(|e| ServeError::Other(format!("opening the backup engine: {e}")))?;
        let hook_faults = faults.clone();
        let agents =
            crate::store::remote::Agents::from_config(&config).map_err(ServeError::Other)?;
        let local: Arc<dyn crate::store::ComponentStore> =
            Arc::new(crate::store::LocalStore::new(Arc::new(faults.clone())));
        let remote = agents.clone();
        let factory: crate::jobs::StoreFactory = Arc::new(move |spec| {
            if spec.is_remote() {
                remote.store(&spec.name)
            } else {
                local.clone()
            }
        });
        let engine = BackupJobs::open_with(
            state_dir.clone(),
            config.component_specs(),
            faults,
            Some(factory),
        )
        .map_err(|e| ServeError::Other(format!("opening the backup engine: {e}")))?;
        let sets = crate::jobs::verification::open_sets(&engine)
            .map_err(|e| ServeError::Other(format!("opening the backup sets: {e}")))?;
        // Restore recovery (rolling back an interrupted restore) runs here, before any backup.
        let restorer =
            crate::jobs::restore::Restorer::open(&state_dir, engine.clone(), sets.clone())
                .map_err(|e| ServeError::Other(format!("opening the restores: {e}")))?;
        let hooks = HookManager::open(state_dir.clone(), hook_settings(&config))
            .map_err(|e| ServeError::Other(format!("opening the hook manager: {e}")))?;
        // The agents' open transactions: resolved from the records now, then periodically and
        // whenever a backup ends.
        let resolver =
            crate::resolver::Resolver::new(engine.clone(), restorer.clone(), agents.clone());
        actix_web::rt::spawn(resolver.clone().run());

        hooks.set_abort_after_spawn(hook_faults.abort_at.contains("hook_spawned"));
        // Every finished backup (including the ones recovery finished, and those whose hook a
        // stopped master still owed) runs its hook, once: the hook's record, written before its
        // process starts, is the proof of a start.
        let h = hooks.clone();
        let r = resolver.clone();
        engine.set_finish_listener(Arc::new(move |record: &BackupRecord| {
            // An agent that did not acknowledge an abort is met again soon.
            r.wake();
            let ok = record.status == BackupStatus::Succeeded;
            match h.start_after_backup(ok, crate::jobs::backup_context(record)) {
                Ok(Some(p)) => {
                    tracing::info!(backup = %record.id, process = %p.id, status = %p.status, "post-backup hook");
                    true
                }
                Ok(None) => true,
                Err(e) => {
                    tracing::error!(backup = %record.id, error = %e, "post-backup hook not started; owed to the next start");
                    false
                }
            }
        }));
        // A backup refused while a restored lui.ini waits for its component's first start
        // names the restore.
        let r = restorer.clone();
        engine.set_restore_lookup(Arc::new(move |component: &str, folder: &str| {
            r.pending_restore(component, folder)
        }));

        let e = engine.clone();
        let launcher = move |trigger: ScheduledTrigger, at: jiff::Timestamp| {
            let trigger = match trigger {
                ScheduledTrigger::Schedule => Trigger::Schedule,
                ScheduledTrigger::CatchUp => Trigger::CatchUp,
            };
            e.start_backup(trigger, to_chrono(at))
                .map(|r| r.id)
                .map_err(|err| err.to_string())
        };
        let scheduler = Scheduler::start(
            state_dir,
            schedule_spec(&config)?,
            clock_from_env(),
            Arc::new(launcher),
        )
        .map_err(|e| ServeError::Other(format!("starting the scheduler: {e}")))?;
        let scheduler = web::Data::new(scheduler);

        let streams = crate::api::streams::StreamLimits::new(config.max_stream_subscribers);
        let state = web::Data::new(AppState::new(config));
        state.set_scheduler(scheduler.clone().into_inner());
        let (e, h, s) = (engine.clone(), hooks.clone(), scheduler.clone());
        state.on_change(Arc::new(move |cfg: &Config| {
            e.set_components(cfg.component_specs());
            h.update_settings(hook_settings(cfg));
            match schedule_spec(cfg) {
                Ok(spec) => {
                    if let Err(err) = s.update(spec) {
                        tracing::error!(error = %err, "rescheduling failed");
                    }
                }
                Err(err) => tracing::error!(error = %err, "schedule settings"),
            }
        }));
        Ok(AppParts {
            state,
            engine: web::Data::new(engine),
            hooks: web::Data::new(hooks),
            scheduler,
            sets: web::Data::new(sets),
            restorer: web::Data::new(restorer),
            agents: web::Data::new(agents),
            resolver: web::Data::new(resolver),
            streams: web::Data::new(streams),
            audit: web::Data::new(audit),
        })
    }

    /// Stops the scheduler, asks a running backup to stop, and ends running hook processes.
    pub async fn shutdown(&self) {
        self.scheduler.shutdown();
        if let Some(job) = self.engine.running() {
            if job.kind == crate::jobs::JobKind::Backup {
                // Refused only when the backup ended meanwhile (or its commit is decided and it
                // finishes by itself): either way the wait below is what matters.
                let _ = self.engine.cancel_backup(&job.id);
                let engine = self.engine.clone();
                let id = job.id.clone();
                // Best effort at shutdown: a backup still running then is finished by the next
                // start-up's recovery.
                let _ = web::block(move || {
                    engine.wait_blocking(&id, std::time::Duration::from_secs(10))
                })
                .await;
            }
        }
        self.hooks.terminate_all().await;
    }
}
