//! The master's settings checked against this agent: the component it serves, the backup
//! folder on this machine (the same folder check as the master's), the spec of each call; and
//! the calls that only read the backup folder (history, verify).

use std::path::PathBuf;

use crate::agent::config::AgentComponentConfig;
use crate::config::{check_relative, has_dot_dot, resolve, MAX_KEEP};
use crate::engine::{folder_check, ComponentSpec, Profile};
use crate::error::{ApiError, FieldError, ProblemKind};
use crate::store::wire::RemoteSpec;
use crate::store::{ComponentStore, SlotInfo};

use super::{lock, Txns};

impl Txns {
    pub(super) fn component(&self, name: &str) -> Result<&AgentComponentConfig, ApiError> {
        self.inner
            .components
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                ApiError::not_found(format!("this agent does not serve component {name:?}"))
            })
    }

    /// `Ok` when this agent serves component `name` (404 otherwise).
    pub fn spec_of_name(&self, name: &str) -> Result<(), ApiError> {
        self.component(name).map(|_| ())
    }

    /// This machine as [`folder_check`] sees it when component `name` uses `items`: every
    /// component's home and items (the others' from their newest transaction, else their
    /// profile's), the others' backup folders as their newest transaction left them, the state
    /// dir and `allowed_roots`.
    pub(super) fn site(&self, name: &str, items: &[String]) -> folder_check::Site {
        let entries = lock(&self.inner.entries);
        let components = self
            .inner
            .components
            .iter()
            .map(|c| {
                let newest = entries
                    .iter()
                    .filter(|((n, _), _)| *n == c.name)
                    .max_by(|((_, a), _), ((_, b), _)| a.cmp(b))
                    .map(|(_, e)| &e.file);
                let given = if c.name == name {
                    Some(items.to_vec())
                } else {
                    newest.map(|f| f.items.clone())
                };
                let items = match given {
                    Some(i) if !i.is_empty() => i,
                    _ => c
                        .profile
                        .default_items()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                };
                folder_check::Resident {
                    name: c.name.clone(),
                    home: c.home.clone(),
                    items: items
                        .into_iter()
                        .filter(|i| check_relative(i).is_ok())
                        .collect(),
                    backup_folder: newest
                        .filter(|_| c.name != name)
                        .map(|f| f.backup_folder.clone()),
                }
            })
            .collect();
        folder_check::Site {
            components,
            state_dir: Some(self.inner.state_dir.clone()),
            allowed_roots: self.inner.allowed_roots.clone(),
        }
    }

    /// The backup folder setting resolved against the component's home and checked on this
    /// machine exactly as the master checks its own ([`folder_check::check_backup_folder`]).
    /// `to_write` (backups) also refuses what sits at the slot names without being this
    /// component's backup; reads (history, verify, restores) need not, and the rotation checks
    /// that itself anyway.
    pub(super) fn folder_of(
        &self,
        c: &AgentComponentConfig,
        backup_folder: &str,
        items: &[String],
        to_write: bool,
    ) -> Result<PathBuf, Vec<FieldError>> {
        let bad = |m: String| vec![FieldError::new("backup_folder", m)];
        if backup_folder.is_empty() || backup_folder.contains('\0') {
            return Err(bad("must name a folder".into()));
        }
        if has_dot_dot(backup_folder) {
            return Err(bad("must not contain '..'".into()));
        }
        let folder = resolve(&c.home, backup_folder);
        let problems: Vec<FieldError> =
            folder_check::check_backup_folder(&self.site(&c.name, items), &c.name, &folder)
                .into_iter()
                .filter(|p| to_write || !matches!(p, folder_check::FolderProblem::Foreign(_)))
                .map(|p| FieldError::new("backup_folder", p.to_string()))
                .collect();
        if problems.is_empty() {
            Ok(folder)
        } else {
            Err(problems)
        }
    }

    /// The spec of a backup call (prepare, commit, abort): the master's settings checked
    /// against this agent's component and machine.
    pub fn spec_of(&self, name: &str, req: &RemoteSpec) -> Result<ComponentSpec, ApiError> {
        self.checked_spec(name, req, true)
    }

    /// The spec of a call that only reads the backup folder (a restore's source): checked
    /// like [`Self::spec_of`], except for what sits at the slot names.
    pub fn spec_to_read(&self, name: &str, req: &RemoteSpec) -> Result<ComponentSpec, ApiError> {
        self.checked_spec(name, req, false)
    }

    pub(super) fn checked_spec(
        &self,
        name: &str,
        req: &RemoteSpec,
        to_write: bool,
    ) -> Result<ComponentSpec, ApiError> {
        let c = self.component(name)?;
        let mut errors = Vec::new();
        if req.profile != c.profile {
            errors.push(FieldError::new(
                "profile",
                format!(
                    "the master says {}, this agent's config says {} for component {name:?}",
                    req.profile.as_str(),
                    c.profile.as_str()
                ),
            ));
        }
        let folder = self
            .folder_of(c, &req.backup_folder, &req.items, to_write)
            .map_err(|e| errors.extend(e))
            .ok();
        if req.keep > MAX_KEEP {
            errors.push(FieldError::new(
                "keep",
                format!("must be between 0 and {MAX_KEEP}"),
            ));
        }
        if req.items.is_empty() && c.profile == Profile::Custom {
            errors.push(FieldError::new("items", "a custom component needs items"));
        }
        for (j, item) in req.items.iter().enumerate() {
            if let Err(e) = check_relative(item) {
                errors.push(FieldError::new(format!("items[{j}]"), e.to_string()));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: folder.unwrap_or_default(),
            keep: req.keep,
            items: req.items.clone(),
            consistency: Default::default(),
            read_point: None,
        })
    }

    pub(super) fn spec_of_entry(&self, name: &str, id: &str) -> Option<ComponentSpec> {
        let c = self.inner.components.iter().find(|c| c.name == name)?;
        let entries = lock(&self.inner.entries);
        let e = entries.get(&(name.to_string(), id.to_string()))?;
        Some(ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: e.file.backup_folder.clone(),
            keep: e.file.keep,
            items: e.file.items.clone(),
            consistency: Default::default(),
            read_point: None,
        })
    }

    /// The history slots of a component for the master's backup folder setting.
    pub async fn history(
        &self,
        name: &str,
        backup_folder: &str,
        keep: u32,
    ) -> Result<Vec<SlotInfo>, ApiError> {
        let c = self.component(name)?;
        let folder = self
            .folder_of(c, backup_folder, &[], false)
            .map_err(ApiError::validation)?;
        let spec = ComponentSpec {
            name: c.name.clone(),
            profile: c.profile,
            home: c.home.clone(),
            backup_folder: folder,
            keep,
            items: vec![],
            consistency: Default::default(),
            read_point: None,
        };
        self.inner
            .store
            .history(&spec)
            .await
            .map_err(|e| ApiError::new(ProblemKind::Unavailable, e.to_string()))
    }

    /// Checks one slot of a component against its `SHA256SUMS`.
    pub async fn verify(
        &self,
        name: &str,
        backup_folder: &str,
        slot: &str,
    ) -> Result<crate::sets::FolderVerification, ApiError> {
        let c = self.component(name)?;
        let folder = self
            .folder_of(c, backup_folder, &[], false)
            .map_err(ApiError::validation)?;
        let base = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ok_slot = slot
            .strip_prefix(base.as_str())
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()) && rest.len() <= 3);
        if !ok_slot {
            return Err(ApiError::field(
                "slot",
                format!("{slot:?} is not a history slot of {base:?}"),
            ));
        }
        let path = folder.with_file_name(slot);
        let name = name.to_string();
        tokio::task::spawn_blocking(move || {
            let check = crate::sets::verify::check_tree(&path, &Default::default());
            crate::sets::FolderVerification::of(&name, &path.display().to_string(), check)
        })
        .await
        .map_err(ApiError::internal)
    }
}
