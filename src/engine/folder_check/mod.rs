//! The one check of where a backup folder may be (DESIGN §5.7), used by the config at start-up
//! and for `PUT /components/{name}`, by the agent for every call on its own machine, and (its
//! second half) for folders imported with `POST /backup-sets/import`.
//!
//! A backup folder `<parent>/<NAME>` comes with its **area**: every name beside it that the
//! engine may create, rename or delete — the slots `<NAME>`, `<NAME>1` .. `<NAME>100`,
//! `<NAME>.failed`, `<NAME>.staging-<ID>…` and `<NAME>.trash-<ID>-…`
//! ([`SlotLayout::owns_name`]). A backup folder is acceptable only when
//! * no name of its area is, contains or lies inside the home of another component, and none
//!   is or contains its own home (lying inside it is the usual `backup_folder = "backup"`);
//! * no name of its area is, contains or lies inside an item of any component, its own
//!   included (backups would back themselves up, and a restore would delete them);
//! * its area and another component's area share no name and neither lies inside the other
//!   (names are compared generously here: `backup` and `backup7`, `backup.old` clash);
//! * no name of its area is, contains or lies inside the state dir, unless the folder lies
//!   inside its own home and that home lies inside the state dir (the embedded demo setup);
//! * nothing at its slot names or at `<NAME>.failed` is something else than this component's
//!   backup ([`slots::foreign_entries`]: a folder without the component's readme, a file, a
//!   symbolic link; an empty folder only at `<NAME>` and `<NAME>.failed`);
//! * every name of its area, with the longest backup ID, fits [`NAME_MAX`] bytes and its path
//!   [`PATH_MAX`];
//! * where `allowed_roots` are given (the agent's config), it lies inside one of them.
//!
//! Paths are compared as the file system resolves them: the existing part of each path is
//! canonicalized (symbolic links followed) except the last name of a backup folder or an item,
//! which the engine renames or removes itself and never follows.
//!
//! [`check_import_folder`] applies the same relations to a folder that only is read: it must
//! not be or hold a home, be, hold or lie inside an item (a restore of that component would
//! delete it), or be, hold or lie inside the state dir.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use super::backup_id::MAX_ID_LEN;
use super::slots::{self, NotOwned, SlotLayout};
use super::ComponentSpec;

/// Longest file name, in bytes, on the file systems this runs on.
pub const NAME_MAX: usize = 255;
/// Longest path, in bytes, a system call accepts (with its terminating NUL).
pub const PATH_MAX: usize = 4096;

/// A component as the check sees it: where its home, items and backup folder are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resident {
    pub name: String,
    /// Absolute.
    pub home: PathBuf,
    /// Relative to the home; a trailing `/` is allowed.
    pub items: Vec<String>,
    /// Absolute, when known (a remote component's is not, on the master).
    pub backup_folder: Option<PathBuf>,
}

/// Everything on one machine that a backup folder must keep clear of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Site {
    pub components: Vec<Resident>,
    /// The master's or the agent's state dir.
    pub state_dir: Option<PathBuf>,
    /// When set, backup folders must lie inside one of these (the agent's `allowed_roots`).
    pub allowed_roots: Option<Vec<PathBuf>>,
}

impl Site {
    /// The components of this machine (remote ones are skipped: their folders are elsewhere)
    /// and the state dir, from the engine's specs.
    pub fn of_specs(specs: &[ComponentSpec], state_dir: &Path) -> Site {
        Site {
            components: specs
                .iter()
                .filter(|s| !s.is_remote())
                .map(|s| Resident {
                    name: s.name.clone(),
                    home: s.home.clone(),
                    items: s.items.clone(),
                    backup_folder: Some(s.backup_folder.clone()),
                })
                .collect(),
            state_dir: Some(state_dir.to_path_buf()),
            allowed_roots: None,
        }
    }
}

/// How one path stands to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The backup folder itself, or `area_name` of its area, is that path.
    Is { area_name: Option<PathBuf> },
    /// The backup folder, or `area_name` of its area, would contain that path.
    Contains { area_name: Option<PathBuf> },
    /// The backup folder (its whole area) lies inside that path.
    Inside,
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Is { area_name: None } => f.write_str("is"),
            Relation::Is { area_name: Some(n) } => write!(f, "would use {}, which is", n.display()),
            Relation::Contains { area_name: None } => f.write_str("contains"),
            Relation::Contains { area_name: Some(n) } => {
                write!(f, "would use {}, which contains", n.display())
            }
            Relation::Inside => f.write_str("lies inside"),
        }
    }
}

/// One reason a folder is refused. Every message names the folder and what it clashes with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FolderProblem {
    #[error("{} names no folder", .0.display())]
    NoName(PathBuf),
    #[error("{} is too long: the name {name:?} has {len} bytes, more than the {NAME_MAX} a file name may have", folder.display())]
    NameTooLong {
        folder: PathBuf,
        name: String,
        len: usize,
    },
    #[error("{} is too long: {} would have {len} bytes, more than the {} a path may have", folder.display(), longest.display(), PATH_MAX - 1)]
    PathTooLong {
        folder: PathBuf,
        longest: PathBuf,
        len: usize,
    },
    #[error("{} is not inside one of the allowed_roots of this machine ({roots})", folder.display())]
    OutsideRoots { folder: PathBuf, roots: String },
    #[error("{} {relation} its own home {}: the rotation would move the home away", folder.display(), home.display())]
    OwnHome {
        folder: PathBuf,
        home: PathBuf,
        relation: Relation,
    },
    #[error("{} {relation} the home of component {component:?} ({}): backups and their rotation would replace or delete its files", folder.display(), home.display())]
    OtherHome {
        folder: PathBuf,
        component: String,
        home: PathBuf,
        relation: Relation,
    },
    #[error("{} {relation} {} ({}): backups would back themselves up, and a restore would delete them", folder.display(), whose(component, *own), item.display())]
    Item {
        folder: PathBuf,
        component: String,
        own: bool,
        item: PathBuf,
        relation: Relation,
    },
    #[error("{} {how} component {component:?} ({}): each component needs its own, or backups overwrite each other", folder.display(), other.display())]
    OtherArea {
        folder: PathBuf,
        component: String,
        other: PathBuf,
        how: &'static str,
    },
    #[error("{} {relation} the state folder {} of backup-master", folder.display(), state_dir.display())]
    StateDir {
        folder: PathBuf,
        state_dir: PathBuf,
        relation: Relation,
    },
    #[error(transparent)]
    Foreign(#[from] NotOwned),
    #[error("{}: cannot look at {}: {reason}", folder.display(), parent.display())]
    Unreadable {
        folder: PathBuf,
        parent: PathBuf,
        reason: String,
    },
    #[error("{} {relation} {}: {why}", folder.display(), what)]
    Import {
        folder: PathBuf,
        what: String,
        relation: &'static str,
        why: &'static str,
    },
}

fn whose(component: &str, own: bool) -> String {
    if own {
        "its own item".to_string()
    } else {
        format!("an item of component {component:?}")
    }
}

/// `p` as the file system resolves it: the longest existing part canonicalized (symbolic
/// links followed), the rest appended as written.
pub fn physical(p: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut cur = p;
    loop {
        if let Ok(c) = std::fs::canonicalize(cur) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// `p` resolved like [`physical`], except its last name (which is not followed).
fn physical_keep_name(p: &Path) -> PathBuf {
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => physical(parent).join(name),
        _ => physical(p),
    }
}

/// The area of a backup folder, resolved.
struct Area {
    /// The folder as configured (for messages).
    shown: PathBuf,
    layout: SlotLayout,
}

impl Area {
    fn of(folder: &Path) -> Option<Area> {
        let resolved = physical_keep_name(folder);
        let layout = SlotLayout::of(&resolved).ok()?;
        Some(Area {
            shown: folder.to_path_buf(),
            layout,
        })
    }

    fn parent(&self) -> &Path {
        &self.layout.parent
    }

    /// How the area stands to the (resolved) path `x`.
    fn relation(&self, x: &Path) -> Option<Relation> {
        if let Ok(rest) = x.strip_prefix(self.parent()) {
            let mut parts = rest.components();
            if let Some(Component::Normal(first)) = parts.next() {
                if self.layout.owns_name(first) {
                    let member = self.parent().join(first);
                    let area_name = (member != self.layout.slot(0)).then_some(member);
                    return Some(if parts.next().is_none() {
                        Relation::Is { area_name }
                    } else {
                        Relation::Contains { area_name }
                    });
                }
            }
        }
        self.parent().starts_with(x).then_some(Relation::Inside)
    }
}

/// True when names `a` and `b` in one folder could share a name of their areas: equal, or one
/// is the other followed by digits or by `.` (generous on purpose: `backup` and `backup.old`).
fn names_clash(a: &str, b: &str) -> bool {
    let extends = |long: &str, short: &str| {
        long.strip_prefix(short).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with('.') || rest.bytes().all(|c| c.is_ascii_digit())
        })
    };
    extends(a, b) || extends(b, a)
}

/// The length checks alone: every part of `folder` and every name of its area (with the
/// longest backup ID) at most [`NAME_MAX`] bytes; for an absolute folder, the longest of
/// those paths under [`PATH_MAX`]. Usable where the machine is another one (a remote
/// component's folder on the master).
pub fn check_names(folder: &Path) -> Vec<FolderProblem> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    let Ok(layout) = SlotLayout::of(folder) else {
        return vec![FolderProblem::NoName(folder.to_path_buf())];
    };
    let longest_id = "0".repeat(MAX_ID_LEN);
    let names = layout.names_for(&longest_id);
    let parts = folder
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            _ => None,
        })
        .chain(
            names
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_os_string())),
        );
    if let Some(name) = parts.max_by_key(|n| n.len()) {
        if name.len() > NAME_MAX {
            out.push(FolderProblem::NameTooLong {
                folder: folder.to_path_buf(),
                name: name.to_string_lossy().into_owned(),
                len: name.len(),
            });
        }
    }
    if folder.is_absolute() {
        if let Some(longest) = names.iter().max_by_key(|p| p.as_os_str().len()) {
            let len = longest.as_os_str().as_bytes().len();
            if len >= PATH_MAX {
                out.push(FolderProblem::PathTooLong {
                    folder: folder.to_path_buf(),
                    longest: longest.clone(),
                    len,
                });
            }
        }
    }
    out
}

/// Every reason why `folder` (absolute) cannot be the backup folder of `component` on
/// `site`; empty when it can. `component` need not be among `site.components` (then it has
/// no home or items here).
pub fn check_backup_folder(site: &Site, component: &str, folder: &Path) -> Vec<FolderProblem> {
    // Names the file system cannot hold make every other question moot (and unanswerable).
    let mut out = check_names(folder);
    if !out.is_empty() {
        return out;
    }
    let Some(area) = Area::of(folder) else {
        return vec![FolderProblem::NoName(folder.to_path_buf())];
    };
    let shown = || area.shown.clone();
    let me = site.components.iter().find(|c| c.name == component);

    if let Some(roots) = &site.allowed_roots {
        let inside = roots.iter().any(|r| area.parent().starts_with(physical(r)));
        if !inside {
            out.push(FolderProblem::OutsideRoots {
                folder: shown(),
                roots: roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }

    let own_home = me.map(|c| physical(&c.home));
    for c in &site.components {
        let home = physical(&c.home);
        let mine = c.name == component;
        // A clash with a home is reported alone: its items and backups lie inside it.
        match area.relation(&home) {
            Some(Relation::Inside) if mine => {}
            Some(relation) if mine => {
                out.push(FolderProblem::OwnHome {
                    folder: shown(),
                    home: c.home.clone(),
                    relation,
                });
                continue;
            }
            Some(relation) => {
                out.push(FolderProblem::OtherHome {
                    folder: shown(),
                    component: c.name.clone(),
                    home: c.home.clone(),
                    relation,
                });
                continue;
            }
            None => {}
        }
        for item in &c.items {
            let item = c.home.join(item.trim_end_matches('/'));
            if let Some(relation) = area.relation(&physical_keep_name(&item)) {
                out.push(FolderProblem::Item {
                    folder: shown(),
                    component: c.name.clone(),
                    own: mine,
                    item,
                    relation,
                });
            }
        }
        if mine {
            continue;
        }
        let Some(other) = c.backup_folder.as_deref().and_then(Area::of) else {
            continue;
        };
        let how = if other.parent() == area.parent() {
            let (a, b) = (
                area.layout.name.to_string_lossy(),
                other.layout.name.to_string_lossy(),
            );
            if a == b {
                "is also the backup folder of"
            } else if names_clash(&a, &b) {
                "would share history slot names with the backup folder of"
            } else {
                continue;
            }
        } else {
            let touches = |a: &Area, b: &Area| {
                matches!(
                    a.relation(b.parent()),
                    Some(Relation::Is { .. } | Relation::Contains { .. })
                )
            };
            if touches(&area, &other) || touches(&other, &area) {
                "is nested with the backup folder of"
            } else {
                continue;
            }
        };
        out.push(FolderProblem::OtherArea {
            folder: shown(),
            component: c.name.clone(),
            other: other.shown.clone(),
            how,
        });
    }

    if let Some(state_dir) = &site.state_dir {
        let state = physical(state_dir);
        let exempt = own_home.as_ref().is_some_and(|home| {
            home != &state && home.starts_with(&state) && area.parent().starts_with(home)
        });
        match area.relation(&state) {
            Some(Relation::Inside) if exempt => {}
            Some(relation) => out.push(FolderProblem::StateDir {
                folder: shown(),
                state_dir: state_dir.clone(),
                relation,
            }),
            None => {}
        }
    }

    if let Ok(layout) = SlotLayout::of(folder) {
        match slots::foreign_entries(&layout, component) {
            Ok(found) => out.extend(found.into_iter().map(FolderProblem::Foreign)),
            Err(e) => out.push(FolderProblem::Unreadable {
                folder: shown(),
                parent: layout.parent.clone(),
                reason: e.source.to_string(),
            }),
        }
    }
    out
}

/// `Some("is" | "holds" | "lies inside")` when `a` is, contains or lies inside `b`.
fn nesting(a: &Path, b: &Path) -> Option<&'static str> {
    if a == b {
        Some("is")
    } else if b.starts_with(a) {
        Some("holds")
    } else if a.starts_with(b) {
        Some("lies inside")
    } else {
        None
    }
}

/// Every reason why `folder` cannot be registered as an imported backup on `site`: it must
/// not be or hold a component's home (lying inside one, outside the items, is fine), must not
/// be, hold or lie inside an item of any component, nor the state dir.
pub fn check_import_folder(site: &Site, folder: &Path) -> Vec<FolderProblem> {
    let mut out = Vec::new();
    let me = physical(folder);
    let problem = |what: String, relation, why| FolderProblem::Import {
        folder: folder.to_path_buf(),
        what,
        relation,
        why,
    };
    for c in &site.components {
        if let Some(rel @ ("is" | "holds")) = nesting(&me, &physical(&c.home)) {
            out.push(problem(
                format!("the home of component {:?} ({})", c.name, c.home.display()),
                rel,
                "a backup folder is kept apart from live data",
            ));
        }
        for item in &c.items {
            let item = c.home.join(item.trim_end_matches('/'));
            if let Some(rel) = nesting(&me, &physical_keep_name(&item)) {
                out.push(problem(
                    format!("the item {} of component {:?}", item.display(), c.name),
                    rel,
                    "a restore of that component would delete it",
                ));
            }
        }
    }
    if let Some(state) = &site.state_dir {
        if let Some(rel) = nesting(&me, &physical(state)) {
            out.push(problem(
                format!("the state folder {}", state.display()),
                rel,
                "that folder belongs to backup-master itself",
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
