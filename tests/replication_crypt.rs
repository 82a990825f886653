//! Client-side encryption of replicated sets, against a real S3 protocol server (moto) and the
//! real server binary, in both modes (age recipients, and a passphrase that wraps an identity
//! kept on the bucket): nothing on the bucket holds a known plaintext string, a fresh master
//! restores exact trees, deep verification names a flipped byte, a missing or wrong key fails
//! naming the target and the setting and changes nothing, and no key material ever reaches a
//! response, the log or a hook.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use age::secrecy::ExposeSecret;
use common::*;
use serde_json::{json, Value};

const ACCESS: &str = "AKIACRYPTTESTACCESS1";
const SECRET: &str = "cryptSecretKey/NeverShown+7";
/// In a file's content: must be on no object of the bucket.
const TOKEN: &str = "KNOWN-PLAINTEXT-c0ffee-4711";
/// In a file's name (so only in a manifest): must be on no object of the bucket either.
const NAME_TOKEN: &str = "ledger-of-name-9f2b";
const PASSPHRASE: &str = "correct horse battery staple 31";

/// A target `name` on `bucket`, path style, prefix `site-a`, with `more` TOML lines.
fn target_toml(s3: &S3Server, name: &str, bucket: &str, more: &str) -> String {
    format!(
        "\n[[replication_targets]]\nname = \"{name}\"\nendpoint = \"{}\"\nbucket = \"{bucket}\"\nprefix = \"site-a\"\npath_style = true\n{more}\n",
        s3.endpoint
    )
}

const CRYPT: &str = "\n[[components]]\nname = \"crypt\"\nprofile = \"custom\"\nhome = \"homes/crypt\"\nitems = [\"app.ini\", \"data/\"]\nkeep = 2\n";

/// The `crypt` component's home: the known strings in contents and a name; with `large`, a
/// file above the single-request limit (uploaded in parts, encrypted as it streams).
fn crypt_home(s: &Setup, large: bool) {
    let home = s.path().join("homes/crypt");
    write(
        &home.join("app.ini"),
        format!("[App]\nnote={TOKEN}\n").as_bytes(),
    );
    write(
        &home.join(format!("data/{NAME_TOKEN}.txt")),
        TOKEN.repeat(50).as_bytes(),
    );
    write(&home.join("data/small.bin"), &noise(7, 5000));
    std::fs::create_dir_all(home.join("data/empty")).unwrap();
    std::os::unix::fs::symlink("small.bin", home.join("data/link-to-small")).unwrap();
    if large {
        let mut big = noise(11, (17 << 20) + 12_345);
        for at in [0, big.len() / 2, big.len() - TOKEN.len()] {
            big[at..at + TOKEN.len()].copy_from_slice(TOKEN.as_bytes());
        }
        write(&home.join("data/large.bin"), &big);
    }
}

fn env(name: &str) -> Vec<(String, String)> {
    let up = name.to_uppercase().replace('-', "_");
    vec![
        (
            format!("BACKUP_MASTER_S3_{up}_ACCESS_KEY"),
            ACCESS.to_string(),
        ),
        (
            format!("BACKUP_MASTER_S3_{up}_SECRET_KEY"),
            SECRET.to_string(),
        ),
    ]
}

/// The server with the S3 keys of `targets`, its log (debug) written to `log`.
fn start_logged(s: &Setup, targets: &[&str], log: &Path) -> Server {
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .arg("--config")
        .arg(&s.config)
        .current_dir(s.path())
        .env("BACKUP_MASTER_LOG", "debug")
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        ));
    for t in targets {
        for (k, v) in env(t) {
            cmd.env(k, v);
        }
    }
    Server::spawn(cmd)
}

fn started(r: reqwest::blocking::Response) -> String {
    assert_eq!(r.status(), 202, "start");
    let rec: Value = r.json().unwrap();
    rec["id"].as_str().unwrap().to_string()
}

fn replicate(server: &Server, target: &str) -> Value {
    let r = server.post(
        &format!("/api/v1/replication-targets/{target}/replicate"),
        OPERATOR,
        &json!({}),
    );
    wait_replication(server, &started(r))
}

fn verify(server: &Server, target: &str, id: &str, deep: bool) -> Value {
    let r = server.post(
        &format!("/api/v1/replication-targets/{target}/sets/{id}/verify"),
        OPERATOR,
        &json!({ "deep": deep }),
    );
    wait_replication(server, &started(r))
}

/// The keys of `bucket` whose content holds any of `needles`, and how many objects there are.
fn objects_holding(s3: &S3Server, bucket: &str, needles: &[&str]) -> (Vec<String>, usize) {
    let list = needles
        .iter()
        .map(|n| format!("b'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let out = s3.python(&format!(
        "hits = []\nn = 0\nfor page in s3.get_paginator('list_objects_v2').paginate(Bucket='{bucket}'):\n    for o in page.get('Contents', []):\n        n += 1\n        body = s3.get_object(Bucket='{bucket}', Key=o['Key'])['Body'].read()\n        if any(x in body for x in [{list}]):\n            hits.append(o['Key'])\nprint(json.dumps([hits, n]))"
    ));
    serde_json::from_str(out.trim()).unwrap()
}

/// Flips one bit of `key` on `bucket`, `back` bytes before its end.
fn flip(s3: &S3Server, bucket: &str, key: &str, back: usize) {
    s3.python(&format!(
        "b = bytearray(s3.get_object(Bucket='{bucket}', Key='{key}')['Body'].read())\nb[len(b) - {back}] ^= 1\ns3.put_object(Bucket='{bucket}', Key='{key}', Body=bytes(b))"
    ));
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Every regular file and folder of the homes, for "nothing local changed".
fn homes_now(s: &Setup) -> BTreeMap<String, String> {
    snapshot(&s.path().join("homes"))
}

fn downloads(s: &Setup) -> Vec<String> {
    std::fs::read_dir(s.state().join("downloads"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const HOMES: [&str; 4] = ["hub", "lui", "trk", "crypt"];
const SKIP: [&str; 2] = ["backup", ".pre-restore-"];

fn metas(s: &Setup) -> Vec<BTreeMap<String, String>> {
    HOMES
        .iter()
        .map(|h| snapshot_meta(&s.path().join("homes").join(h), &SKIP))
        .collect()
}

/// The disaster: every local backup folder and the state dir gone, the homes damaged.
fn lose_everything(s: &Setup) {
    for h in HOMES {
        for e in std::fs::read_dir(s.path().join("homes").join(h))
            .unwrap()
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with("backup") {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
    }
    std::fs::remove_dir_all(s.state()).unwrap();
    std::fs::write(s.home("crypt").join("data/small.bin"), b"damaged").unwrap();
    std::fs::remove_file(s.home("hub").join("hub.ini")).unwrap();
}

/// Restores `id` from `target` and checks every home is as it was at the backup.
fn restore_exactly(
    s: &Setup,
    server: &Server,
    id: &str,
    target: &str,
    before: &[BTreeMap<String, String>],
) {
    let r = run_restore(server, &json!({"backup_id": id, "from_target": target}));
    assert_eq!(r["status"], "succeeded", "{r}");
    for c in r["components"].as_array().unwrap() {
        assert_eq!(c["origin"], "replica", "{c}");
    }
    for (h, before) in HOMES.iter().zip(before) {
        let mut after = snapshot_meta(&s.path().join("homes").join(h), &SKIP);
        let mut before = before.clone();
        before.remove(".");
        after.remove(".");
        if *h == "lui" {
            // A restored lui.ini names the folder the component restores its database from.
            after.remove("lui.ini").unwrap();
            before.remove("lui.ini");
        }
        assert_eq!(after, before, "home {h} restored exactly");
    }
}

fn keypair() -> (String, String) {
    let id = age::x25519::Identity::generate();
    (
        id.to_public().to_string(),
        id.to_string().expose_secret().to_string(),
    )
}

/// Asserts no text of `secrets` is in any of the server's responses about replication.
fn responses_hide(server: &Server, secrets: &[&str], replication_ids: &[String]) {
    let mut paths = vec![
        "/api/v1/replications".to_string(),
        "/api/v1/replication-targets".to_string(),
        "/api/v1/replication-targets/offsite".to_string(),
        "/api/v1/replication-targets/offsite/sets".to_string(),
        "/api/v1/restores".to_string(),
        "/metrics".to_string(),
    ];
    for id in replication_ids {
        paths.push(format!("/api/v1/replications/{id}"));
        paths.push(format!("/api/v1/replications/{id}/events"));
    }
    for path in paths {
        let text = server.get(&path, ADMIN).text().unwrap();
        for secret in secrets {
            assert!(!text.contains(secret), "{path} shows a key: {text}");
        }
    }
}

#[test]
fn recipients_mode_hides_contents_and_names_and_only_the_identity_restores() {
    let s3 = S3Server::shared();
    s3.create_bucket("crypt-rcpt", false);
    s3.create_bucket("crypt-plain", false);
    let (public, secret) = keypair();
    let keys = tempfile::tempdir().unwrap();
    let recipients = keys.path().join("offsite.recipients");
    let identity = keys.path().join("offsite.identity");
    std::fs::write(&recipients, format!("# the offsite key\n{public}\n")).unwrap();
    std::fs::write(&identity, format!("# created: now\n{secret}\n")).unwrap();
    let s = Setup::with_extra(
        1,
        &format!(
            "{}{}{CRYPT}",
            target_toml(
                &s3,
                "offsite",
                "crypt-rcpt",
                &format!("encrypt_recipients_file = \"{}\"", recipients.display())
            ),
            target_toml(&s3, "plain", "crypt-plain", "")
        ),
    );
    crypt_home(&s, true);
    let log = s.path().join("server.log");
    let mut server = start_logged(&s, &["offsite", "plain"], &log);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded");
    let id = b["id"].as_str().unwrap().to_string();
    let at_backup = metas(&s);

    let rec = replicate(&server, "offsite");
    assert_eq!(rec["status"], "succeeded", "{rec}");
    assert_eq!(rec["manifest_key"], format!("sets/{id}.json.age"), "{rec}");
    let objects = s3.objects("crypt-rcpt");
    assert!(objects.contains_key(&format!("site-a/sets/{id}.json.age")));
    assert!(objects.contains_key(&format!("site-a/sets/{id}.blobs.json")));
    assert!(!objects.contains_key(&format!("site-a/sets/{id}.json")));
    let blob_keys: Vec<&String> = objects
        .keys()
        .filter(|k| k.starts_with("site-a/blobs/"))
        .collect();
    assert!(blob_keys.len() >= 5, "{objects:?}");
    assert!(blob_keys.iter().all(|k| k.ends_with(".age")), "{objects:?}");
    // The large file went up in parts, encrypted: larger than its content.
    let large = std::fs::read(s.home("crypt").join("data/large.bin")).unwrap();
    let large_sha = sha_hex(&large);
    let large_key = format!("site-a/blobs/{}/{large_sha}.age", &large_sha[..2]);
    assert!(objects[&large_key] > large.len() as u64, "{objects:?}");

    // Not one object holds the known content or the known name (blobs and manifests).
    let (hits, n) = objects_holding(&s3, "crypt-rcpt", &[TOKEN, NAME_TOKEN]);
    assert_eq!(
        hits,
        Vec::<String>::new(),
        "plaintext on the encrypted bucket"
    );
    assert_eq!(n, objects.len());
    // The same search finds both on a target that does not encrypt: it can see them.
    let plain = replicate(&server, "plain");
    assert_eq!(plain["status"], "succeeded", "{plain}");
    let (hits, _) = objects_holding(&s3, "crypt-plain", &[TOKEN]);
    assert!(hits.len() >= 3, "{hits:?}");
    let (hits, _) = objects_holding(&s3, "crypt-plain", &[NAME_TOKEN]);
    assert_eq!(hits, [format!("site-a/sets/{id}.json")]);

    // Without the identity: listing and quick verification work, deep verification and
    // restores fail naming the target and the setting, and nothing local changes.
    let sets = server.get_json("/api/v1/replication-targets/offsite/sets", VIEWER);
    assert_eq!(sets[0]["backup_id"], id.as_str(), "{sets}");
    assert_eq!(sets[0]["encrypted"], true, "{sets}");
    let quick = verify(&server, "offsite", &id, false);
    assert_eq!(quick["status"], "succeeded", "{quick}");
    assert_eq!(quick["blobs_present"], quick["blobs_total"], "{quick}");
    assert_eq!(
        quick["manifest_key"],
        format!("sets/{id}.json.age"),
        "{quick}"
    );
    let deep = verify(&server, "offsite", &id, true);
    assert_eq!(deep["status"], "failed", "{deep}");
    let err = deep["error"].as_str().unwrap();
    assert!(
        err.contains("offsite") && err.contains("decrypt_identity_file"),
        "{err}"
    );
    let homes_before = homes_now(&s);
    let p = assert_problem(
        post_restore(&server, &json!({"backup_id": id, "from_target": "offsite"})),
        409,
    );
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("offsite") && detail.contains("decrypt_identity_file"),
        "{p}"
    );
    assert_eq!(
        homes_now(&s),
        homes_before,
        "a refused restore changed a home"
    );
    assert_eq!(downloads(&s), Vec::<String>::new());

    // The identity added through the API (a path, shown as a path).
    let mut view = server.get_json("/api/v1/replication-targets/offsite", VIEWER);
    let settings = view.as_object_mut().unwrap();
    settings.remove("name");
    settings.insert(
        "decrypt_identity_file".into(),
        json!(identity.display().to_string()),
    );
    let r = server.put(
        "/api/v1/replication-targets/offsite",
        ADMIN,
        &Value::Object(settings.clone()),
        Some("*"),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    let view = server.get_json("/api/v1/replication-targets/offsite", VIEWER);
    assert_eq!(
        view["decrypt_identity_file"],
        identity.display().to_string()
    );
    let config_text = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        config_text.contains("decrypt_identity_file"),
        "{config_text}"
    );
    assert!(config_text.contains("this comment must survive"));
    let deep = verify(&server, "offsite", &id, true);
    assert_eq!(deep["status"], "succeeded", "{deep}");
    let ids: Vec<String> = [&rec, &plain, &quick, &deep]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    responses_hide(&server, &[&secret, &secret[15..40]], &ids);
    server.kill9();

    // A fresh master (no state dir, no slot) restores exact trees from the bucket alone.
    lose_everything(&s);
    let server = start_logged(&s, &["offsite"], &log);
    restore_exactly(&s, &server, &id, "offsite", &at_backup);

    // A flipped byte in an encrypted blob: deep verification names it.
    let named = std::fs::read(s.home("crypt").join(format!("data/{NAME_TOKEN}.txt"))).unwrap();
    let named_sha = sha_hex(&named);
    let named_key = format!("blobs/{}/{named_sha}.age", &named_sha[..2]);
    flip(&s3, "crypt-rcpt", &format!("site-a/{named_key}"), 20);
    let deep = verify(&server, "offsite", &id, true);
    assert_eq!(deep["status"], "failed", "{deep}");
    assert_eq!(deep["problem_count"], 1, "{deep}");
    let problem = deep["problems"][0].as_str().unwrap();
    assert!(
        problem.contains(&named_key) && problem.contains(NAME_TOKEN),
        "{problem}"
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("replication finished"),
        "the log was written"
    );
    assert!(
        !log_text.contains(&secret) && !log_text.contains(&secret[15..40]),
        "the identity in the log"
    );
}

#[test]
fn passphrase_mode_wraps_one_identity_on_the_bucket_and_a_wrong_passphrase_changes_nothing() {
    let s3 = S3Server::shared();
    s3.create_bucket("crypt-pass", false);
    let keys = tempfile::tempdir().unwrap();
    let pass_file = keys.path().join("offsite.passphrase");
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    let hook_out = tempfile::tempdir().unwrap();
    let env_file = hook_out.path().join("env.txt");
    let s = Setup::with_extra(
        2,
        &format!(
            "[hooks]\non_success = \"/bin/sh -c 'env >> {}'\"\ntimeout_seconds = 60\n{}{CRYPT}",
            env_file.display(),
            target_toml(
                &s3,
                "offsite",
                "crypt-pass",
                &format!(
                    "encrypt_passphrase_file = \"{}\"\nmode = \"after_backup\"",
                    pass_file.display()
                )
            )
        ),
    );
    crypt_home(&s, false);
    let log = s.path().join("server.log");
    let mut server = start_logged(&s, &["offsite"], &log);
    let b = run_backup(&server);
    assert_eq!(b["status"], "succeeded");
    let id = b["id"].as_str().unwrap().to_string();
    let at_backup = metas(&s);
    // mode = after_backup: replicated without being asked.
    let rec = poll(
        "the after-backup replication",
        Duration::from_secs(180),
        || {
            let page = server.get_json("/api/v1/replications", VIEWER);
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["backup_id"] == id.as_str() && r["status"] != "running")
                .cloned()
        },
    );
    assert_eq!(rec["status"], "succeeded", "{rec}");
    let objects = s3.objects("crypt-pass");
    let wrapped = s3.get("crypt-pass", "site-a/keys/identity.age");
    assert!(wrapped.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    // The identity on the bucket opens with the passphrase (and is what the sets use).
    let identity_text = {
        let d = age::Decryptor::new(&wrapped[..]).unwrap();
        let id = age::scrypt::Identity::new(PASSPHRASE.to_string().into());
        let mut r = d
            .decrypt(std::iter::once(&id as &dyn age::Identity))
            .unwrap();
        let mut t = String::new();
        std::io::Read::read_to_string(&mut r, &mut t).unwrap();
        t
    };
    let secret = identity_text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_string();
    let (hits, n) = objects_holding(&s3, "crypt-pass", &[TOKEN, NAME_TOKEN, PASSPHRASE, &secret]);
    assert_eq!(
        hits,
        Vec::<String>::new(),
        "plaintext or a key on the bucket"
    );
    assert_eq!(n, objects.len());
    assert!(objects
        .keys()
        .filter(|k| k.starts_with("site-a/blobs/"))
        .all(|k| k.ends_with(".age")));

    // A second set uses the same identity: keys/identity.age is never written again.
    std::fs::write(s.home("crypt").join("data/new.txt"), TOKEN).unwrap();
    let b2 = run_backup(&server);
    assert_eq!(b2["status"], "succeeded");
    let id2 = b2["id"].as_str().unwrap().to_string();
    let rec2 = poll(
        "the second after-backup replication",
        Duration::from_secs(180),
        || {
            let page = server.get_json("/api/v1/replications", VIEWER);
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["backup_id"] == id2.as_str() && r["status"] != "running")
                .cloned()
        },
    );
    assert_eq!(rec2["status"], "succeeded", "{rec2}");
    assert!(rec2["blobs_present"].as_u64().unwrap() >= 4, "{rec2}");
    assert_eq!(s3.get("crypt-pass", "site-a/keys/identity.age"), wrapped);

    // A flipped byte in an encrypted blob: deep verification names it.
    let small = std::fs::read(s.home("crypt").join("data/small.bin")).unwrap();
    let small_sha = sha_hex(&small);
    let small_key = format!("blobs/{}/{small_sha}.age", &small_sha[..2]);
    let good = verify(&server, "offsite", &id2, true);
    assert_eq!(good["status"], "succeeded", "{good}");
    let before_flip = s3.get("crypt-pass", &format!("site-a/{small_key}"));
    flip(&s3, "crypt-pass", &format!("site-a/{small_key}"), 100);
    let deep = verify(&server, "offsite", &id2, true);
    assert_eq!(deep["status"], "failed", "{deep}");
    let problems = deep["problems"].to_string();
    assert!(
        problems.contains(&small_key) && problems.contains("small.bin"),
        "{problems}"
    );
    s3.python(&format!(
        "s3.put_object(Bucket='crypt-pass', Key='site-a/{small_key}', Body=bytes.fromhex('{}'))",
        hex::encode(&before_flip)
    ));

    // A wrong passphrase: the copy fails naming the target and the setting, nothing is
    // uploaded and nothing local changes; a restore is refused the same way.
    let bucket_before = s3.objects("crypt-pass");
    std::fs::write(&pass_file, "Wrong-Pass-Xq7\n").unwrap();
    std::fs::write(s.home("crypt").join("data/newer.txt"), b"changed again").unwrap();
    let b3 = run_backup(&server);
    assert_eq!(b3["status"], "succeeded");
    let id3 = b3["id"].as_str().unwrap().to_string();
    let failed = poll("the refused replication", Duration::from_secs(180), || {
        let page = server.get_json("/api/v1/replications", VIEWER);
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["backup_id"] == id3.as_str() && r["status"] != "running")
            .cloned()
    });
    assert_eq!(failed["status"], "failed", "{failed}");
    let err = failed["error"].as_str().unwrap();
    assert!(
        err.contains("offsite") && err.contains("encrypt_passphrase_file"),
        "{err}"
    );
    assert!(!err.contains("Wrong-Pass-Xq7"), "{err}");
    assert_eq!(
        s3.objects("crypt-pass"),
        bucket_before,
        "uploaded with a wrong passphrase"
    );
    let homes_before = homes_now(&s);
    let p = assert_problem(
        post_restore(
            &server,
            &json!({"backup_id": id2, "from_target": "offsite"}),
        ),
        409,
    );
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("offsite") && detail.contains("encrypt_passphrase_file"),
        "{p}"
    );
    assert_eq!(
        homes_now(&s),
        homes_before,
        "a refused restore changed a home"
    );
    assert_eq!(downloads(&s), Vec::<String>::new());

    let ids: Vec<String> = [&rec, &rec2, &good, &deep, &failed]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    responses_hide(&server, &[PASSPHRASE, &secret, &secret[15..40]], &ids);
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    assert!(env_text.contains("BACKUP_ID"), "the hook ran");
    for key in [PASSPHRASE, secret.as_str(), &secret[15..40]] {
        assert!(!env_text.contains(key), "a key in the hook's environment");
    }
    server.kill9();

    // A fresh master with the right passphrase restores the first set exactly.
    std::fs::write(&pass_file, format!("{PASSPHRASE}\n")).unwrap();
    lose_everything(&s);
    std::fs::remove_file(s.home("crypt").join("data/new.txt")).unwrap();
    std::fs::remove_file(s.home("crypt").join("data/newer.txt")).unwrap();
    let server = start_logged(&s, &["offsite"], &log);
    restore_exactly(&s, &server, &id, "offsite", &at_backup);
    drop(server);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("replication finished"),
        "the log was written"
    );
    for key in [PASSPHRASE, secret.as_str(), &secret[15..40]] {
        assert!(!log_text.contains(key), "a key in the log");
    }
}

#[test]
fn turning_encryption_on_keeps_the_forms_apart_and_retention_prunes_both_without_the_key() {
    let s3 = S3Server::shared();
    s3.create_bucket("crypt-switch", false);
    let (public, secret) = keypair();
    let keys = tempfile::tempdir().unwrap();
    let recipients = keys.path().join("r.txt");
    std::fs::write(&recipients, format!("{public}\n")).unwrap();
    let s = Setup::with_extra(
        3,
        &format!(
            "{}{CRYPT}",
            target_toml(
                &s3,
                "offsite",
                "crypt-switch",
                "keep = 1\nunreferenced_grace_seconds = 0"
            )
        ),
    );
    crypt_home(&s, false);
    let log = s.path().join("server.log");
    let server = start_logged(&s, &["offsite"], &log);
    let b1 = run_backup(&server);
    let id1 = b1["id"].as_str().unwrap().to_string();
    let r1 = replicate(&server, "offsite");
    assert_eq!(r1["status"], "succeeded", "{r1}");
    let plain_blobs: Vec<String> = s3
        .objects("crypt-switch")
        .into_keys()
        .filter(|k| k.starts_with("site-a/blobs/"))
        .collect();
    assert!(plain_blobs.iter().all(|k| !k.ends_with(".age")));

    // Encryption on (recipients only: the master has no private key).
    let mut view = server.get_json("/api/v1/replication-targets/offsite", VIEWER);
    let settings = view.as_object_mut().unwrap();
    settings.remove("name");
    settings.insert(
        "encrypt_recipients_file".into(),
        json!(recipients.display().to_string()),
    );
    let r = server.put(
        "/api/v1/replication-targets/offsite",
        ADMIN,
        &Value::Object(settings.clone()),
        Some("*"),
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // The set already there (plain) counts as replicated: nothing uploaded again.
    let again = replicate(&server, "offsite");
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["already_replicated"], true, "{again}");
    std::fs::write(s.home("crypt").join("data/fresh.txt"), b"fresh content").unwrap();
    let b2 = run_backup(&server);
    let id2 = b2["id"].as_str().unwrap().to_string();
    let r2 = replicate(&server, "offsite");
    assert_eq!(r2["status"], "succeeded", "{r2}");
    // Every blob of the new set is uploaded in the encrypted form (no plaintext blob reused),
    // and keep = 1 removed the plain set and its blobs, without a private key.
    assert_eq!(r2["blobs_present"], 0, "{r2}");
    assert_eq!(r2["sets_removed"], json!([id1]), "{r2}");
    let objects = s3.objects("crypt-switch");
    let left: Vec<&String> = objects.keys().collect();
    assert!(
        left.iter()
            .all(|k| !k.starts_with("site-a/blobs/") || k.ends_with(".age")),
        "{left:?}"
    );
    assert!(!objects.contains_key(&format!("site-a/sets/{id1}.json")));
    let sets = server.get_json("/api/v1/replication-targets/offsite/sets", VIEWER);
    assert_eq!(sets.as_array().unwrap().len(), 1, "{sets}");
    assert_eq!(sets[0]["backup_id"], id2.as_str());
    assert_eq!(sets[0]["encrypted"], true);
    let index: Value =
        serde_json::from_slice(&s3.get("crypt-switch", &format!("site-a/sets/{id2}.blobs.json")))
            .unwrap();
    let in_index = index["blobs"].as_object().unwrap().len();
    let on_bucket = objects
        .keys()
        .filter(|k| k.starts_with("site-a/blobs/"))
        .count();
    assert_eq!(in_index, on_bucket, "{index}");

    // A third set: retention removes the second (its encrypted manifest and blob index) and
    // the encrypted blob only it used.
    std::fs::remove_file(s.home("crypt").join("data/fresh.txt")).unwrap();
    let b3 = run_backup(&server);
    let id3 = b3["id"].as_str().unwrap().to_string();
    let r3 = replicate(&server, "offsite");
    assert_eq!(r3["status"], "succeeded", "{r3}");
    assert_eq!(r3["sets_removed"], json!([id2]), "{r3}");
    assert!(r3["blobs_removed"].as_u64().unwrap() >= 1, "{r3}");
    let objects = s3.objects("crypt-switch");
    // Exactly the blobs the remaining set's index lists are left.
    let index: Value =
        serde_json::from_slice(&s3.get("crypt-switch", &format!("site-a/sets/{id3}.blobs.json")))
            .unwrap();
    let mut listed: Vec<String> = index["blobs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|sha| format!("site-a/blobs/{}/{sha}.age", &sha[..2]))
        .collect();
    listed.sort();
    let on_bucket: Vec<String> = objects
        .keys()
        .filter(|k| k.starts_with("site-a/blobs/"))
        .cloned()
        .collect();
    assert_eq!(on_bucket, listed);
    assert!(!objects.contains_key(&format!("site-a/sets/{id2}.json.age")));
    assert!(!objects.contains_key(&format!("site-a/sets/{id2}.blobs.json")));
    assert!(objects.contains_key(&format!("site-a/sets/{id3}.json.age")));
    let fresh = sha_hex(b"fresh content");
    assert!(!objects.contains_key(&format!("site-a/blobs/{}/{fresh}.age", &fresh[..2])));
    let quick = verify(&server, "offsite", &id3, false);
    assert_eq!(quick["status"], "succeeded", "{quick}");
    assert!(!std::fs::read_to_string(&log)
        .unwrap()
        .contains(&secret[15..40]));
}

#[test]
fn encryption_settings_are_checked_naming_the_field_and_never_showing_a_key() {
    let s3 = S3Server::shared();
    let (public, secret) = keypair();
    let keys = tempfile::tempdir().unwrap();
    let recipients = keys.path().join("r.txt");
    let identity = keys.path().join("i.txt");
    let passphrase = keys.path().join("p.txt");
    let garbage = keys.path().join("garbage.txt");
    let empty = keys.path().join("empty.txt");
    std::fs::write(&recipients, format!("{public}\n")).unwrap();
    std::fs::write(&identity, format!("{secret}\n")).unwrap();
    std::fs::write(&passphrase, format!("{PASSPHRASE}\n")).unwrap();
    // A key of the wrong kind in the recipients file: refused without being echoed.
    std::fs::write(&garbage, format!("{public}\n{secret}\n")).unwrap();
    std::fs::write(&empty, "  \n").unwrap();
    let s = Setup::new(1);
    let server = s.start();
    let config_before = std::fs::read_to_string(&s.config).unwrap();
    let base = json!({"endpoint": s3.endpoint, "bucket": "crypt-any", "path_style": true});
    let with = |more: Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(more.as_object().unwrap().clone());
        b
    };
    let p = |f: &Path| f.display().to_string();
    for (body, fields) in [
        (
            json!({"encrypt_recipients_file": p(&recipients), "encrypt_passphrase_file": p(&passphrase)}),
            vec!["encrypt_passphrase_file", "encrypt_recipients_file"],
        ),
        (
            json!({"encrypt_recipients_file": p(&garbage)}),
            vec!["encrypt_recipients_file"],
        ),
        (
            json!({"encrypt_recipients_file": p(&identity)}),
            vec!["encrypt_recipients_file"],
        ),
        (
            json!({"encrypt_recipients_file": p(&recipients), "decrypt_identity_file": p(&recipients)}),
            vec!["decrypt_identity_file"],
        ),
        (
            json!({"encrypt_passphrase_file": p(&empty)}),
            vec!["encrypt_passphrase_file"],
        ),
        (
            json!({"encrypt_passphrase_file": p(&keys.path().join("missing"))}),
            vec!["encrypt_passphrase_file"],
        ),
        (
            json!({"decrypt_identity_file": p(&identity)}),
            vec!["decrypt_identity_file"],
        ),
        (
            json!({"encrypt_passphrase_file": p(&passphrase), "decrypt_identity_file": p(&identity)}),
            vec!["decrypt_identity_file"],
        ),
    ] {
        let r = server.put(
            "/api/v1/replication-targets/offsite",
            ADMIN,
            &with(body.clone()),
            Some("*"),
        );
        let problem = assert_problem(r, 422);
        let mut got = problem_fields(&problem);
        got.sort();
        assert_eq!(got, fields, "{body}: {problem}");
        let text = problem.to_string();
        assert!(
            !text.contains(&secret[15..40]) && !text.contains(&public[5..40]),
            "a key in {text}"
        );
    }
    assert_eq!(std::fs::read_to_string(&s.config).unwrap(), config_before);
    // Each good combination is taken, and shown as paths.
    for body in [
        json!({"encrypt_recipients_file": p(&recipients)}),
        json!({"encrypt_recipients_file": p(&recipients), "decrypt_identity_file": p(&identity)}),
        json!({"encrypt_passphrase_file": p(&passphrase)}),
    ] {
        let r = server.put(
            "/api/v1/replication-targets/offsite",
            ADMIN,
            &with(body.clone()),
            Some("*"),
        );
        assert!([200, 201].contains(&r.status().as_u16()), "{body}");
        let view = server.get_json("/api/v1/replication-targets/offsite", VIEWER);
        for (k, v) in body.as_object().unwrap() {
            assert_eq!(&view[k], v, "{view}");
        }
        let text = view.to_string();
        assert!(!text.contains(PASSPHRASE) && !text.contains(&secret[15..40]));
    }
    drop(server);

    // The config file: both ways at once are refused at start, naming both keys.
    let text = std::fs::read_to_string(&s.config).unwrap();
    let text = text.replace(
        &format!("encrypt_passphrase_file = \"{}\"", p(&passphrase)),
        &format!(
            "encrypt_passphrase_file = \"{}\"\nencrypt_recipients_file = \"{}\"",
            p(&passphrase),
            p(&garbage)
        ),
    );
    assert!(text.contains("encrypt_recipients_file"), "{text}");
    std::fs::write(&s.config, text).unwrap();
    let out = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "replication_targets[0].encrypt_recipients_file",
        "replication_targets[0].encrypt_passphrase_file",
    ] {
        assert!(err.contains(key), "{key} not named in:\n{err}");
    }
    assert!(
        !err.contains(&secret[15..40]) && !err.contains(PASSPHRASE),
        "a key in:\n{err}"
    );
}
