//! Prometheus text exposition of the server's state: last successful backup (overall and per
//! component), last backup's duration and bytes, backups by result, running hook processes,
//! whether the server is degraded and staging folders kept for an operator, transactions in
//! doubt on the agents (as the resolver's last pass left them), files that changed while copied,
//! replication targets (last set, its age, bytes uploaded, blobs skipped), build info.
//! Rendered from the job records on each scrape; knows nothing of HTTP.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::engine::record::{BackupRecord, BackupStatus};
use crate::jobs::{BackupJobs, ListQuery, MAX_PAGE};

/// Every backup record, newest first.
fn all_backups(engine: &BackupJobs) -> Vec<BackupRecord> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = engine.list_backups(&ListQuery {
            limit: MAX_PAGE,
            cursor: cursor.take(),
            status: None,
        });
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics text for `engine`, `running_hooks` and the transactions `in_doubt` on agents.
pub fn render(
    engine: &BackupJobs,
    running_hooks: usize,
    in_doubt: &[crate::resolver::InDoubtSeen],
) -> String {
    let backups = all_backups(engine);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    metric(
        "backup_master_build_info",
        "gauge",
        "Version of the running server.",
        &[(
            format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
            1.0,
        )],
    );

    let last_success = backups.iter().find(|b| b.status == BackupStatus::Succeeded);
    let ts = |b: &BackupRecord| b.finished_at.map(|t| t.timestamp() as f64).unwrap_or(0.0);
    let mut overall = Vec::new();
    if let Some(b) = last_success {
        overall.push((String::new(), ts(b)));
    }
    metric(
        "backup_master_last_success_timestamp_seconds",
        "gauge",
        "When the last successful backup finished (Unix time).",
        &overall,
    );
    // Per component: the newest backup in which that component committed.
    let mut per_component: BTreeMap<String, f64> = BTreeMap::new();
    for b in backups
        .iter()
        .filter(|b| b.status == BackupStatus::Succeeded)
    {
        for c in &b.components {
            per_component.entry(c.name.clone()).or_insert_with(|| ts(b));
        }
    }
    let samples: Vec<(String, f64)> = per_component
        .into_iter()
        .map(|(name, t)| (format!("{{component=\"{}\"}}", escape(&name)), t))
        .collect();
    metric(
        "backup_master_component_last_success_timestamp_seconds",
        "gauge",
        "When the component's last successful backup finished (Unix time).",
        &samples,
    );

    let last = backups.iter().find(|b| b.status.is_final());
    let mut duration = Vec::new();
    let mut bytes = Vec::new();
    if let Some(b) = last {
        if let Some(end) = b.finished_at {
            duration.push((
                String::new(),
                (end - b.started_at).num_milliseconds() as f64 / 1000.0,
            ));
        }
        let copied: u64 = b.components.iter().map(|c| c.bytes_copied).sum();
        let linked: u64 = b.components.iter().map(|c| c.bytes_linked).sum();
        bytes.push(("{kind=\"copied\"}".to_string(), copied as f64));
        bytes.push(("{kind=\"linked\"}".to_string(), linked as f64));
    }
    metric(
        "backup_master_last_backup_duration_seconds",
        "gauge",
        "Duration of the last finished backup.",
        &duration,
    );
    metric(
        "backup_master_last_backup_bytes",
        "gauge",
        "Bytes of the last finished backup: copied, or hard-linked from the previous slot.",
        &bytes,
    );

    let mut by_result: BTreeMap<&'static str, f64> = [
        ("succeeded", 0.0),
        ("failed", 0.0),
        ("cancelled", 0.0),
        ("interrupted", 0.0),
    ]
    .into_iter()
    .collect();
    for b in backups.iter().filter(|b| b.status.is_final()) {
        *by_result.entry(b.status.as_str()).or_default() += 1.0;
    }
    let samples: Vec<(String, f64)> = by_result
        .into_iter()
        .map(|(r, n)| (format!("{{result=\"{r}\"}}"), n))
        .collect();
    metric(
        "backup_master_backups_total",
        "counter",
        "Finished backups by result, as kept in the job records.",
        &samples,
    );
    // Each component of a finished backup shows, 0 until one of its files changed while copied.
    let mut changed: BTreeMap<String, f64> = BTreeMap::new();
    for b in backups.iter().filter(|b| b.status.is_final()) {
        for c in &b.components {
            *changed.entry(c.name.clone()).or_default() += c.changed_during_backup_count as f64;
        }
    }
    let samples: Vec<(String, f64)> = changed
        .into_iter()
        .map(|(name, n)| (format!("{{component=\"{}\"}}", escape(&name)), n))
        .collect();
    metric(
        "backup_master_files_changed_during_backup_total",
        "counter",
        "Files that kept changing while a finished backup copied them (their copy may be torn), by component, as kept in the job records.",
        &samples,
    );
    // The freeze window of each component in the newest finished backup that froze it.
    let mut window: BTreeMap<String, (&str, f64)> = BTreeMap::new();
    for b in backups.iter().filter(|b| b.status.is_final()) {
        for c in &b.components {
            let Some(secs) = c.freeze.as_ref().and_then(|f| f.freeze_seconds) else {
                continue;
            };
            let e = window
                .entry(c.name.clone())
                .or_insert((b.id.as_str(), secs));
            if b.id.as_str() >= e.0 {
                *e = (b.id.as_str(), secs);
            }
        }
    }
    let samples: Vec<(String, f64)> = window
        .into_iter()
        .map(|(name, (_, secs))| (format!("{{component=\"{}\"}}", escape(&name)), secs))
        .collect();
    metric(
        "backup_master_freeze_seconds",
        "gauge",
        "Seconds the component was frozen (freeze start to thaw end) in the newest finished backup that froze it.",
        &samples,
    );
    metric(
        "backup_master_backup_running",
        "gauge",
        "1 while a backup runs.",
        &[(
            String::new(),
            if backups.iter().any(|b| b.status == BackupStatus::Running) {
                1.0
            } else {
                0.0
            },
        )],
    );
    metric(
        "backup_master_hook_processes_running",
        "gauge",
        "Post-backup and test hook processes still running.",
        &[(String::new(), running_hooks as f64)],
    );
    metric(
        "backup_master_degraded",
        "gauge",
        "Problems that keep a job from ending (e.g. a job record that cannot be written; see /healthz).",
        &[(String::new(), engine.problems().len() as f64)],
    );
    metric(
        "backup_master_kept_staging_folders",
        "gauge",
        "Staging folders kept for an operator (a commit that could not be completed); backups are refused until they are discarded.",
        &[(String::new(), engine.kept_stagings().len() as f64)],
    );
    let mut by_component: BTreeMap<(String, &'static str), f64> = BTreeMap::new();
    for t in in_doubt {
        *by_component
            .entry((t.component.clone(), t.kind.as_str()))
            .or_default() += 1.0;
    }
    let samples: Vec<(String, f64)> = by_component
        .into_iter()
        .map(|((c, k), n)| (format!("{{component=\"{}\",kind=\"{k}\"}}", escape(&c)), n))
        .collect();
    metric(
        "backup_master_in_doubt_transactions",
        "gauge",
        "Backups and restores in doubt on agents (they voted yes and heard nothing from the master for the agent's decision_timeout_seconds), as the master's last look at the agents left them.",
        &samples,
    );
    out
}

/// The restore drill metrics: the last passed drill's end, its RTO and the set age (RPO) it
/// proved. No sample before the first passed drill.
pub fn render_drills(last_passed: Option<&crate::drill::DrillRecord>) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, value: Option<f64>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        if let Some(v) = value {
            let _ = writeln!(out, "{name} {v}");
        }
    };
    metric(
        "backup_master_last_drill_success_timestamp_seconds",
        "When the last passed restore drill finished (Unix time).",
        last_passed.and_then(|d| d.finished_at.map(|t| t.timestamp() as f64)),
    );
    metric(
        "backup_master_last_drill_rto_seconds",
        "The RTO the last passed restore drill measured: seconds from its start to a verified restore of every drilled component.",
        last_passed.and_then(|d| d.rto_seconds),
    );
    metric(
        "backup_master_last_drill_rpo_seconds",
        "The age of the set the last passed restore drill proved, when it started (seconds from the set's start to the drill's start).",
        last_passed.and_then(|d| d.rpo_seconds),
    );
    out
}

/// The replication metrics, per target, from its records: the last set replicated (its
/// replication's end as Unix time, and its age), bytes uploaded, blobs skipped as already on
/// the bucket, failed or interrupted replications, failed requests tried again.
pub fn replication_text(stats: &[(String, crate::jobs::replication::TargetStats)]) -> String {
    let now = chrono::Utc::now();
    let mut out = String::new();
    let mut metric =
        |name: &str,
         kind: &str,
         help: &str,
         value: &dyn Fn(&crate::jobs::replication::TargetStats) -> Option<f64>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (target, s) in stats {
                if let Some(v) = value(s) {
                    let _ = writeln!(out, "{name}{{target=\"{}\"}} {v}", escape(target));
                }
            }
        };
    metric(
        "backup_master_replication_last_success_timestamp_seconds",
        "gauge",
        "When the newest set replicated to the target was confirmed there (Unix time).",
        &|s| s.last_success_at.map(|t| t.timestamp() as f64),
    );
    metric(
        "backup_master_replication_last_set_age_seconds",
        "gauge",
        "Age of the newest set replicated to the target: seconds since its replication ended.",
        &|s| {
            s.last_success_at
                .map(|t| (now - t).num_seconds().max(0) as f64)
        },
    );
    metric(
        "backup_master_replication_bytes_uploaded_total",
        "counter",
        "Bytes uploaded to the target by the replications this server recorded.",
        &|s| Some(s.bytes_uploaded as f64),
    );
    metric(
        "backup_master_replication_blobs_skipped_total",
        "counter",
        "Blobs not uploaded because the target had them already (unchanged or shared content).",
        &|s| Some(s.blobs_skipped as f64),
    );
    metric(
        "backup_master_replication_failures_total",
        "counter",
        "Replications to the target that failed or were interrupted.",
        &|s| Some(s.failures as f64),
    );
    metric(
        "backup_master_replication_retries_total",
        "counter",
        "Requests to the target that failed (5xx, 429, 408, timeout, lost connection) and were tried again by the replications this server recorded.",
        &|s| Some(s.retries as f64),
    );
    out
}
