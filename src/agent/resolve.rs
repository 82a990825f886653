//! `backup-master agent resolve`: an operator's decision, on the agent's own machine, for the
//! open transactions of a master that is gone for good (the README's procedure under *Remote components*).
//!
//! * `--list` shows every backup and restore not final on this agent (preparing, prepared,
//!   applied, in doubt) with what is known: when it was prepared or applied, the master's last
//!   message, since when it is in doubt, its staging folder or home. It only reads the state
//!   folder, so it also works while the agent runs (the times are then as last written).
//! * `--commit ID`, `--abort ID` (backups) and `--commit ID`, `--rollback ID` (restores, IDs
//!   `R...`) carry one decision out here, for every component of this agent that has that
//!   transaction open (or `--component NAME` only). They need the agent stopped: they take its
//!   state folder's lock, open it as the agent would at start-up, and record the outcome as an
//!   operator's (a heuristic decision). A master that comes back meets it: its record reports
//!   the heuristic outcome and flags a mismatch with its own decision.
//!
//! Each agent is resolved on its own machine; all of them must get the same decision for one
//! backup or restore, or the set (the application) ends mixed.

use super::config::AgentConfig;
use crate::store::wire::{OpenState, OpenTransaction, TxnKind};
use crate::store::Decision;

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    List { json: bool },
    Decide { id: String, decision: Decision },
}

/// Runs `action` on the agent whose config is `cfg`; returns the text to print.
pub fn run(cfg: &AgentConfig, action: &Action, component: Option<&str>) -> Result<String, String> {
    if let Some(c) = component {
        if !cfg.components.iter().any(|x| x.name == c) {
            return Err(format!("this agent does not serve component {c:?}"));
        }
    }
    match action {
        Action::List { json } => list(cfg, *json, component),
        Action::Decide { id, decision } => decide(cfg, id, *decision, component),
    }
}

/// Every open transaction recorded in the agent's state folder.
pub fn open_transactions(cfg: &AgentConfig) -> Vec<OpenTransaction> {
    let mut all = super::txn::open_on_disk(&cfg.state_dir);
    all.extend(super::restore::open_on_disk(&cfg.state_dir));
    all
}

fn list(cfg: &AgentConfig, json: bool, component: Option<&str>) -> Result<String, String> {
    let open: Vec<OpenTransaction> = open_transactions(cfg)
        .into_iter()
        .filter(|t| component.is_none_or(|c| c == t.component))
        .collect();
    if json {
        return serde_json::to_string_pretty(&open).map_err(|e| e.to_string());
    }
    if open.is_empty() {
        return Ok("no open backup or restore on this agent\n".into());
    }
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(crate::engine::readme::fmt_time)
            .unwrap_or_else(|| "-".into())
    };
    let running = super::lock_state_dir(&cfg.state_dir).is_err();
    let mut out = String::new();
    for t in &open {
        let state = match t.state {
            OpenState::Preparing => "being prepared".to_string(),
            OpenState::Applying => "being applied".to_string(),
            OpenState::Prepared => "prepared, waiting for the master's decision".to_string(),
            OpenState::Applied => "applied, waiting for the master's decision".to_string(),
            OpenState::InDoubt => format!("IN DOUBT since {}", fmt(t.participation.in_doubt_since)),
        };
        let (ready, place, choices) = match t.kind {
            TxnKind::Backup => ("prepared", "staging folder", "--commit or --abort"),
            TxnKind::Restore => ("applied", "home", "--commit or --rollback"),
        };
        out.push_str(&format!(
            "{} {} of {} (set {}): {state}\n  started {}, {ready} {}, the master's last message {}\n  {place}: {}\n  resolve with the agent stopped: backup-master agent resolve --config {} {choices} {}\n",
            t.kind.as_str(),
            t.id,
            t.component,
            t.backup_id,
            crate::engine::readme::fmt_time(t.started_at),
            fmt(t.ready_at),
            fmt(t.participation.last_message_at),
            t.path,
            cfg.file.display(),
            t.id,
        ));
    }
    if running {
        out.push_str(
            "(the agent is running: the times are as last written; stop it before resolving)\n",
        );
    }
    Ok(out)
}

fn decide(
    cfg: &AgentConfig,
    id: &str,
    decision: Decision,
    component: Option<&str>,
) -> Result<String, String> {
    let is_restore = crate::restore::record::parse_restore_id(id).is_some();
    match (is_restore, decision) {
        (true, Decision::Abort) => {
            return Err(format!(
                "{id} is a restore: --commit keeps it, --rollback puts every item back"
            ))
        }
        (false, Decision::Rollback) => {
            return Err(format!(
                "{id} is a backup: --commit rotates it into the slots, --abort removes its staging folder"
            ))
        }
        _ => {}
    }
    let _lock = super::lock_state_dir(&cfg.state_dir)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    rt.block_on(async {
        let txns = super::txn::Txns::open(cfg).await?;
        let mut out = String::new();
        if is_restore {
            let restores = super::restore::AgentRestores::open(
                &cfg.state_dir,
                txns,
                std::time::Duration::from_secs(cfg.decision_timeout_seconds),
            )?;
            for r in restores
                .resolve_by_operator(id, component, decision)
                .await?
            {
                let c = r.components.first();
                out.push_str(&format!(
                    "restore {id} of {}: {} ({})\n",
                    c.map(|c| c.name.as_str()).unwrap_or("?"),
                    r.status.as_str(),
                    c.map(|c| c.home.as_str()).unwrap_or("")
                ));
                for e in &r.errors {
                    out.push_str(&format!("  {e}\n"));
                }
            }
        } else {
            for v in txns.resolve_by_operator(id, component, decision).await? {
                out.push_str(&format!(
                    "backup {id} of {}: {} ({})\n",
                    v.component,
                    super::txn::state_name(v.state),
                    v.backup_path
                ));
            }
        }
        out.push_str(
            "recorded as an operator's decision; give every other agent of this backup or \
             restore the same decision\n",
        );
        Ok(out)
    })
}
