//! Unit tests of the folder check, and a property test against an independent oracle.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

use super::*;
use crate::engine::readme::Readme;
use crate::engine::slots::Foreign;

fn resident(name: &str, home: &Path, items: &[&str], folder: Option<&Path>) -> Resident {
    Resident {
        name: name.into(),
        home: home.to_path_buf(),
        items: items.iter().map(|s| s.to_string()).collect(),
        backup_folder: folder.map(Path::to_path_buf),
    }
}

fn readme(dir: &Path, id: &str, component: &str) {
    fs::create_dir_all(dir).unwrap();
    let r = Readme {
        backup_id: id.into(),
        component: component.into(),
        started: None,
        finished: None,
        success: true,
        errors: vec![],
        changed: Default::default(),
    };
    fs::write(dir.join("readme.txt"), r.render()).unwrap();
}

/// A canonical temp root (so expected paths compare equal to resolved ones).
fn root() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let r = fs::canonicalize(d.path()).unwrap();
    (d, r)
}

/// hub and lui homes under `r` with their items, hub's backup folder `r/hub/backup`.
fn two(r: &Path) -> Site {
    for p in ["hub/hubreg", "lui/luidata"] {
        fs::create_dir_all(r.join(p)).unwrap();
    }
    Site {
        components: vec![
            resident(
                "hub",
                &r.join("hub"),
                &["hub.ini", "hubreg/"],
                Some(&r.join("hub/backup")),
            ),
            resident("lui", &r.join("lui"), &["lui.ini", "luidata/"], None),
        ],
        state_dir: Some(r.join("state")),
        allowed_roots: None,
    }
}

fn check(site: &Site, c: &str, folder: &Path) -> Vec<FolderProblem> {
    check_backup_folder(site, c, folder)
}

#[test]
fn the_usual_folders_are_accepted() {
    let (_d, r) = root();
    let site = two(&r);
    assert_eq!(check(&site, "lui", &r.join("lui/backup")), vec![]);
    assert_eq!(check(&site, "lui", &r.join("backups/lui/backup")), vec![]);
    assert_eq!(check(&site, "lui", &r.join("lui-backup")), vec![]);
    assert_eq!(check(&site, "hub", &r.join("hub/backup")), vec![]);
    // Names that merely start like another area's are no clash.
    let mut s2 = site.clone();
    s2.components[0].backup_folder = Some(r.join("bk/backup"));
    assert_eq!(check(&s2, "lui", &r.join("bk/backups")), vec![]);
    assert_eq!(check(&s2, "lui", &r.join("bk/backup1a")), vec![]);
    assert_eq!(check(&s2, "lui", &r.join("bk/backu")), vec![]);
    // Existing backups of the component itself, and an empty folder made in advance.
    readme(&r.join("lui/backup"), "20260101T000000Z", "lui");
    readme(&r.join("lui/backup3"), "20260101T000000Z", "lui");
    fs::create_dir_all(r.join("lui/bk")).unwrap();
    assert_eq!(check(&site, "lui", &r.join("lui/backup")), vec![]);
    assert_eq!(check(&site, "lui", &r.join("lui/bk")), vec![]);
}

#[test]
fn a_slot_name_that_is_another_components_home_is_refused() {
    // Finding 1: hub's backup folder `<root>/lui` minus its digit: slot 2 is lui's home.
    let (_d, r) = root();
    fs::create_dir_all(r.join("lu2")).unwrap();
    let mut site = two(&r);
    site.components[1].home = r.join("lu2");
    let p = check(&site, "hub", &r.join("lu"));
    assert_eq!(
        p[0],
        FolderProblem::OtherHome {
            folder: r.join("lu"),
            component: "lui".into(),
            home: r.join("lu2"),
            relation: Relation::Is {
                area_name: Some(r.join("lu2"))
            },
        }
    );
    // Its items go with it, and what is there is no backup of hub's.
    assert!(
        p[1..]
            .iter()
            .all(|x| matches!(x, FolderProblem::Item { .. } | FolderProblem::Foreign(_))),
        "{p:?}"
    );
    assert_eq!(
        p[0].to_string(),
        format!(
            "{} would use {}, which is the home of component \"lui\" ({}): backups and their rotation would replace or delete its files",
            r.join("lu").display(),
            r.join("lu2").display(),
            r.join("lu2").display()
        )
    );
    // Staging and .failed names too.
    fs::create_dir_all(r.join("x.failed")).unwrap();
    site.components[1].home = r.join("x.failed");
    assert!(matches!(
        &check(&site, "hub", &r.join("x"))[0],
        FolderProblem::OtherHome { relation: Relation::Is { area_name: Some(n) }, .. } if *n == r.join("x.failed")
    ));
    site.components[1].home = r.join("x.staging-20260101T000000Z");
    assert!(matches!(
        &check(&site, "hub", &r.join("x"))[0],
        FolderProblem::OtherHome { relation: Relation::Is { area_name: Some(n) }, .. } if *n == r.join("x.staging-20260101T000000Z")
    ));
}

#[test]
fn another_components_home_is_never_a_backup_folder_even_with_a_readme() {
    // Finding 2: lui's backup folder is hub's home, which holds a readme.txt of hub's.
    let (_d, r) = root();
    let site = two(&r);
    readme(&r.join("hub"), "20260101T000000Z", "hub");
    let p = check(&site, "lui", &r.join("hub"));
    assert!(p.contains(&FolderProblem::OtherHome {
        folder: r.join("hub"),
        component: "hub".into(),
        home: r.join("hub"),
        relation: Relation::Is { area_name: None },
    }));
    // It is not lui's backup either (hub's readme).
    assert!(p.iter().any(|x| matches!(x, FolderProblem::Foreign(n) if n.path == r.join("hub") && n.why == Foreign::OtherComponent("hub".into()))));
    // Inside it, or holding it: refused as well.
    let inside = check(&site, "lui", &r.join("hub/lui-backups"));
    assert!(
        inside.iter().any(|x| matches!(
            x,
            FolderProblem::OtherHome {
                relation: Relation::Inside,
                ..
            }
        )),
        "{inside:?}"
    );
    let holding = check(&site, "lui", &r);
    assert!(
        holding.iter().any(|x| matches!(x, FolderProblem::OtherHome { relation: Relation::Contains { area_name: None }, component, .. } if component == "hub")),
        "{holding:?}"
    );
}

#[test]
fn its_own_home_may_hold_the_folder_but_not_be_in_its_area() {
    let (_d, r) = root();
    let site = two(&r);
    let own = |f: &Path| -> Vec<Relation> {
        check(&site, "lui", f)
            .into_iter()
            .filter_map(|p| match p {
                FolderProblem::OwnHome { relation, .. } => Some(relation),
                _ => None,
            })
            .collect()
    };
    assert_eq!(own(&r.join("lui")), vec![Relation::Is { area_name: None }]);
    assert_eq!(own(&r), vec![Relation::Contains { area_name: None }]);
    assert_eq!(own(&r.join("lu")), vec![], "`lu` + `i` is no slot name");
    fs::create_dir_all(r.join("app7")).unwrap();
    let mut s2 = site.clone();
    s2.components[1].home = r.join("app7");
    let p = check(&s2, "lui", &r.join("app"));
    assert!(
        matches!(
            &p[0],
            FolderProblem::OwnHome { relation: Relation::Is { area_name: Some(n) }, .. } if *n == r.join("app7")
        ),
        "{p:?}"
    );
    assert!(p[0].to_string().contains("its own home"));
}

#[test]
fn items_of_every_component_are_kept_clear() {
    let (_d, r) = root();
    let site = two(&r);
    let items = |c: &str, f: &Path| -> Vec<(String, bool, PathBuf, Relation)> {
        check(&site, c, f)
            .into_iter()
            .filter_map(|p| match p {
                FolderProblem::Item {
                    component,
                    own,
                    item,
                    relation,
                    ..
                } => Some((component, own, item, relation)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        items("hub", &r.join("hub/hubreg/bk")),
        vec![("hub".into(), true, r.join("hub/hubreg"), Relation::Inside)]
    );
    assert_eq!(
        items("hub", &r.join("hub/hubreg")),
        vec![(
            "hub".into(),
            true,
            r.join("hub/hubreg"),
            Relation::Is { area_name: None }
        )]
    );
    // Another component's item: reported with its home (which holds it) ...
    let p = check(&site, "hub", &r.join("lui/luidata/x"));
    assert!(
        matches!(&p[..], [FolderProblem::OtherHome { component, relation: Relation::Inside, .. }] if component == "lui"),
        "{p:?}"
    );
    // ... or alone, when a symbolic link takes it out of the home.
    fs::create_dir_all(r.join("elsewhere/data")).unwrap();
    std::os::unix::fs::symlink(r.join("elsewhere"), r.join("lui/link")).unwrap();
    let mut s2 = site.clone();
    s2.components[1].items.push("link/data".into());
    let p = check(&s2, "hub", &r.join("elsewhere/data/x"));
    assert_eq!(
        p.iter()
            .filter_map(|x| match x {
                FolderProblem::Item {
                    component,
                    own,
                    item,
                    relation,
                    ..
                } => Some((component.as_str(), *own, item.clone(), relation.clone())),
                _ => None,
            })
            .collect::<Vec<_>>(),
        vec![("lui", false, r.join("lui/link/data"), Relation::Inside)]
    );
    assert!(
        p[0].to_string().contains("an item of component \"lui\""),
        "{}",
        p[0]
    );
    // `hub.ini` would be `<NAME>.ini`: not a name the engine uses, so no clash.
    assert_eq!(items("hub", &r.join("hub/hub")), vec![]);
    let own = check(&site, "hub", &r.join("hub/hubreg/bk"))[0].to_string();
    assert!(own.contains("its own item"), "{own}");
}

#[test]
fn areas_of_two_components_stay_apart() {
    let (_d, r) = root();
    let mut site = two(&r);
    site.components[0].backup_folder = Some(r.join("bk/backup"));
    let how = |f: &Path| -> Vec<&'static str> {
        check(&site, "lui", f)
            .into_iter()
            .filter_map(|p| match p {
                FolderProblem::OtherArea {
                    how,
                    component,
                    other,
                    ..
                } => {
                    assert_eq!(component, "hub");
                    assert_eq!(other, r.join("bk/backup"));
                    Some(how)
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        how(&r.join("bk/backup")),
        vec!["is also the backup folder of"]
    );
    for clash in ["backup7", "backup.old", "back", "backup12345"] {
        let expected: Vec<&str> = if clash == "back" {
            vec![]
        } else {
            vec!["would share history slot names with the backup folder of"]
        };
        assert_eq!(how(&r.join("bk").join(clash)), expected, "{clash}");
    }
    assert_eq!(
        how(&r.join("bk/backup/inner")),
        vec!["is nested with the backup folder of"]
    );
    assert_eq!(
        how(&r.join("bk/backup3/inner")),
        vec!["is nested with the backup folder of"]
    );
    assert_eq!(
        how(&r.join("bk/backup.failed/x/y")),
        vec!["is nested with the backup folder of"]
    );
    // hub's area inside lui's: lui's folder `r/bk` would hold hub's backups.
    let p = check(&site, "lui", &r.join("bk"));
    assert!(
        p.iter().any(|x| matches!(
            x,
            FolderProblem::OtherArea {
                how: "is nested with the backup folder of",
                ..
            }
        )),
        "{p:?}"
    );
    // Next to each other, or one inside the other's parent only: fine.
    assert_eq!(how(&r.join("bk/lui-backup")), Vec::<&str>::new());
    assert_eq!(how(&r.join("bk/x/backup")), Vec::<&str>::new());
    assert_eq!(check(&site, "lui", &r.join("bk/lui-backup")), vec![]);
}

#[test]
fn the_state_dir_is_kept_clear_except_homes_inside_it() {
    let (_d, r) = root();
    let mut site = two(&r);
    let state = |site: &Site, c: &str, f: &Path| -> Vec<Relation> {
        check(site, c, f)
            .into_iter()
            .filter_map(|p| match p {
                FolderProblem::StateDir { relation, .. } => Some(relation),
                _ => None,
            })
            .collect()
    };
    // Finding 9: a new folder inside the state dir.
    assert_eq!(
        state(&site, "lui", &r.join("state/bk")),
        vec![Relation::Inside]
    );
    assert_eq!(
        state(&site, "lui", &r.join("state")),
        vec![Relation::Is { area_name: None }]
    );
    assert_eq!(
        state(&site, "lui", &r.join("sta")),
        Vec::<Relation>::new(),
        "`sta` + `te` is no slot name"
    );
    assert_eq!(
        state(&site, "lui", &r),
        vec![Relation::Contains { area_name: None }]
    );
    // The embedded demo: homes inside the state dir, backups inside the homes.
    fs::create_dir_all(r.join("state/demo/lui")).unwrap();
    site.components[1].home = r.join("state/demo/lui");
    assert_eq!(
        state(&site, "lui", &r.join("state/demo/lui/backup")),
        vec![]
    );
    // ... but not outside its own home, and never another's or the state dir's own.
    assert_eq!(
        state(&site, "lui", &r.join("state/demo/bk")),
        vec![Relation::Inside]
    );
    assert_eq!(
        state(&site, "hub", &r.join("state/demo/lui/bk")),
        vec![Relation::Inside]
    );
    site.components[1].home = r.join("state");
    assert_eq!(
        state(&site, "lui", &r.join("state/bk")),
        vec![Relation::Inside]
    );
    let msg = check(&site, "lui", &r.join("state/bk"))
        .iter()
        .map(ToString::to_string)
        .collect::<String>();
    assert!(msg.contains("the state folder"), "{msg}");
}

#[test]
fn allowed_roots_bound_where_folders_may_be() {
    let (_d, r) = root();
    let mut site = two(&r);
    fs::create_dir_all(r.join("srv/backups")).unwrap();
    std::os::unix::fs::symlink(r.join("srv/backups"), r.join("bk-link")).unwrap();
    site.allowed_roots = Some(vec![r.join("bk-link"), r.join("other")]);
    assert_eq!(check(&site, "lui", &r.join("srv/backups/lui")), vec![]);
    assert_eq!(check(&site, "lui", &r.join("srv/backups/x/y/lui")), vec![]);
    // The root itself would put its slots beside it: outside.
    for outside in [
        r.join("srv/backups"),
        r.join("lui/backup"),
        r.join("srv/back"),
    ] {
        let p = check(&site, "lui", &outside);
        assert!(
            p.iter()
                .any(|x| matches!(x, FolderProblem::OutsideRoots { .. })),
            "{}: {p:?}",
            outside.display()
        );
    }
    let msg = check(&site, "lui", &r.join("lui/backup"))[0].to_string();
    assert!(
        msg.contains("allowed_roots") && msg.contains("bk-link"),
        "{msg}"
    );
}

#[test]
fn names_must_fit_the_file_system_with_the_longest_backup_id() {
    let (_d, r) = root();
    let site = two(&r);
    // `<NAME>.staging-<ID>.failed-new` adds 9 + 21 + 11 bytes: NAME may have 214.
    let fits = "n".repeat(NAME_MAX - 41);
    assert_eq!(check(&site, "lui", &r.join(&fits)), vec![]);
    let over = "n".repeat(NAME_MAX - 40);
    let p = check(&site, "lui", &r.join(&over));
    assert!(
        matches!(&p[..], [FolderProblem::NameTooLong { len, .. }] if *len == NAME_MAX + 1),
        "{p:?}"
    );
    // Finding 9: a 300-character name; and a 300-character folder on the way.
    let p = check(&site, "lui", &r.join("x".repeat(300)));
    assert!(
        matches!(&p[..], [FolderProblem::NameTooLong { .. }]),
        "{p:?}"
    );
    assert!(p[0].to_string().contains("255"), "{}", p[0]);
    let p = check_names(&r.join("y".repeat(300)).join("backup"));
    assert!(
        matches!(&p[..], [FolderProblem::NameTooLong { len: 300, .. }]),
        "{p:?}"
    );
    // Paths: the longest helper path must stay under PATH_MAX.
    let base = r.to_string_lossy().len();
    let longest_extra = 1 + 41; // "/" + the helper suffixes, for a NAME of length n
    let mut folder = r.clone();
    let mut len = base;
    while len + 201 + longest_extra + 10 < PATH_MAX - 1 {
        folder.push("d".repeat(200));
        len += 201;
    }
    let n = PATH_MAX - 1 - len - longest_extra; // total exactly PATH_MAX - 1
    assert!(check_names(&folder.join("b".repeat(n))).is_empty());
    let p = check_names(&folder.join("b".repeat(n + 1)));
    assert!(
        matches!(&p[..], [FolderProblem::PathTooLong { len, .. }] if *len == PATH_MAX),
        "{p:?}"
    );
    // Relative folders (a remote component's, on the master): names only.
    assert!(check_names(Path::new(&"z".repeat(PATH_MAX))).len() == 1);
    assert_eq!(
        check_names(Path::new("/")),
        vec![FolderProblem::NoName(PathBuf::from("/"))]
    );
}

#[test]
fn foreign_things_in_the_area_are_named() {
    let (_d, r) = root();
    let site = two(&r);
    fs::create_dir_all(r.join("lui/backup7/photos")).unwrap();
    fs::write(r.join("lui/backup.failed"), "x").unwrap();
    let p = check(&site, "lui", &r.join("lui/backup"));
    let paths: Vec<PathBuf> = p
        .iter()
        .map(|x| match x {
            FolderProblem::Foreign(n) => n.path.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        paths,
        vec![r.join("lui/backup7"), r.join("lui/backup.failed")]
    );
}

#[test]
fn a_symbolic_link_on_the_way_is_followed() {
    let (_d, r) = root();
    let site = two(&r);
    std::os::unix::fs::symlink(r.join("lui"), r.join("innocent")).unwrap();
    let p = check(&site, "hub", &r.join("innocent/hub-backup"));
    assert!(
        p.iter().any(|x| matches!(x, FolderProblem::OtherHome { component, relation: Relation::Inside, .. } if component == "lui")),
        "{p:?}"
    );
    // The folder's own last name is not followed: a link there is judged as what it is.
    std::os::unix::fs::symlink(r.join("lui"), r.join("hub/bk")).unwrap();
    let p = check(&site, "hub", &r.join("hub/bk"));
    assert!(
        matches!(&p[..], [FolderProblem::Foreign(n)] if n.why == Foreign::NotAFolder("a symbolic link")),
        "{p:?}"
    );
    assert_eq!(physical(&r.join("innocent/a/b")), r.join("lui/a/b"));
}

#[test]
fn import_folders_keep_clear_of_homes_items_and_the_state_dir() {
    let (_d, r) = root();
    let site = two(&r);
    let refused = |f: &Path| -> Vec<&'static str> {
        check_import_folder(&site, f)
            .into_iter()
            .map(|p| match p {
                FolderProblem::Import { relation, .. } => relation,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(refused(&r.join("media/lui-A")), Vec::<&str>::new());
    assert_eq!(refused(&r.join("lui/old-backup")), Vec::<&str>::new());
    assert_eq!(refused(&r.join("lui")), vec!["is", "holds", "holds"]);
    assert_eq!(
        refused(&r),
        vec!["holds", "holds", "holds", "holds", "holds", "holds", "holds"]
    );
    // Finding 5's import: a lui backup inside hub's item hubreg.
    assert_eq!(refused(&r.join("hub/hubreg/lui-copy")), vec!["lies inside"]);
    assert_eq!(refused(&r.join("hub/hubreg")), vec!["is"]);
    assert_eq!(refused(&r.join("state/x")), vec!["lies inside"]);
    let msg = check_import_folder(&site, &r.join("hub/hubreg/lui-copy"))[0].to_string();
    assert!(
        msg.contains("hubreg") && msg.contains("a restore of that component would delete it"),
        "{msg}"
    );
}

#[test]
fn sites_from_specs_leave_remote_components_out() {
    let local = ComponentSpec {
        name: "hub".into(),
        profile: crate::engine::Profile::MaestroHub,
        home: "/srv/hub".into(),
        backup_folder: "/srv/hub/backup".into(),
        keep: 3,
        items: vec!["hub.ini".into()],
        consistency: Default::default(),
        read_point: None,
    };
    let remote = ComponentSpec {
        name: "trk".into(),
        home: PathBuf::new(),
        backup_folder: "backup".into(),
        ..local.clone()
    };
    let site = Site::of_specs(&[local, remote], Path::new("/var/bm"));
    assert_eq!(
        site,
        Site {
            components: vec![resident(
                "hub",
                Path::new("/srv/hub"),
                &["hub.ini"],
                Some(Path::new("/srv/hub/backup"))
            )],
            state_dir: Some("/var/bm".into()),
            allowed_roots: None,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// The property: the check accepts a backup folder only where no backup, rotation or restore
// can touch another component's home, an item, another component's backups, the state dir,
// or anything at its names that it did not make. The oracle below enumerates the concrete
// paths each operation touches and compares them by plain path prefixes; it shares no code
// with the check.

const SEGS: [&str; 8] = ["a", "b", "bk", "bk2", "bk.old", "data", "s", "h"];
const ITEMS: [&str; 4] = ["data", "cfg.ini", "bk", "a/b"];
const ID: &str = "20260101T000000Z";

#[derive(Clone, Debug)]
enum Thing {
    EmptyDir,
    DirWithFile,
    File,
    BackupOf(usize),
}

#[derive(Clone, Debug)]
struct Comp {
    home: Vec<&'static str>,
    items: Vec<&'static str>,
    absolute: bool,
    backup: Vec<&'static str>,
    keep: u32,
}

#[derive(Clone, Debug)]
struct Layout {
    comps: Vec<Comp>,
    state: Vec<&'static str>,
    extras: Vec<(Vec<&'static str>, Thing)>,
}

fn segs(max: usize) -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(&SEGS[..]), 1..=max)
}

fn layout_strategy() -> impl Strategy<Value = Layout> {
    let comp = (
        segs(2),
        prop::collection::vec(prop::sample::select(&ITEMS[..]), 1..=2),
        any::<bool>(),
        segs(3),
        0u32..4,
    )
        .prop_map(|(home, items, absolute, backup, keep)| Comp {
            home,
            items,
            absolute,
            backup,
            keep,
        });
    let thing = prop_oneof![
        Just(Thing::EmptyDir),
        Just(Thing::DirWithFile),
        Just(Thing::File),
        (0usize..3).prop_map(Thing::BackupOf),
    ];
    // Extra entries favour slot-like names of the usual folder names.
    let extra_path = prop_oneof![
        segs(3),
        (
            segs(1),
            prop::sample::select(&["bk1", "bk3", "bk7", "bk.failed", "h1", "a2"][..])
        )
            .prop_map(|(mut p, last)| {
                p.push(last);
                p
            }),
    ];
    (
        prop::collection::vec(comp, 3),
        segs(2),
        prop::collection::vec((extra_path, thing), 0..4),
    )
        .prop_map(|(comps, state, extras)| Layout {
            comps,
            state,
            extras,
        })
}

fn join(base: &Path, parts: &[&str]) -> PathBuf {
    let mut p = base.to_path_buf();
    for s in parts {
        p.push(s);
    }
    p
}

fn name(i: usize) -> String {
    format!("c{i}")
}

/// Related: equal, or one inside the other.
fn related(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Every path a backup of a component with `folder` and `keep` may create, rename or delete
/// now: its slots up to `keep` and any further existing ones up to 100, `.failed`, and the
/// helpers of a backup (staging, its `.failed` replacement, trash).
fn touched_by_backups(folder: &Path, keep: u32) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let parent = folder.parent().unwrap();
    let n = folder.file_name().unwrap().to_str().unwrap();
    let mut slots = vec![folder.to_path_buf()];
    for k in 1..=100u32 {
        let p = parent.join(format!("{n}{k}"));
        if k <= keep || fs::symlink_metadata(&p).is_ok() {
            slots.push(p);
        }
    }
    let failed = parent.join(format!("{n}.failed"));
    let mut all = slots.clone();
    all.push(failed.clone());
    for suffix in [
        format!(".staging-{ID}"),
        format!(".staging-{ID}.failed-new"),
        format!(".staging-{ID}.failed-old"),
        format!(".trash-{ID}-{keep}"),
        format!(".trash-{ID}-100"),
        format!(".trash-{ID}-staging"),
    ] {
        all.push(parent.join(format!("{n}{suffix}")));
    }
    slots.push(failed);
    (all, slots)
}

/// The oracle: why a backup folder accepted for component `me` would be unsafe, if it is.
fn oracle_problem(
    homes: &[PathBuf],
    items: &[Vec<PathBuf>],
    folders: &[PathBuf],
    keeps: &[u32],
    state: &Path,
    me: usize,
) -> Option<String> {
    let (touched, slots) = touched_by_backups(&folders[me], keeps[me]);
    let exempt = homes[me] != state
        && homes[me].starts_with(state)
        && folders[me].parent().unwrap().starts_with(&homes[me]);
    for t in &touched {
        for (d, home) in homes.iter().enumerate() {
            if d == me {
                if home.starts_with(t) {
                    return Some(format!("{} is or holds its own home", t.display()));
                }
            } else if related(t, home) {
                return Some(format!("{} touches the home of c{d}", t.display()));
            }
        }
        for (d, list) in items.iter().enumerate() {
            for item in list {
                if related(t, item) {
                    return Some(format!(
                        "{} touches item {} of c{d}",
                        t.display(),
                        item.display()
                    ));
                }
            }
        }
        for (d, folder) in folders.iter().enumerate() {
            if d == me {
                continue;
            }
            for u in touched_by_backups(folder, keeps[d]).0 {
                if related(t, &u) {
                    return Some(format!("{} touches {} of c{d}", t.display(), u.display()));
                }
            }
        }
        let bad_state = if exempt {
            state.starts_with(t)
        } else {
            related(t, state)
        };
        if bad_state {
            return Some(format!("{} touches the state dir", t.display()));
        }
    }
    // What is already at the names a rotation moves or replaces must be this component's.
    for (k, s) in slots.iter().enumerate() {
        let Ok(meta) = fs::symlink_metadata(s) else {
            continue;
        };
        let may_be_empty = k == 0 || k == slots.len() - 1;
        let ok = meta.is_dir()
            && match fs::read_dir(s).unwrap().next() {
                None => may_be_empty,
                Some(_) => fs::read_to_string(s.join("readme.txt")).is_ok_and(|text| {
                    text.contains(&format!("Component: {}\n", name(me)))
                        && text.contains(&format!("Backup ID: {ID}\n"))
                }),
            };
        if !ok {
            return Some(format!("{} is not c{me}'s", s.display()));
        }
    }
    None
}

/// A layout on disk: the site, and per component its home, items and backup folder.
type Made = (Site, Vec<PathBuf>, Vec<Vec<PathBuf>>, Vec<PathBuf>);

/// Makes the layout on disk; `None` when it is not a possible configuration (a home missing,
/// or inside another component's item).
fn materialize(r: &Path, l: &Layout) -> Option<Made> {
    let homes: Vec<PathBuf> = l.comps.iter().map(|c| join(r, &c.home)).collect();
    let items: Vec<Vec<PathBuf>> = l
        .comps
        .iter()
        .zip(&homes)
        .map(|(c, h)| c.items.iter().map(|i| h.join(i)).collect())
        .collect();
    for (i, h) in homes.iter().enumerate() {
        for (j, list) in items.iter().enumerate() {
            if i != j && list.iter().any(|it| h.starts_with(it)) {
                return None;
            }
        }
        if homes.iter().enumerate().any(|(j, o)| j != i && o == h) {
            return None;
        }
    }
    for h in &homes {
        fs::create_dir_all(h).ok()?;
    }
    for list in &items {
        for it in list {
            if it.extension().is_some() {
                let _ = fs::write(it, "ini");
            } else if fs::create_dir_all(it).is_ok() {
                let _ = fs::write(it.join("f"), "x");
            }
        }
    }
    let state = join(r, &l.state);
    let _ = fs::create_dir_all(&state);
    for (path, thing) in &l.extras {
        let p = join(r, path);
        if fs::symlink_metadata(&p).is_ok() {
            continue;
        }
        if p.parent().is_some_and(|d| fs::create_dir_all(d).is_err()) {
            continue;
        }
        let _ = match thing {
            Thing::EmptyDir => fs::create_dir(&p),
            Thing::DirWithFile => fs::create_dir(&p).and_then(|_| fs::write(p.join("f"), "x")),
            Thing::File => fs::write(&p, "x"),
            Thing::BackupOf(c) => {
                readme(&p, ID, &name(*c));
                Ok(())
            }
        };
    }
    if homes.iter().any(|h| !h.is_dir()) {
        return None;
    }
    let folders: Vec<PathBuf> = l
        .comps
        .iter()
        .zip(&homes)
        .map(|(c, h)| join(if c.absolute { r } else { h }, &c.backup))
        .collect();
    let site = Site {
        components: l
            .comps
            .iter()
            .enumerate()
            .map(|(i, c)| Resident {
                name: name(i),
                home: homes[i].clone(),
                items: c.items.iter().map(|s| s.to_string()).collect(),
                backup_folder: Some(folders[i].clone()),
            })
            .collect(),
        state_dir: Some(state),
        allowed_roots: None,
    };
    Some((site, homes, items, folders))
}

#[test]
fn the_check_accepts_only_folders_no_operation_can_misuse() {
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 400,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let (checked, accepted) = (Cell::new(0u32), Cell::new(0u32));
    runner
        .run(&layout_strategy(), |l| {
            let (_d, r) = root();
            let Some((site, homes, items, folders)) = materialize(&r, &l) else {
                return Ok(());
            };
            let keeps: Vec<u32> = l.comps.iter().map(|c| c.keep).collect();
            let state = site.state_dir.clone().unwrap();
            for (me, folder) in folders.iter().enumerate() {
                checked.set(checked.get() + 1);
                let problems = check_backup_folder(&site, &name(me), folder);
                if !problems.is_empty() {
                    continue;
                }
                accepted.set(accepted.get() + 1);
                let unsafe_ = oracle_problem(&homes, &items, &folders, &keeps, &state, me);
                prop_assert!(
                    unsafe_.is_none(),
                    "accepted {} for c{me}, but {}",
                    folder.display(),
                    unsafe_.unwrap_or_default()
                );
            }
            Ok(())
        })
        .unwrap();
    // A check refusing everything would pass the loop above: it must accept plenty.
    let (c, a) = (checked.get(), accepted.get());
    assert!(c >= 300, "only {c} folders checked");
    assert!(a * 5 >= c, "only {a} of {c} folders accepted");
}
