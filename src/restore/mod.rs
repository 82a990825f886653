//! Restore jobs (README *How backups work*; Maestro admin manual 11.7, automated): check the request, make the plan,
//! verify exactly the folders to be restored, then apply the plan in the background with a
//! safety copy of everything replaced, and roll back on any failure. No actix here;
//! `crate::api::restores` is the edge. This module owns what a restore does ([`check_request`],
//! [`prepare()`], [`apply`], [`recovery`]); the job runner (`crate::jobs::restore`) runs it:
//! it issues the ID, takes the job lock, keeps the records and the thread.
//!
//! # Starting a restore (`Restorer::start` in the job runner, blocking)
//! 1. The request alone: `backup_id` well-formed, `components` configured (default: every
//!    configured component), `source_folders` for chosen components only, absolute, no `..`.
//! 2. A restore ID is issued and the one-job lock shared with backups is taken
//!    (by the job runner); a running backup or restore answers
//!    [`RestoreRefused::Busy`]. Everything below happens under the lock, so no backup can rotate
//!    slots while the set is read, verified and restored.
//! 3. The folder of each chosen component: the one given in `source_folders` (its
//!    `readme.txt` must name that component and the ID, `Result: success`), else the set's
//!    preferred folder (a usable slot, else a usable imported folder). An unknown set (not on
//!    disk and no source folder for any component) is [`RestoreRefused::UnknownSet`]; a component
//!    without a folder (incomplete set) or with a failed one is refused naming it.
//! 4. The plan of each component ([`plan`]); a folder to restore from that is, holds or lies
//!    inside a path another chosen component's plan replaces is refused, naming its field
//!    ([`plan::source_clashes`]: that apply would move it aside and the commit delete it);
//!    then every chosen folder is verified against its `SHA256SUMS`
//!    (`Sets::verify_folders`); any changed, missing, unlisted or unreadable
//!    file refuses the restore, naming the files. Nothing was changed on disk up to here.
//! 5. The record is written (`jobs/restores/<ID>.json`, see [`record`]): status `planned` for a
//!    dry run (final; the lock is released), else `running`, and the plan is applied as a job of
//!    the runner that holds the lock until the restore is final ([`apply`]).
//!
//! # States
//! `planned` (dry run, final) · `running` → `succeeded` | `failed` (rolled back) |
//! `unhealthy` (a component did not become healthy after its start: committed and undoable, or
//! rolled back with `rollback_on_unhealthy`; see `apply/lifecycle.rs`) ·
//! a record found `running` when the master starts → rolled back and `interrupted`, or, when
//! the commit had been decided (every component applied), completed and `succeeded`
//! ([`recovery`]). That happens when the job runner opens the restores, before the scheduler can start a backup.
//!
//! # Decisions
//! * A restore's commit decision and its end count once they are on disk (see the job runner's restore journal):
//!   a decision whose save failed is withdrawn on disk before the rollback starts (else a
//!   crash during that rollback would be rolled forward over half-restored homes); an end
//!   whose save failed is retried, the restore `running` and the job lock held meanwhile
//!   (`/healthz` degraded). A panic after the decision completes the commit, never rolls it
//!   back.
//! * Safety folders `<home>/.pre-restore-<ID>` are kept once a restore of local components
//!   succeeded (recorded per component in `safety_copy`, with their size), so the restore can
//!   be undone ([`undo`]): an operator who restored the wrong set gets back the state it
//!   replaced. A kept copy is as large as what it replaced; it is discarded when a later
//!   restore (or undo) of that component succeeds, or on `DELETE /restores/{id}/safety-copy`,
//!   each time only after checking it is the folder the record names. A restore with remote
//!   components removes its local safety folders as before (agents keep none, so it cannot be
//!   undone). They are also kept (and named in the record) when a rollback could not empty
//!   them. At start-up a safety folder no record keeps and no `running` record will roll back
//!   is logged, never removed (it may be the only copy of a home's previous state).
//! * A dry run takes the lock too (it verifies the folders, which a rotating backup would make
//!   look missing) and is recorded like any restore, with status `planned` (the HTTP answer is
//!   200 with that record rather than 202: the plan is complete when the answer goes out). It
//!   writes only its record in the state folder; homes and backup folders are not touched.
//! * A restore's final status is shown to readers only after the lock is released, so a client
//!   that sees it final can start the next job at once.
//! * `lui.ini`: an older `RestoreFromBackup=` line in the restored file (any case) is dropped
//!   before the new one is appended, so the component sees exactly one; the line ending
//!   follows the file's (CRLF when its last line has one).
//! * A restore is not cancellable: stopping half-way would only mean a rollback, which a
//!   failed restore does anyway.
//! * Remote components (agents, README *Remote components*) are restored by their agents on their own machines
//!   ([`remote`], `crate::agent::restore`): the plan of a remote component (dry run included)
//!   is made by its agent from the slot of the set, its folder is verified through the agent,
//!   and the apply is the agent's (same rules, same safety folder in its home). The commit is
//!   decided only when every component, local and remote, is applied; then every agent commits
//!   (waited for until acknowledged), and only then the local safety folders go; any failure
//!   before the decision rolls back every component, local and remote.
//!   A remote component is restored only from its agent's slots: `source_folders` names
//!   folders on this machine, so it is refused for a remote component.
//! * A remote component that applied voted yes and never decides alone: the master renews it
//!   while it applies the others, and waits for its agent to acknowledge the commit or the
//!   rollback, with no time limit (the restore stays `running`, holding the job lock, with a
//!   note naming the agent). The restore ends `succeeded` only when every component was
//!   restored, never for a mixed outcome. Start-up recovery of a `running` restore with
//!   remote components runs in the background for the same reason (start-up never waits for
//!   an agent), holding the job lock.

pub mod apply;
pub mod plan;
mod prepare;
pub use crate::store::restore_record as record;
pub mod recovery;
pub mod remote;
pub mod undo;

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path};

use serde::Deserialize;
use utoipa::ToSchema;

use crate::engine::ComponentSpec;
use crate::kinds::JobKind;
pub use prepare::prepare;
pub use record::{
    ComponentRestore, ComponentState, FolderCheck, RestoreRecord, RestoreStatus, StepAction,
};

/// The body of `POST /restores`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The backup set to restore.
    #[schema(example = "20261126T020000Z")]
    pub backup_id: String,
    /// The components to restore; default: every configured component. A set that is
    /// incomplete or failed for other components can still be restored for these.
    #[schema(example = json!(["hub", "lui"]))]
    pub components: Option<Vec<String>>,
    /// Only make the plan and verify; change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Folders retrieved from an external medium, per component: used instead of the slots.
    /// Each must be an absolute path whose `readme.txt` names the component and `backup_id`.
    #[schema(example = json!({"trk": "/mnt/tape/trk/backup"}))]
    pub source_folders: Option<BTreeMap<String, String>>,
    /// A replication target to take the set from (for a set no longer on this machine's
    /// disks): the set is downloaded from its bucket into the state dir, every hash checked,
    /// then restored like `source_folders`. Not with `source_folders`.
    #[serde(default)]
    #[schema(example = "offsite")]
    pub from_target: Option<String>,
    /// With `from_target`: the remote components their agents downloaded (not part of the
    /// body; filled in by the server before the restore is prepared).
    #[serde(skip)]
    pub agent_downloads: BTreeMap<String, AgentDownload>,
}

/// A remote component of a set downloaded from a replication target by its agent, for a
/// restore from that target: the agent restores from this download instead of a slot.
#[derive(Clone, Debug)]
pub struct AgentDownload {
    /// The download's ID on the agent (`from_download` of its restore calls).
    pub download_id: String,
    /// The agent's URL.
    pub agent: String,
    /// Where the agent put it, and its check.
    pub answer: crate::store::wire::RemoteDownloadAnswer,
}

/// Why a restore did not start. Nothing was changed on disk.
#[derive(Debug, thiserror::Error)]
pub enum RestoreRefused {
    /// Fields of the request at fault: (field, message) each.
    #[error("invalid request: {}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String)>),
    /// The set cannot be restored as asked: the fields at fault (as `Invalid`), and why.
    #[error("{why:?}: {}", .fields.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Refused {
        why: Refusal,
        fields: Vec<(String, String)>,
    },
    /// No such backup set on disk.
    #[error("no backup set {0} on disk")]
    UnknownSet(String),
    /// A backup or restore runs.
    #[error("a {kind} is already running: {id}")]
    Busy { kind: JobKind, id: String },
    /// A home is not in a state a restore can work on.
    #[error("{0}")]
    Conflict(String),
    /// A remote component's agent could not be asked for its plan (no answer, or no plan).
    #[error("{0}")]
    AgentUnreachable(String),
    /// The record could not be written, or a thread not started.
    #[error("{0}")]
    Io(String),
}

/// Why a set is refused ([`RestoreRefused::Refused`]); the API answers each with its own code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The set has no folder for a component to restore.
    SetIncomplete,
    /// A component's backup in the set did not succeed.
    SetFailed,
    /// A folder to restore does not verify against its `SHA256SUMS`.
    SetNotVerified,
    /// A remote component's agent refused to plan.
    AgentRefused,
}

/// `Invalid`, or `Refused` when the set (not the request) is at fault.
fn invalid_or(why: Option<Refusal>, fields: Vec<(String, String)>) -> RestoreRefused {
    match why {
        Some(why) => RestoreRefused::Refused { why, fields },
        None => RestoreRefused::Invalid(fields),
    }
}

/// True for an absolute path without `..` (and not empty).
fn plain_absolute(p: &str) -> bool {
    let path = Path::new(p);
    path.is_absolute() && !path.components().any(|c| matches!(c, Component::ParentDir))
}

/// Checks the request on its own (no disk); returns the chosen components in config order.
pub fn check_request(
    req: &RestoreRequest,
    specs: &[ComponentSpec],
) -> Result<Vec<ComponentSpec>, RestoreRefused> {
    let mut invalid: Vec<(String, String)> = Vec::new();
    if !crate::sets::acceptable_id(&req.backup_id) {
        invalid.push((
            "backup_id".into(),
            format!(
                "{:?} is not a backup ID: only 0-9 A-Z a-z . _ - and no '..'",
                req.backup_id
            ),
        ));
    }
    let known: HashSet<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut wanted: Vec<&str> = Vec::new();
    match &req.components {
        Some(list) if list.is_empty() => invalid.push((
            "components".into(),
            "name at least one component, or leave it out to restore all".into(),
        )),
        Some(list) => {
            for (i, n) in list.iter().enumerate() {
                if !known.contains(n.as_str()) {
                    invalid.push((
                        format!("components[{i}]"),
                        format!(
                            "unknown component {n:?}; configured: {}",
                            specs
                                .iter()
                                .map(|s| s.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                } else if wanted.contains(&n.as_str()) {
                    invalid.push((format!("components[{i}]"), format!("{n:?} is named twice")));
                } else {
                    wanted.push(n);
                }
            }
        }
        None => wanted = specs.iter().map(|s| s.name.as_str()).collect(),
    }
    if specs.is_empty() {
        invalid.push(("components".into(), "no components are configured".into()));
    }
    for (name, path) in req.source_folders.iter().flatten() {
        let field = format!("source_folders.{name}");
        if !known.contains(name.as_str()) {
            invalid.push((field, format!("unknown component {name:?}")));
        } else if !wanted.contains(&name.as_str()) {
            invalid.push((
                field,
                format!("{name:?} is not among the components to restore"),
            ));
        } else if !plain_absolute(path) {
            invalid.push((
                field,
                format!("{path:?} must be an absolute path without '..'"),
            ));
        }
    }
    if !invalid.is_empty() {
        return Err(RestoreRefused::Invalid(invalid));
    }
    Ok(specs
        .iter()
        .filter(|s| wanted.contains(&s.name.as_str()))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Profile;
    use std::path::PathBuf;

    fn specs() -> Vec<ComponentSpec> {
        ["hub", "lui"]
            .iter()
            .map(|n| ComponentSpec {
                name: n.to_string(),
                profile: Profile::Custom,
                home: PathBuf::from(format!("/h/{n}")),
                backup_folder: PathBuf::from(format!("/h/{n}/backup")),
                keep: 1,
                items: vec!["a".into()],
                consistency: Default::default(),
                read_point: None,
            })
            .collect()
    }

    fn req(json: &str) -> RestoreRequest {
        serde_json::from_str(json).unwrap()
    }

    fn fields(e: RestoreRefused) -> Vec<String> {
        match e {
            RestoreRefused::Invalid(v) => v.into_iter().map(|(f, _)| f).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_checks_name_each_field() {
        let s = specs();
        let all = check_request(&req(r#"{"backup_id":"20261126T020000Z"}"#), &s).unwrap();
        assert_eq!(all.len(), 2);
        let one = check_request(
            &req(r#"{"backup_id":"20261126T020000Z","components":["lui"]}"#),
            &s,
        )
        .unwrap();
        assert_eq!(one[0].name, "lui");
        let e = check_request(
            &req(r#"{"backup_id":"../x","components":["lui","nope","lui"],
                    "source_folders":{"hub":"/t","lui":"rel/x","zz":"/a"}}"#),
            &s,
        )
        .unwrap_err();
        assert_eq!(
            fields(e),
            [
                "backup_id",
                "components[1]",
                "components[2]",
                "source_folders.hub",
                "source_folders.lui",
                "source_folders.zz"
            ]
        );
        let e = check_request(
            &req(r#"{"backup_id":"X1","components":[],"source_folders":{"hub":"/a/../b"}}"#),
            &s,
        )
        .unwrap_err();
        assert_eq!(fields(e), ["components", "source_folders.hub"]);
        assert!(serde_json::from_str::<RestoreRequest>(r#"{"backup_id":"x","bogus":1}"#).is_err());
    }
}
