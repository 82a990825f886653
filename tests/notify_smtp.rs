//! Email notifications against a real SMTP server: `python3 -m aiosmtpd` (the `aiosmtpd`
//! package; CI installs it), started by the test on a free loopback port with a Maildir
//! handler. A failed backup's mail carries the summary and the report's last lines; the test
//! send answers with the server's reply. Without aiosmtpd this test fails: it does not skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use common::*;

/// An aiosmtpd process writing every mail it accepts into a Maildir.
struct SmtpSink {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl SmtpSink {
    fn start(dir: &Path) -> SmtpSink {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        poll("aiosmtpd to listen", Duration::from_secs(30), || {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("aiosmtpd exited ({status}): {err} (install it: python3 -m pip install aiosmtpd)");
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        SmtpSink {
            child,
            port,
            maildir,
        }
    }

    /// Every mail received, as text.
    fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes (enough for these mails).
fn unfold(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

#[test]
fn a_failed_backup_mails_its_summary_and_report_tail() {
    let s0 = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(s0.path());
    let s = Setup::with_extra(
        2,
        &format!(
            "\n[[notification_targets]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\nfrom = \"backup-master <backup@example.com>\"\nto = [\"ops@example.com\", \"oncall@example.com\"]\ntimeout_seconds = 5\n",
            sink.port
        ),
    );
    let server = s.start_env(&[("BACKUP_MASTER_FAULTS", "prepare:lui")]);

    // The test send answers with the server's reply.
    let r = server.post("/api/v1/notification-targets/mail/test", ADMIN, &json!({}));
    assert_eq!(r.status(), 200);
    let o: Value = r.json().unwrap();
    assert_eq!(o["ok"], true, "{o}");
    assert!(o["reply"].as_str().unwrap().starts_with("250"), "{o}");
    assert!(o["status"].is_null(), "{o}");

    let rec = run_backup(&server);
    assert_eq!(rec["status"], "failed", "{rec}");
    let id = rec["id"].as_str().unwrap();
    let mail = poll("the failure mail", Duration::from_secs(60), || {
        sink.mails().into_iter().find(|m| m.contains(id))
    });
    let mail = unfold(&mail);
    let (head, body) = mail
        .split_once("\n\n")
        .or_else(|| mail.split_once("\r\n\r\n"))
        .unwrap();
    let subject = head
        .lines()
        .find(|l| l.starts_with("Subject:"))
        .expect("a subject");
    assert!(
        subject.contains("[backup-master] error: backup"),
        "{subject}"
    );
    assert!(subject.contains(id), "{subject}");
    assert!(
        head.contains("ops@example.com") && head.contains("oncall@example.com"),
        "{head}"
    );
    // The summary first, then the details, then the report's last lines.
    let report = server
        .get(&format!("/api/v1/backups/{id}/report"), VIEWER)
        .text()
        .unwrap();
    let last: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        body.trim_start()
            .starts_with(&format!("backup {id} failed")),
        "{body}"
    );
    assert!(
        body.contains(&format!("record: /api/v1/backups/{id}")),
        "{body}"
    );
    assert!(body.contains("last lines of the report:"), "{body}");
    for line in &last[last.len().saturating_sub(3)..] {
        assert!(body.contains(line.trim()), "{line:?} not in\n{body}");
    }
    let page = server.get_json("/api/v1/notifications/deliveries?target=mail", ADMIN);
    let d = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"]["backup_id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(d["status"], "delivered", "{d}");
    assert!(d["last_reply"].as_str().unwrap().starts_with("250"), "{d}");
}

#[test]
fn an_unreachable_smtp_server_is_an_error_in_the_test_send() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Setup::with_extra(
        2,
        &format!(
            "\n[[notification_targets]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\nfrom = \"backup@example.com\"\nto = [\"ops@example.com\"]\ntimeout_seconds = 2\n"
        ),
    );
    let server = s.start();
    let o: Value = server
        .post("/api/v1/notification-targets/mail/test", ADMIN, &json!({}))
        .json()
        .unwrap();
    assert_eq!(o["ok"], false, "{o}");
    assert!(o["error"].as_str().unwrap().starts_with("smtp"), "{o}");
}
