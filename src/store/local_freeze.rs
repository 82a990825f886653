//! The freeze, read point and thaw of a component on this machine
//! ([`super::ComponentStore::consistency_step`] of the local store): its commands run here
//! (`toolkit::command`), btrfs snapshots through `engine::snapshot`.

use std::path::Path;

use super::{ConsistencyStep, StepDone};
use crate::engine::consistency::SnapshotMode;
use crate::engine::snapshot;
use crate::engine::{single_line, ComponentSpec};
use crate::toolkit::command::{self, Outcome};

fn run(id: &str, spec: &ComponentSpec, command: &str, snapshot: Option<&Path>) -> Outcome {
    let mut env = vec![
        ("BACKUP_ID".to_string(), id.to_string()),
        ("COMPONENT".to_string(), spec.name.clone()),
        (
            "COMPONENT_HOME".to_string(),
            spec.home.to_string_lossy().into_owned(),
        ),
    ];
    if let Some(s) = snapshot {
        env.push(("SNAPSHOT_PATH".into(), s.to_string_lossy().into_owned()));
    }
    let cwd = spec.home.is_dir().then(|| spec.home.clone());
    command::run(&command::Run {
        command: command.to_string(),
        env,
        cwd,
        timeout: spec.consistency.timeout(),
    })
}

/// A step done by a command: failed unless it exited 0.
fn by_command(what: &str, o: Outcome) -> StepDone {
    let error = (!o.succeeded()).then(|| {
        let mut e = format!("{what} {}", o.describe());
        if let Some(l) = o.last_line() {
            e.push_str(&format!(": {}", single_line(l)));
        }
        e
    });
    StepDone {
        outcome: Some(o),
        error,
        ..StepDone::default()
    }
}

fn failed(e: impl ToString) -> StepDone {
    StepDone {
        error: Some(e.to_string()),
        ..StepDone::default()
    }
}

/// Does `step` for backup `id`, blocking.
pub fn step(
    id: &str,
    spec: &ComponentSpec,
    step: ConsistencyStep,
    snap: Option<&Path>,
) -> StepDone {
    let k = &spec.consistency;
    match step {
        ConsistencyStep::Freeze if k.freezes() => {
            by_command("the freeze command", run(id, spec, &k.freeze_command, None))
        }
        ConsistencyStep::Thaw if k.thaws() => {
            by_command("the thaw command", run(id, spec, &k.thaw_command, None))
        }
        ConsistencyStep::Freeze | ConsistencyStep::Thaw | ConsistencyStep::Renew => {
            StepDone::default()
        }
        ConsistencyStep::ReadPoint => match k.snapshot {
            SnapshotMode::None => StepDone::default(),
            SnapshotMode::Btrfs => match snapshot::create_btrfs(&spec.home, id) {
                Ok(path) => StepDone {
                    snapshot: Some(path),
                    ..StepDone::default()
                },
                Err(e) => failed(e),
            },
            SnapshotMode::Command => {
                let mut done = by_command(
                    "the snapshot command",
                    run(id, spec, &k.snapshot_command, None),
                );
                if done.error.is_none() {
                    let printed = done.outcome.as_ref().and_then(Outcome::last_line);
                    match snapshot::check_view(printed, &spec.home, &spec.backup_folder) {
                        Ok(p) => done.snapshot = Some(p),
                        Err(e) => done.error = Some(e),
                    }
                }
                done
            }
        },
        ConsistencyStep::Release => match k.snapshot {
            SnapshotMode::None => StepDone::default(),
            SnapshotMode::Btrfs => match snapshot::delete_btrfs(&spec.home, id) {
                Ok(_) => StepDone::default(),
                Err(e) => failed(e),
            },
            SnapshotMode::Command if k.snapshot_release_command.trim().is_empty() => {
                StepDone::default()
            }
            SnapshotMode::Command => by_command(
                "the snapshot release command",
                run(id, spec, &k.snapshot_release_command, snap),
            ),
        },
    }
}
