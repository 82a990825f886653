//! Wiring: starts the engine, the hook manager, the scheduler and the notifier for a config,
//! connects them (a finished backup starts its hook; the scheduler starts backups; the events
//! of jobs, hooks, agents and the scheduler reach the notifier; a config change reaches each of
//! them), and stops them on shutdown.

use std::sync::Arc;

use actix_web::web;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::engine::record::{BackupRecord, BackupStatus, Trigger};
use crate::hooks::HookManager;
use crate::jobs::BackupJobs;
use crate::notify::{Notifier, RetryPolicy};
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
    /// Notification targets, deliveries and test sends.
    pub notifier: web::Data<Notifier>,
    /// Restore drills.
    pub drills: web::Data<crate::jobs::drill::Drills>,
    /// Off-site copies: replication targets' jobs and records.
    pub replications: web::Data<crate::jobs::replication::Replications>,
}

/// What the drills need of each component: its drill root and probe command.
fn drill_targets(cfg: &Config) -> Vec<crate::drill::DrillTarget> {
    cfg.components
        .iter()
        .map(|c| crate::drill::DrillTarget {
            name: c.name.clone(),
            root: cfg.drill_root_of(c),
            probe_command: c.drill_probe_command.clone(),
            health_command: c.lifecycle.health_command.clone(),
        })
        .collect()
}

/// The drill schedule of `[drill]` in the schedule's zone; `None` when none (or, logged, when
/// it is invalid, which config validation rules out).
fn drill_spec(cfg: &Config) -> Option<crate::schedule::DrillSpec> {
    let d = &cfg.drill;
    crate::schedule::DrillSpec::from_config_parts(
        &d.weekday,
        &d.time,
        d.every_days,
        &cfg.schedule.time_zone,
    )
    .map_err(|e| tracing::error!(error = %e, "drill.{e}"))
    .ok()
    .flatten()
}

/// Starts the drill schedule's task: it starts a drill at each instant of `[drill]`. Returns
/// the sender a config change goes through.
fn start_drill_schedule(
    cfg: &Config,
    drills: &crate::jobs::drill::Drills,
) -> tokio::sync::watch::Sender<Option<crate::schedule::DrillSpec>> {
    let (tx, rx) = tokio::sync::watch::channel(drill_spec(cfg));
    let d = drills.clone();
    let last: crate::schedule::drill::LastDrill = Arc::new(move || {
        d.last_started()
            .and_then(|t| jiff::Timestamp::from_second(t.timestamp()).ok())
    });
    let d = drills.clone();
    let launch: crate::schedule::drill::DrillLauncher = Arc::new(move |at| {
        let d = d.clone();
        // Starting reads the sets from disk: on the blocking pool, its outcome logged there.
        tokio::task::spawn_blocking(move || {
            let req = crate::jobs::drill::DrillRequest::default();
            match d.start(req, crate::drill::DrillTrigger::Schedule, to_chrono(at)) {
                Ok(r) => tracing::info!(drill = %r.id, "scheduled drill started"),
                Err(e) => tracing::warn!(error = %e, "scheduled drill not started"),
            }
        });
        Ok(format!("drill scheduled for {at}"))
    });
    actix_web::rt::spawn(crate::schedule::drill::run_drill_schedule(
        clock_from_env(),
        rx,
        last,
        launch,
    ));
    tx
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

/// How failed notifications are retried: the default (24 h), or for tests
/// `BACKUP_MASTER_NOTIFY_RETRY=first_ms:max_ms:give_up_ms`.
fn retry_policy_from_env() -> RetryPolicy {
    match std::env::var("BACKUP_MASTER_NOTIFY_RETRY") {
        Ok(v) => match RetryPolicy::parse(&v) {
            Some(p) => {
                tracing::warn!(?p, "notification retries set by BACKUP_MASTER_NOTIFY_RETRY");
                p
            }
            None => {
                tracing::error!(value = %v, "BACKUP_MASTER_NOTIFY_RETRY is not first_ms:max_ms:give_up_ms; ignored");
                RetryPolicy::default()
            }
        },
        Err(_) => RetryPolicy::default(),
    }
}

/// How often the agents are probed for their health: a minute, or for tests
/// `BACKUP_MASTER_AGENT_WATCH_SECS`.
fn agent_watch_period() -> std::time::Duration {
    let secs = std::env::var("BACKUP_MASTER_AGENT_WATCH_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(60);
    std::time::Duration::from_secs(secs)
}

/// `overdue_after_hours` as the scheduler takes it (`None`: off).
fn overdue_after(cfg: &Config) -> Option<jiff::SignedDuration> {
    let hours = cfg.notifications.overdue_after_hours;
    (hours > 0).then(|| jiff::SignedDuration::from_hours(hours as i64))
}

/// The end and ID of the newest successful backup, for the dead-man's switch.
fn last_success(engine: &BackupJobs) -> Option<(jiff::Timestamp, String)> {
    let page = engine.list_backups(&crate::jobs::ListQuery {
        limit: 1,
        cursor: None,
        status: Some(BackupStatus::Succeeded),
    });
    let rec = page.items.into_iter().next()?;
    let at = jiff::Timestamp::from_second(rec.finished_at?.timestamp()).ok()?;
    Some((at, rec.id))
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
        restorer.set_lifecycles(config.lifecycles());
        let drills = crate::jobs::drill::Drills::open(
            &state_dir,
            engine.clone(),
            sets.clone(),
            drill_targets(&config),
        )
        .map_err(|e| ServeError::Other(format!("opening the drills: {e}")))?;
        let replications = crate::jobs::replication::Replications::open(
            engine.clone(),
            sets.clone(),
            config.replication_targets(),
        )
        .map_err(|e| ServeError::Other(format!("opening the replications: {e}")))?;
        let hooks = HookManager::open(state_dir.clone(), hook_settings(&config))
            .map_err(|e| ServeError::Other(format!("opening the hook manager: {e}")))?;
        // Every layer emits its events into one sink; the notifier sends them on.
        let (events, received) = crate::toolkit::events::EventSink::channel();
        let notifier = Notifier::open(
            &state_dir,
            config.notification_targets(),
            retry_policy_from_env(),
        )
        .map_err(|e| ServeError::Other(format!("opening the notifications: {e}")))?;
        actix_web::rt::spawn(notifier.clone().run(received));
        engine.set_event_sink(events.clone());
        hooks.set_event_sink(events.clone());
        agents.set_event_sink(events.clone());
        actix_web::rt::spawn(agents.clone().watch(agent_watch_period()));
        // The scheduler (started below) hears of each success for its dead-man's switch.
        let scheduler_cell: Arc<std::sync::OnceLock<web::Data<Scheduler>>> = Arc::default();
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
        let (ev, sc) = (events.clone(), scheduler_cell.clone());
        let rp = replications.clone();
        engine.set_finish_listener(Arc::new(move |record: &BackupRecord| {
            // An agent that did not acknowledge an abort is met again soon.
            r.wake();
            let ok = record.status == BackupStatus::Succeeded;
            // Targets with mode = "after_backup" get the new set (in the background, after
            // this backup has released the job lock).
            if ok {
                rp.after_backup(&record.id);
            }
            if let Some(e) = crate::jobs::events::backup_ended(record) {
                ev.emit(e);
            }
            if let (true, Some(s), Some(end)) = (ok, sc.get(), record.finished_at) {
                if let Ok(at) = jiff::Timestamp::from_second(end.timestamp()) {
                    s.note_success(at, &record.id);
                }
            }
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
        let watch = crate::schedule::OverdueWatch {
            events: events.clone(),
            after: overdue_after(&config),
            last_success: last_success(&engine),
        };
        let scheduler = Scheduler::start_watching(
            state_dir,
            schedule_spec(&config)?,
            clock_from_env(),
            Arc::new(launcher),
            watch,
        )
        .map_err(|e| ServeError::Other(format!("starting the scheduler: {e}")))?;
        let scheduler = web::Data::new(scheduler);
        let _ = scheduler_cell.set(scheduler.clone());

        let drill_schedule = start_drill_schedule(&config, &drills);
        let streams = crate::api::streams::StreamLimits::new(config.max_stream_subscribers);
        let state = web::Data::new(AppState::new(config));
        state.set_scheduler(scheduler.clone().into_inner());
        let (e, h, s) = (engine.clone(), hooks.clone(), scheduler.clone());
        let n = notifier.clone();
        let rs = restorer.clone();
        let d = drills.clone();
        let rp = replications.clone();
        state.on_change(Arc::new(move |cfg: &Config| {
            rp.set_targets(cfg.replication_targets());
            e.set_components(cfg.component_specs());
            rs.set_lifecycles(cfg.lifecycles());
            d.set_targets(drill_targets(cfg));
            drill_schedule.send_replace(drill_spec(cfg));
            h.update_settings(hook_settings(cfg));
            n.set_targets(cfg.notification_targets());
            s.set_overdue_after(overdue_after(cfg));
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
            notifier: web::Data::new(notifier),
            drills: web::Data::new(drills),
            replications: web::Data::new(replications),
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
