//! Preparing a restore under the job lock (steps 3 to 5 of the module doc of `crate::restore`):
//! the folder of each chosen component, its plan and the verification of that folder, each
//! made here for a local component and by its agent for a remote one. Only reads the disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{SubsecRound, Utc};

use super::plan::{self, plan_component, PlanInput, PlanIssue};
use super::record::{
    ComponentRestore, ComponentState, FolderCheck, FolderOrigin, RestoreRecord, RestoreStatus as S,
    StepAction,
};
use super::remote::AgentLink;
use super::{invalid_or, Refusal, RestoreRefused, RestoreRequest};
use crate::engine::ComponentSpec;
use crate::sets::verify::TreeCheck;
use crate::sets::{BackupSet, FolderSource, FolderVerification, SetFolder, Sets};
use crate::store::{Locator, RestoreStep, StoreError};

/// A chosen component, the folder it is restored from and how that folder was chosen.
type Chosen = (ComponentSpec, SetFolder, FolderOrigin);

/// What the plans found wrong, gathered over every component before the restore is refused.
#[derive(Default)]
struct Findings {
    /// Request fields at fault: (field, message).
    invalid: Vec<(String, String)>,
    /// Why the set is refused, beside the request's own fields: the first reason found.
    why: Option<Refusal>,
    /// Homes (or agents) a restore cannot work on, each message naming its component.
    conflicts: Vec<String>,
    /// Whether a conflict is an agent that could not plan (rather than a home).
    agent_failed: bool,
}

impl Findings {
    /// Refuses the restore when anything was found: the fields first, then the conflicts.
    fn refuse(self) -> Result<(), RestoreRefused> {
        if !self.invalid.is_empty() {
            return Err(invalid_or(self.why, self.invalid));
        }
        if !self.conflicts.is_empty() {
            let message = format!("cannot restore: {}", self.conflicts.join("; "));
            return Err(if self.agent_failed {
                RestoreRefused::AgentUnreachable(message)
            } else {
                RestoreRefused::Conflict(message)
            });
        }
        Ok(())
    }
}

/// Folders, plans and verification, under the lock. Returns the record to write.
pub fn prepare(
    sets: &Sets,
    locator: Arc<dyn Locator>,
    id: &str,
    req: &RestoreRequest,
    chosen: &[ComponentSpec],
) -> Result<RestoreRecord, RestoreRefused> {
    let given = req.source_folders.clone().unwrap_or_default();
    let set = sets.get(&req.backup_id);
    if set.is_none() && given.is_empty() && req.agent_downloads.is_empty() {
        return Err(RestoreRefused::UnknownSet(req.backup_id.clone()));
    }
    let notes = unconfigured_notes(set.as_ref(), req, chosen);
    let folders = choose_folders(sets, set.as_ref(), req, &given, chosen)?;

    // Plans (only read the disk; a remote component's is its agent's).
    let link = AgentLink {
        locator,
        rt: tokio::runtime::Handle::try_current().ok(),
    };
    let mut found = Findings::default();
    let mut plans = Vec::new();
    for chosen in &folders {
        let plan = if chosen.0.is_remote() {
            let download = req
                .agent_downloads
                .get(&chosen.0.name)
                .map(|d| d.download_id.as_str());
            plan_on_agent(&link, id, &req.backup_id, chosen, download, &mut found)
        } else {
            plan_here(id, chosen, &mut found)
        };
        plans.extend(plan);
    }
    // A source that another component's apply would move aside (and its commit delete).
    for (k, msg) in plan::source_clashes(&plans) {
        if let Some(p) = plans.get(k) {
            found.invalid.push((field_of(p.origin, &p.name), msg));
        }
    }
    found.refuse()?;

    // Verify exactly the folders to restore.
    let verified: Vec<FolderVerification> = folders
        .iter()
        .map(|(spec, f, _)| {
            if let Some(d) = req.agent_downloads.get(&spec.name) {
                // Checked by its agent right after the download (and again before its apply).
                d.answer.verification.clone()
            } else if spec.is_remote() {
                verify_on_agent(&link, spec, f)
            } else {
                verify_here(sets, spec, f)
            }
        })
        .collect();
    if verified.len() != folders.len() {
        return Err(RestoreRefused::Io("verification returned no result".into()));
    }
    let checks = check_verified(&verified, &folders)?;
    Ok(new_record(id, req, given, checks, plans, notes))
}

/// A note for each folder of the set whose component is not configured (when every configured
/// component is restored).
fn unconfigured_notes(
    set: Option<&BackupSet>,
    req: &RestoreRequest,
    chosen: &[ComponentSpec],
) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    if let Some(s) = set {
        for f in &s.components {
            if !chosen.iter().any(|c| c.name == f.component)
                && req.components.is_none()
                && !notes.iter().any(|n| n.contains(&f.component))
            {
                notes.push(format!(
                    "the set has a folder for {:?}, which is not configured: not restored",
                    f.component
                ));
            }
        }
    }
    notes
}

/// The folder of each chosen component: the one given in `source_folders` (local components
/// only), else the set's preferred folder. Refuses naming every component without a usable one.
fn choose_folders(
    sets: &Sets,
    set: Option<&BackupSet>,
    req: &RestoreRequest,
    given: &BTreeMap<String, String>,
    chosen: &[ComponentSpec],
) -> Result<Vec<Chosen>, RestoreRefused> {
    let mut invalid: Vec<(String, String)> = Vec::new();
    let mut why: Option<Refusal> = None;
    let mut folders: Vec<Chosen> = Vec::new();
    let mut lacking = Vec::new();
    for spec in chosen {
        if let Some(d) = req.agent_downloads.get(&spec.name) {
            let folder = SetFolder {
                component: spec.name.clone(),
                folder: d.answer.folder.clone(),
                slot: None,
                source: FolderSource::Slot,
                // The manifest holds only successful sets; the agent checked the readme.
                result: Some("success".into()),
                started: None,
                finished: None,
                errors: vec![],
                problem: None,
                imported_at: None,
                agent: Some(d.agent.clone()),
            };
            folders.push((spec.clone(), folder, FolderOrigin::Replica));
            continue;
        }
        if spec.is_remote() && given.contains_key(&spec.name) {
            invalid.push((
                format!("source_folders.{}", spec.name),
                format!(
                    "{:?} is a remote component: it is restored from its agent's slots; \
                     source_folders names folders on this machine",
                    spec.name
                ),
            ));
            continue;
        }
        if let Some(path) = given.get(&spec.name) {
            let field = format!("source_folders.{}", spec.name);
            match sets.check_folder(&spec.name, Path::new(path), Some(&req.backup_id)) {
                Ok(f) if f.is_usable() => {
                    let origin = match req.from_target {
                        Some(_) => FolderOrigin::Replica,
                        None => FolderOrigin::SourceFolder,
                    };
                    folders.push((spec.clone(), f, origin))
                }
                Ok(f) => invalid.push((field, unusable(&f))),
                Err(e) => invalid.push((field, e.to_string())),
            }
            continue;
        }
        let Some(s) = set else {
            lacking.push(spec.name.clone());
            continue;
        };
        match s
            .preferred_folders()
            .into_iter()
            .find(|f| f.component == spec.name)
        {
            Some(f) if f.is_usable() => {
                let origin = match f.source {
                    FolderSource::Slot => FolderOrigin::Slot,
                    FolderSource::Imported => FolderOrigin::Imported,
                };
                folders.push((spec.clone(), f.clone(), origin));
            }
            Some(f) => {
                if f.problem.is_none() {
                    why.get_or_insert(Refusal::SetFailed);
                }
                invalid.push(("backup_id".into(), unusable(f)))
            }
            None => {
                why.get_or_insert(Refusal::SetIncomplete);
                invalid.push((
                    "backup_id".into(),
                    format!(
                        "backup set {} is incomplete: it has no folder for component {:?} \
                         (restore the other components with `components`, or give its \
                         folder in `source_folders`)",
                        req.backup_id, spec.name
                    ),
                ))
            }
        }
    }
    if !lacking.is_empty() {
        why.get_or_insert(Refusal::SetIncomplete);
        invalid.push((
            "source_folders".into(),
            format!(
                "backup set {} is not on disk: give a folder for {}",
                req.backup_id,
                lacking.join(", ")
            ),
        ));
    }
    if !invalid.is_empty() {
        return Err(invalid_or(why, invalid));
    }
    Ok(folders)
}

/// The plan of a local component, made here; what is wrong goes to `found`.
fn plan_here(
    id: &str,
    (spec, f, origin): &Chosen,
    found: &mut Findings,
) -> Option<ComponentRestore> {
    let input = PlanInput {
        restore_id: id,
        spec,
        folder: Path::new(&f.folder),
        origin: *origin,
        slot: f.slot.clone(),
    };
    match plan_component(&input) {
        Ok(p) => Some(p),
        Err(issues) => {
            let field = field_of(*origin, &spec.name);
            for issue in issues {
                match issue {
                    PlanIssue::Folder(m) => found.invalid.push((field.clone(), m)),
                    PlanIssue::Home(m) => found.conflicts.push(format!("{}: {m}", spec.name)),
                }
            }
            None
        }
    }
}

/// The plan of a remote component, made by its agent from the set's slot, or from its
/// download `download` of the set (from a replication target); what is wrong goes to `found`.
fn plan_on_agent(
    link: &AgentLink,
    id: &str,
    backup_id: &str,
    (spec, f, origin): &Chosen,
    download: Option<&str>,
    found: &mut Findings,
) -> Option<ComponentRestore> {
    let slot = f.slot.clone().unwrap_or_default();
    match link.step_from(
        &spec.name,
        id,
        RestoreStep::Plan,
        backup_id,
        &slot,
        None,
        download,
    ) {
        Ok(r) => match r.components.into_iter().next() {
            Some(mut p) => {
                p.agent = f.agent.clone();
                p.download = download.map(str::to_string);
                p.status = ComponentState::Pending;
                Some(p)
            }
            None => {
                found.agent_failed = true;
                found
                    .conflicts
                    .push(format!("{}: its agent answered no plan", spec.name));
                None
            }
        },
        Err(StoreError::Refused(m)) => {
            found.why.get_or_insert(Refusal::AgentRefused);
            found
                .invalid
                .push((field_of(*origin, &spec.name), format!("{}: {m}", spec.name)));
            None
        }
        // The agent answered 409: its home cannot be worked on.
        Err(e @ StoreError::Conflict(_)) => {
            found.conflicts.push(format!("{}: {e}", spec.name));
            None
        }
        Err(e) => {
            found.agent_failed = true;
            found.conflicts.push(format!("{}: {e}", spec.name));
            None
        }
    }
}

/// Verifies a local component's folder here.
fn verify_here(sets: &Sets, spec: &ComponentSpec, f: &SetFolder) -> FolderVerification {
    let mut v = sets.verify_folders(std::slice::from_ref(f));
    v.pop().unwrap_or_else(|| {
        FolderVerification::of(&spec.name, &f.folder, TreeCheck::failed("no result".into()))
    })
}

/// Verifies a remote component's slot through its agent.
fn verify_on_agent(link: &AgentLink, spec: &ComponentSpec, f: &SetFolder) -> FolderVerification {
    link.verify(&spec.name, f.slot.as_deref().unwrap_or_default())
        .map(|mut v| {
            v.folder = f.folder.clone();
            v
        })
        .unwrap_or_else(|e| {
            FolderVerification::of(
                &spec.name,
                &f.folder,
                TreeCheck::failed(format!("could not verify through the agent: {e}")),
            )
        })
}

/// The record's verification list; refuses the restore naming every folder that does not
/// verify, with its files.
fn check_verified(
    verified: &[FolderVerification],
    folders: &[Chosen],
) -> Result<Vec<FolderCheck>, RestoreRefused> {
    let mut invalid: Vec<(String, String)> = Vec::new();
    let mut checks = Vec::new();
    for (v, (spec, _, origin)) in verified.iter().zip(folders) {
        let mut problems = Vec::new();
        if let Some(e) = &v.error {
            problems.push(e.clone());
        }
        for (what, list) in [
            ("changed", &v.changed),
            ("missing", &v.missing),
            ("not listed in SHA256SUMS", &v.unlisted),
            ("unreadable", &v.unreadable),
        ] {
            if !list.is_empty() {
                problems.push(format!("{what}: {}", list.join(", ")));
            }
        }
        if v.omitted > 0 {
            problems.push(format!("and {} more", v.omitted));
        }
        let ok = v.ok && problems.is_empty();
        if !ok {
            let field = field_of(*origin, &spec.name);
            invalid.push((
                field,
                format!(
                    "{} ({}) does not verify against its SHA256SUMS: {}",
                    v.folder,
                    spec.name,
                    problems.join("; ")
                ),
            ));
        }
        checks.push(FolderCheck {
            component: spec.name.clone(),
            folder: v.folder.clone(),
            ok,
            problems,
        });
    }
    if !invalid.is_empty() {
        return Err(invalid_or(Some(Refusal::SetNotVerified), invalid));
    }
    Ok(checks)
}

/// The record of a prepared restore: `planned` (final) for a dry run, else `running`.
fn new_record(
    id: &str,
    req: &RestoreRequest,
    given: BTreeMap<String, String>,
    checks: Vec<FolderCheck>,
    plans: Vec<ComponentRestore>,
    notes: Vec<String>,
) -> RestoreRecord {
    let now = Utc::now().trunc_subsecs(0);
    let status = if req.dry_run { S::Planned } else { S::Running };
    let mut rec = RestoreRecord::blank(id, &req.backup_id, status, now);
    rec.dry_run = req.dry_run;
    rec.requested_components = req.components.clone();
    rec.source_folders = given;
    rec.started_at = (!req.dry_run).then_some(now);
    rec.finished_at = req.dry_run.then_some(now);
    rec.verification = checks;
    rec.components = plans;
    rec.notes = notes;
    rec.step(
        StepAction::Planned,
        None,
        None,
        None,
        Some(format!(
            "{} component(s) from backup set {}",
            rec.components.len(),
            rec.backup_id
        )),
    );
    for c in &rec.verification.clone() {
        rec.step(
            StepAction::Verified,
            Some(&c.component),
            Some(&c.folder),
            None,
            None,
        );
    }
    if rec.components.iter().any(|c| !c.edit.is_empty()) {
        rec.notes.push(
            "start the Maestro User Interface before the next backup: it reads its database \
             from the folder named in RestoreFromBackup, which the next backup rotates; \
             backups are refused until it has started and removed that line"
                .into(),
        );
    }
    rec
}

/// The request field that chose a component's folder.
fn field_of(origin: FolderOrigin, component: &str) -> String {
    match origin {
        FolderOrigin::SourceFolder => format!("source_folders.{component}"),
        FolderOrigin::Replica => "from_target".to_string(),
        _ => "backup_id".to_string(),
    }
}

fn unusable(f: &SetFolder) -> String {
    match (&f.problem, f.result.as_deref()) {
        (Some(p), _) => format!("{} ({}) cannot be used: {p}", f.folder, f.component),
        (None, Some("success")) => format!("{} ({}) cannot be used", f.folder, f.component),
        (None, r) => {
            let errors = if f.errors.is_empty() {
                String::new()
            } else {
                format!(": {}", f.errors.join("; "))
            };
            format!(
                "the backup of component {:?} in {} did not succeed (Result: {}){errors}",
                f.component,
                f.folder,
                r.unwrap_or("unknown")
            )
        }
    }
}
