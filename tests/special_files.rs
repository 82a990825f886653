//! Special files where the product reads back its own files, through the real server: a FIFO or
//! a symbolic link to `/dev/zero` as a slot's `readme.txt`, `SHA256SUMS` or index, and FIFOs
//! and sockets among a home's items. Every request answers within 5 s, with an error naming the
//! file where there is one, the server keeps serving, no backup is left running and the job
//! lock is free afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::{json, Value};

/// How long any request may take here.
const ANSWER: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug)]
enum Plant {
    Fifo,
    DevZero,
}

impl Plant {
    /// How the error describes it.
    fn words(self) -> &'static str {
        match self {
            Plant::Fifo => "a FIFO",
            Plant::DevZero => "a symbolic link",
        }
    }
}

fn plant(path: &Path, kind: Plant) {
    std::fs::remove_file(path).unwrap();
    match kind {
        Plant::Fifo => {
            nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap()
        }
        Plant::DevZero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
    }
}

/// A client that gives up after [`ANSWER`]: a request that hangs fails the test.
fn quick() -> Client {
    Client::builder().timeout(ANSWER).build().unwrap()
}

fn timed(what: &str, f: impl FnOnce() -> reqwest::Result<Response>) -> Response {
    let t0 = Instant::now();
    let r = f().unwrap_or_else(|e| panic!("{what}: no answer within {ANSWER:?}: {e}"));
    assert!(t0.elapsed() <= ANSWER, "{what} took {:?}", t0.elapsed());
    assert!(
        r.status().as_u16() < 500,
        "{what}: {} (a special file is bad input, never a 500)",
        r.status()
    );
    r
}

fn get(server: &Server, path: &str) -> Response {
    timed(&format!("GET {path}"), || {
        quick().get(server.url(path)).bearer_auth(ADMIN).send()
    })
}

fn post(server: &Server, path: &str, body: &Value) -> Response {
    timed(&format!("POST {path}"), || {
        quick()
            .post(server.url(path))
            .bearer_auth(ADMIN)
            .json(body)
            .send()
    })
}

/// A verification of `id`: started, and ended within [`ANSWER`].
fn verify(server: &Server, id: &str) -> Value {
    let r = post(
        server,
        &format!("/api/v1/backup-sets/{id}/verify"),
        &json!({}),
    );
    assert_eq!(r.status(), 202);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    poll("the verification to end", ANSWER, || {
        let v: Value = get(server, &loc).json().unwrap();
        (v["status"] != "running").then_some(v)
    })
}

fn folder_of<'a>(v: &'a Value, component: &str) -> &'a Value {
    v["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["component"] == component)
        .unwrap_or_else(|| panic!("no folder of {component} in {v}"))
}

/// A backup started now ends (whatever its status) well within a minute, and the job lock is
/// free after it: the next backup starts (202, not 409) and ends too.
fn backup_ends_and_frees_the_lock(server: &Server) -> Value {
    let id = start_backup(server);
    let rec = poll("the backup to end", Duration::from_secs(60), || {
        let r: Value = get(server, &format!("/api/v1/backups/{id}"))
            .json()
            .unwrap();
        (r["status"] != "running").then_some(r)
    });
    let next = start_backup(server);
    poll("the next backup to end", Duration::from_secs(60), || {
        let r: Value = get(server, &format!("/api/v1/backups/{next}"))
            .json()
            .unwrap();
        (r["status"] != "running").then_some(r)
    });
    rec
}

/// The server still answers normal requests.
fn still_serving(server: &Server) {
    assert_eq!(get(server, "/healthz").status(), 200);
    let comps: Value = get(server, "/api/v1/components").json().unwrap();
    assert_eq!(comps.as_array().unwrap().len(), 3);
}

/// A server with one successful backup, and its ID.
fn with_one_backup() -> (Setup, Server, String) {
    let s = Setup::new(2);
    let server = s.start();
    let rec = run_backup(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let id = rec["id"].as_str().unwrap().to_string();
    (s, server, id)
}

fn dry_run(server: &Server, id: &str) -> Response {
    post(
        server,
        "/api/v1/restores",
        &json!({"backup_id": id, "dry_run": true}),
    )
}

#[test]
fn a_fifo_or_dev_zero_link_as_readme_gets_clear_errors_and_blocks_nothing() {
    for kind in [Plant::Fifo, Plant::DevZero] {
        let (s, server, id) = with_one_backup();
        let slot = s.home("hub").join("backup");
        plant(&slot.join("readme.txt"), kind);

        let hist: Value = get(&server, "/api/v1/components/hub/history")
            .json()
            .unwrap();
        let err = hist[0]["error"].as_str().unwrap_or_default();
        assert!(
            err.contains("readme.txt") && err.contains(kind.words()),
            "{kind:?}: {hist}"
        );
        assert!(hist[0]["backup_id"].is_null(), "{hist}");

        let sets: Value = get(&server, "/api/v1/backup-sets").json().unwrap();
        let hub = sets["unidentified"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["component"] == "hub")
            .unwrap_or_else(|| panic!("{kind:?}: hub's slot is not unidentified: {sets}"));
        let problem = hub["problem"].as_str().unwrap();
        assert!(
            problem.contains("readme.txt") && problem.contains(kind.words()),
            "{problem}"
        );

        let set: Value = get(&server, &format!("/api/v1/backup-sets/{id}"))
            .json()
            .unwrap();
        assert_eq!(set["complete"], false, "{set}");
        assert_eq!(set["missing"], json!(["hub"]), "{set}");

        // The folders that are there are checked; hub's is named as missing.
        let v = verify(&server, &id);
        assert_eq!(v["missing_components"], json!(["hub"]), "{v}");

        // The dry run holds the job lock while it works: it must end, refused (the set is
        // incomplete without hub), and let go of the lock.
        let r = dry_run(&server, &id);
        let body = assert_problem(r, 422);
        assert!(body.to_string().contains("hub"), "{body}");

        // A folder from an "external medium" with such a readme: import refused by name.
        let medium = s.path().join("medium/hub");
        std::fs::create_dir_all(&medium).unwrap();
        write(&medium.join("hub.ini"), b"[Hub]\n");
        write(&medium.join("readme.txt"), b"placeholder");
        plant(&medium.join("readme.txt"), kind);
        let r = post(
            &server,
            "/api/v1/backup-sets/import",
            &json!({"component": "hub", "folder": medium.display().to_string()}),
        );
        let body = assert_problem(r, 422);
        assert_eq!(problem_fields(&body), ["folder"], "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.contains("readme.txt") && detail.contains(kind.words()),
            "{body}"
        );

        let rec = backup_ends_and_frees_the_lock(&server);
        if rec["status"] != "succeeded" {
            assert!(rec.to_string().contains("readme.txt"), "{rec}");
        }
        still_serving(&server);
    }
}

#[test]
fn a_fifo_or_dev_zero_link_as_sha256sums_fails_verification_by_name() {
    for kind in [Plant::Fifo, Plant::DevZero] {
        let (s, server, id) = with_one_backup();
        let slot = s.home("hub").join("backup");
        plant(&slot.join("SHA256SUMS"), kind);

        let hist: Value = get(&server, "/api/v1/components/hub/history")
            .json()
            .unwrap();
        assert_eq!(hist[0]["backup_id"], id.as_str(), "{hist}");
        let set: Value = get(&server, &format!("/api/v1/backup-sets/{id}"))
            .json()
            .unwrap();
        assert_eq!(set["complete"], true, "{set}");
        assert_eq!(get(&server, "/api/v1/backup-sets").status(), 200);

        let v = verify(&server, &id);
        assert_eq!(v["status"], "failed", "{v}");
        let hub = folder_of(&v, "hub");
        let err = hub["error"].as_str().unwrap_or_default();
        assert!(
            err.contains("SHA256SUMS") && err.contains(kind.words()),
            "{kind:?}: {hub}"
        );
        assert_eq!(folder_of(&v, "lui")["ok"], true, "{v}");

        // The restore verifies first: refused, naming the file, and the lock is let go.
        let r = dry_run(&server, &id);
        assert!(r.status().is_client_error(), "{}", r.status());
        let body: Value = r.json().unwrap();
        assert!(
            body.to_string().contains("SHA256SUMS") && body.to_string().contains(kind.words()),
            "{body}"
        );

        let rec = backup_ends_and_frees_the_lock(&server);
        assert_eq!(rec["status"], "succeeded", "{rec}");
        still_serving(&server);
    }
}

#[test]
fn a_fifo_or_dev_zero_link_as_the_index_only_costs_the_hard_links() {
    for kind in [Plant::Fifo, Plant::DevZero] {
        let (s, server, id) = with_one_backup();
        let slot = s.home("hub").join("backup");
        plant(&slot.join(".backup-master-index"), kind);

        assert_eq!(get(&server, "/api/v1/components/hub/history").status(), 200);
        assert_eq!(get(&server, "/api/v1/backup-sets").status(), 200);
        assert_eq!(
            get(&server, &format!("/api/v1/backup-sets/{id}")).status(),
            200
        );
        verify(&server, &id);
        let r = dry_run(&server, &id);
        assert_ne!(r.status(), 409, "the job lock must be free");

        // The next backup does not wait on the FIFO nor read /dev/zero: it copies every file
        // of hub again instead of linking it, and succeeds.
        let rec = backup_ends_and_frees_the_lock(&server);
        assert_eq!(rec["status"], "succeeded", "{rec}");
        let hub = rec["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "hub")
            .unwrap();
        assert_eq!(hub["files_linked"], 0, "{hub}");
        assert_eq!(hub["files_copied"], hub["files"], "{hub}");
        let lui = rec["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "lui")
            .unwrap();
        assert_eq!(
            lui["files_linked"], lui["files"],
            "lui's index is fine: {lui}"
        );
        still_serving(&server);
    }
}

#[test]
fn fifos_and_sockets_in_a_home_are_skipped_and_named_and_as_an_item_refused() {
    let s = Setup::new(2);
    let home = s.home("hub");
    let fifo = home.join("accountreg/pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let sock = home.join("hubreg/app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let server = s.start();

    let rec = backup_ends_and_frees_the_lock(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let notes = rec["notes"].to_string();
    for p in [&fifo, &sock] {
        assert!(
            notes.contains(&format!("hub: skipped special file {}", p.display())),
            "{notes}"
        );
        let rel = p.strip_prefix(&home).unwrap();
        assert!(std::fs::symlink_metadata(home.join("backup").join(rel)).is_err());
    }
    let id = rec["id"].as_str().unwrap();
    let report = get(&server, &format!("/api/v1/backups/{id}/report"))
        .text()
        .unwrap();
    assert!(report.contains("skipped special file"), "{report}");
    assert!(sha256sum_ok(&home.join("backup")));

    // A FIFO where an item should be: an error for hub naming it, nothing rotated anywhere.
    let history = |s: &Setup| -> Vec<Vec<(String, String)>> {
        ["hub", "lui", "trk"]
            .iter()
            .map(|c| {
                slots(&s.home(c))
                    .into_iter()
                    .map(|n| (readme_id(&s.home(c).join(&n)), n))
                    .collect()
            })
            .collect()
    };
    let before = history(&s);
    std::fs::remove_file(home.join("hub.ini")).unwrap();
    nix::unistd::mkfifo(
        &home.join("hub.ini"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let id = start_backup(&server);
    let rec = poll("the backup to end", Duration::from_secs(60), || {
        let r: Value = get(&server, &format!("/api/v1/backups/{id}"))
            .json()
            .unwrap();
        (r["status"] != "running").then_some(r)
    });
    assert_eq!(rec["status"], "failed", "{rec}");
    let hub = &rec["components"][0];
    assert_eq!(hub["name"], "hub");
    let errs = hub["errors"].to_string();
    assert!(
        errs.contains("hub.ini") && errs.contains("a FIFO"),
        "{errs}"
    );
    assert_eq!(history(&s), before, "no slot changed anywhere");
    std::fs::remove_file(home.join("hub.ini")).unwrap();
    write(&home.join("hub.ini"), b"[Hub]\nPort=8080\n");
    let rec = backup_ends_and_frees_the_lock(&server);
    assert_eq!(rec["status"], "succeeded", "{rec}");
    still_serving(&server);
}
