//! Tests with real `/bin/sh` scripts, real process groups and real signals.
//!
//! "Gone" for a pid means `kill -0` fails or the process is a zombie: in containers PID 1
//! often does not reap orphans, so a killed background child can stay a zombie (dead, no
//! longer running anything) for as long as the container lives.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tempfile::TempDir;

use super::process::{is_dead, proc_stat};
use super::record::{json_path, log_path, save, StoredRecord};
use super::*;

struct Fixture {
    _tmp: TempDir,
    state: PathBuf,
    work: PathBuf,
    mgr: HookManager,
}

fn settings(work: &Path, on_success: &str, on_failure: &str, timeout: u64) -> HookSettings {
    HookSettings {
        on_success: on_success.into(),
        on_failure: on_failure.into(),
        work_folder: work.to_path_buf(),
        timeout_seconds: timeout,
        env: Vec::new(),
    }
}

fn fixture(on_success: &str, on_failure: &str, timeout: u64) -> Fixture {
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mgr = HookManager::open(
        state.clone(),
        settings(&work, on_success, on_failure, timeout),
    )
    .unwrap();
    Fixture {
        _tmp: tmp,
        state,
        work,
        mgr,
    }
}

impl Fixture {
    /// Writes an executable `/bin/sh` script into the work folder.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.work.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn set(&self, on_success: &str, on_failure: &str, timeout: u64) {
        self.mgr
            .update_settings(settings(&self.work, on_success, on_failure, timeout));
    }
}

fn ctx(id: &str) -> BackupContext {
    BackupContext {
        backup_id: id.into(),
        result: "ignored".into(),
        report: PathBuf::from(format!("/state/logs/backupReport_{id}.txt")),
        folders: vec![
            ("lui".into(), PathBuf::from("/srv/lui/backup")),
            ("my-db".into(), PathBuf::from("/srv/db/backup")),
        ],
    }
}

/// Every event of a stream: (lines, the exit event). Fails after 30 s.
async fn collect(mgr: &HookManager, id: &str, after: u64) -> (Vec<(u64, String)>, OutputEvent) {
    let stream = mgr.output(id, after).expect("known id");
    drain(stream).await
}

async fn drain(mut stream: OutputStream) -> (Vec<(u64, String)>, OutputEvent) {
    let all = async move {
        let mut lines = Vec::new();
        while let Some(ev) = stream.next().await {
            match ev {
                OutputEvent::Line { n, text } => lines.push((n, text)),
                exit @ OutputEvent::Exit { .. } => {
                    assert!(
                        stream.next().await.is_none(),
                        "nothing after the exit event"
                    );
                    return (lines, exit);
                }
            }
        }
        panic!("stream ended without an exit event");
    };
    tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("output stream finished in time")
}

fn texts(lines: &[(u64, String)]) -> Vec<&str> {
    lines.iter().map(|(_, t)| t.as_str()).collect()
}

fn assert_numbered(lines: &[(u64, String)], first: u64) {
    for (i, (n, _)) in lines.iter().enumerate() {
        assert_eq!(*n, first + i as u64, "line numbers are consecutive");
    }
}

async fn wait_final(mgr: &HookManager, id: &str, limit: Duration) -> HookProcess {
    let end = Instant::now() + limit;
    loop {
        let r = mgr.get(id).expect("known id");
        if r.status != HookStatus::Running {
            return r;
        }
        assert!(
            Instant::now() < end,
            "{id} still running after {limit:?}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `kill -0` fails, or the process is a zombie (ended; see the module doc).
fn pid_gone(pid: i32) -> bool {
    let kill0 = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("kill -0 {pid} 2>/dev/null"))
        .status()
        .unwrap();
    !kill0.success() || proc_stat(pid).is_none_or(|p| is_dead(p.state))
}

async fn wait_pid_gone(pid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if pid_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pid_gone(pid)
}

async fn wait_for_file(path: &Path, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        if let Ok(s) = std::fs::read_to_string(path) {
            if s.ends_with('\n') {
                return s;
            }
        }
        assert!(
            Instant::now() < end,
            "{} not written in time",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const ENV_SCRIPT: &str = r#"
echo "cwd=$(pwd)"
echo "argc=$#"
for a in "$@"; do echo "arg=$a"; done
echo "id=$BACKUP_ID"
echo "result=$BACKUP_RESULT"
echo "report=$BACKUP_REPORT"
echo "lui=${BACKUP_FOLDER_LUI-unset}"
echo "my_db=${BACKUP_FOLDER_MY_DB-unset}"
echo "path=${PATH:+inherited}"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_cwd_and_argv_seen_by_a_real_script() {
    let f = fixture("./env.sh \"two words\" 'it''s' plain", "./env.sh failed", 0);
    f.script("env.sh", ENV_SCRIPT);
    let cwd = format!("cwd={}", f.work.display());

    let rec = f.mgr.after_backup(true, ctx("20261126T020000Z")).unwrap();
    assert_eq!(
        (rec.kind, rec.hook, rec.status),
        (
            HookKind::AfterSuccess,
            HookName::OnSuccess,
            HookStatus::Running
        )
    );
    assert_eq!(rec.backup_id.as_deref(), Some("20261126T020000Z"));
    assert!(rec.pid.is_some());
    let (lines, exit) = collect(&f.mgr, &rec.id, 0).await;
    assert_eq!(
        texts(&lines),
        [
            cwd.as_str(),
            "argc=3",
            "arg=two words",
            "arg=its",
            "arg=plain",
            "id=20261126T020000Z",
            "result=success",
            "report=/state/logs/backupReport_20261126T020000Z.txt",
            "lui=/srv/lui/backup",
            "my_db=/srv/db/backup",
            "path=inherited",
        ]
    );
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Exited,
            exit_code: Some(0),
            signal: None
        }
    );
    let done = f.mgr.get(&rec.id).unwrap();
    assert_eq!(done.lines, 11);
    assert!(done.finished_at.is_some());

    // on_failure: BACKUP_RESULT=failure
    let rec = f.mgr.after_backup(false, ctx("20261126T030000Z")).unwrap();
    assert_eq!(rec.kind, HookKind::AfterFailure);
    let (lines, _) = collect(&f.mgr, &rec.id, 0).await;
    assert!(texts(&lines).contains(&"result=failure"));
    assert!(texts(&lines).contains(&"arg=failed"));

    // test run without a backup: empty values, no folders
    let rec = f.mgr.run_test(HookName::OnSuccess, None).unwrap();
    assert_eq!((rec.kind, rec.backup_id.clone()), (HookKind::Test, None));
    let (lines, _) = collect(&f.mgr, &rec.id, 0).await;
    let t = texts(&lines);
    for want in ["id=", "result=test", "report=", "lui=unset", "my_db=unset"] {
        assert!(t.contains(&want), "{want} in {t:?}");
    }
    // test run with the latest backup's values
    let rec = f
        .mgr
        .run_test(HookName::OnFailure, Some(ctx("20261126T040000Z")))
        .unwrap();
    assert_eq!(
        (rec.hook, rec.backup_id.as_deref()),
        (HookName::OnFailure, Some("20261126T040000Z"))
    );
    let (lines, _) = collect(&f.mgr, &rec.id, 0).await;
    let t = texts(&lines);
    for want in ["id=20261126T040000Z", "result=test", "lui=/srv/lui/backup"] {
        assert!(t.contains(&want), "{want} in {t:?}");
    }

    // a command naming a shell gets one
    f.set("sh -c 'echo \"$BACKUP_ID\" | tr 0-9 a-j'", "", 0);
    let rec = f.mgr.after_backup(true, ctx("123")).unwrap();
    let (lines, _) = collect(&f.mgr, &rec.id, 0).await;
    assert_eq!(texts(&lines), ["bcd"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_order_exit_code_log_file_and_resume() {
    let f = fixture("./out.sh", "", 0);
    f.script(
        "out.sh",
        r#"i=1
while [ $i -le 60 ]; do
  if [ $((i % 2)) = 0 ]; then echo "line $i" >&2; else echo "line $i"; fi
  i=$((i + 1))
done
printf 'no newline'
exit 3"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let (lines, exit) = collect(&f.mgr, &rec.id, 0).await;
    let mut want: Vec<String> = (1..=60).map(|i| format!("line {i}")).collect();
    want.push("no newline".into());
    assert_eq!(
        texts(&lines),
        want,
        "stdout and stderr interleaved in write order"
    );
    assert_numbered(&lines, 1);
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Exited,
            exit_code: Some(3),
            signal: None
        }
    );

    // the log file: line n is output line n
    let log = std::fs::read_to_string(f.mgr.log_path(&rec.id).unwrap()).unwrap();
    assert_eq!(log, want.join("\n") + "\n");
    assert_eq!(
        f.mgr.log_path(&rec.id).unwrap(),
        f.state.join("logs/hooks").join(format!("{}.log", rec.id))
    );
    let stored: serde_json::Value = serde_json::from_slice(
        &std::fs::read(json_path(&f.state.join("logs/hooks"), &rec.id)).unwrap(),
    )
    .unwrap();
    assert_eq!(stored["status"], "exited");
    assert_eq!(stored["exit_code"], 3);
    assert_eq!(stored["lines"], 61);

    // resume of a finished process
    let (lines, exit2) = collect(&f.mgr, &rec.id, 25).await;
    assert_eq!(texts(&lines), want[25..]);
    assert_numbered(&lines, 26);
    assert_eq!(exit2, exit);
    let (lines, _) = collect(&f.mgr, &rec.id, 61).await;
    assert!(lines.is_empty());
    let (lines, _) = collect(&f.mgr, &rec.id, 1000).await;
    assert!(lines.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_of_a_running_process_from_a_line_number() {
    let f = fixture("./two_halves.sh", "", 0);
    f.script(
        "two_halves.sh",
        r#"for i in 1 2 3 4 5 6 7 8 9 10; do echo "a$i"; done
while [ ! -e go ]; do sleep 0.02; done
for i in 1 2 3 4 5 6 7 8 9 10; do echo "b$i"; done"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    // wait until the first half is in
    let end = Instant::now() + Duration::from_secs(10);
    while f.mgr.get(&rec.id).unwrap().lines < 10 {
        assert!(Instant::now() < end);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let from7 = f.mgr.output(&rec.id, 7).unwrap();
    let from0 = f.mgr.output(&rec.id, 0).unwrap();
    std::fs::write(f.work.join("go"), "").unwrap();
    let (lines, exit) = drain(from7).await;
    assert_eq!(
        texts(&lines),
        ["a8", "a9", "a10", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10"]
    );
    assert_numbered(&lines, 8);
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Exited,
            exit_code: Some(0),
            signal: None
        }
    );
    let (lines, _) = drain(from0).await;
    assert_eq!(lines.len(), 20);
    assert_numbered(&lines, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_subscribers_get_identical_streams() {
    let f = fixture("./many.sh", "", 0);
    f.script(
        "many.sh",
        r#"i=1
while [ $i -le 3000 ]; do
  echo "line $i of many"
  if [ $((i % 300)) = 0 ]; then sleep 0.03; fi
  i=$((i + 1))
done"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let mut tasks = Vec::new();
    for k in 0..20 {
        if k == 10 {
            // the second half joins mid-run
            tokio::time::sleep(Duration::from_millis(80)).await;
        }
        let stream = f.mgr.output(&rec.id, 0).unwrap();
        tasks.push(tokio::spawn(async move {
            // a few readers are slow, so they lag behind the channel and use the file
            if k % 5 == 4 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            drain(stream).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let want: Vec<String> = (1..=3000).map(|i| format!("line {i} of many")).collect();
    let (first_lines, _) = &results[0];
    assert_eq!(texts(first_lines), want);
    assert_numbered(first_lines, 1);
    for r in &results[1..] {
        assert_eq!(r, &results[0]);
    }
    assert_eq!(
        results[0].1,
        OutputEvent::Exit {
            status: HookStatus::Exited,
            exit_code: Some(0),
            signal: None
        }
    );
}

/// A subscriber that takes nothing while its queue is full is dropped after the stall
/// timeout (its stream ends after what was queued, without `Exit`), having had no more than its
/// byte-bounded queue buffered for it; resumed with the last line it got, it gets every line
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_too_slow_for_its_buffer_is_dropped_and_resumes_every_line_once() {
    let f = fixture("./long.sh", "", 0);
    // 600 lines of 2 KiB: ten times a subscriber's buffer.
    f.script(
        "long.sh",
        r#"pad=$(printf '%2040s' '' | tr ' ' x)
i=1
while [ $i -le 600 ]; do echo "$i $pad"; i=$((i + 1)); done"#,
    );
    f.mgr.set_stall_timeout(Duration::from_millis(300));
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    wait_final(&f.mgr, &rec.id, Duration::from_secs(30)).await;
    let mut stream = f.mgr.output(&rec.id, 0).unwrap();
    // Take nothing until the subscriber is dropped.
    let end = Instant::now() + Duration::from_secs(10);
    while !stream.is_finished() {
        assert!(
            Instant::now() < end,
            "the stalled subscriber was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut got = Vec::new();
    let mut queued_bytes = 0;
    while let Some(ev) = stream.next().await {
        match ev {
            OutputEvent::Line { n, text } => {
                queued_bytes += text.len();
                got.push((n, text));
            }
            exit => panic!("a dropped subscriber gets no exit event: {exit:?}"),
        }
    }
    assert!(!got.is_empty() && got.len() < 600, "{} lines", got.len());
    assert!(
        queued_bytes <= output::SUBSCRIBER_BUFFER_BYTES,
        "{queued_bytes} bytes were queued for one subscriber"
    );
    let last = got.last().unwrap().0;
    let (rest, exit) = collect(&f.mgr, &rec.id, last).await;
    got.extend(rest);
    assert_eq!(got.len(), 600);
    assert_numbered(&got, 1);
    for (n, text) in &got {
        assert!(
            text.starts_with(&format!("{n} x")) && text.len() == 2040 + 1 + n.to_string().len()
        );
    }
    assert!(
        matches!(
            exit,
            OutputEvent::Exit {
                exit_code: Some(0),
                ..
            }
        ),
        "{exit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_ends_the_whole_group_including_background_children() {
    let f = fixture("./bg.sh", "", 0);
    f.script(
        "bg.sh",
        r#"sleep 300 &
echo "$!" > bg.pid
echo "$$" > me.pid
echo started
sleep 300"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let bg: i32 = wait_for_file(&f.work.join("bg.pid"), Duration::from_secs(10))
        .await
        .trim()
        .parse()
        .unwrap();
    let me: i32 = wait_for_file(&f.work.join("me.pid"), Duration::from_secs(10))
        .await
        .trim()
        .parse()
        .unwrap();
    assert_eq!(Some(me as u32), rec.pid);
    assert!(!pid_gone(bg) && !pid_gone(me));
    assert_eq!(f.mgr.running_count(), 1);
    assert_eq!(f.mgr.list(false).len(), 1);

    let t0 = Instant::now();
    let done = f.mgr.terminate_async(&rec.id).await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "SIGTERM was enough: {:?}",
        t0.elapsed()
    );
    assert_eq!(done.status, HookStatus::Killed);
    assert_eq!(done.signal, Some(libc::SIGTERM));
    assert!(
        wait_pid_gone(bg, Duration::from_secs(3)).await,
        "background sleep {bg} gone"
    );
    assert!(
        wait_pid_gone(me, Duration::from_secs(3)).await,
        "script {me} gone"
    );
    assert_eq!(f.mgr.running_count(), 0);
    assert!(f.mgr.list(false).is_empty());
    assert_eq!(f.mgr.list(true).len(), 1);

    let (lines, exit) = collect(&f.mgr, &rec.id, 0).await;
    assert_eq!(texts(&lines), ["started"]);
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Killed,
            exit_code: None,
            signal: Some(libc::SIGTERM)
        }
    );

    assert!(matches!(
        f.mgr.terminate_async(&rec.id).await,
        Err(HookError::NotRunning {
            status: HookStatus::Killed,
            ..
        })
    ));
    assert!(matches!(
        f.mgr.terminate_async("nope").await,
        Err(HookError::NotFound { .. })
    ));
    assert!(f.mgr.get("nope").is_none());
    assert!(f.mgr.output("nope", 0).is_none());
}

/// On a current-thread runtime, like actix's main system, with the blocking `terminate`.
#[tokio::test]
async fn a_group_ignoring_sigterm_gets_sigkill_after_the_grace_period() {
    let f = fixture("./stubborn.sh", "", 0);
    f.mgr.set_grace_period(Duration::from_millis(600));
    // ignored signals stay ignored in children, so the background sleep ignores TERM too
    f.script(
        "stubborn.sh",
        r#"trap '' TERM
sleep 300 &
echo "$!" > bg.pid
sleep 300"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let bg: i32 = wait_for_file(&f.work.join("bg.pid"), Duration::from_secs(10))
        .await
        .trim()
        .parse()
        .unwrap();
    let t0 = Instant::now();
    // the blocking form, from a blocking thread as the HTTP layer calls it (web::block)
    let (mgr, id) = (f.mgr.clone(), rec.id.clone());
    let done = tokio::task::spawn_blocking(move || mgr.terminate(&id))
        .await
        .unwrap()
        .unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(
        (done.status, done.signal),
        (HookStatus::Killed, Some(libc::SIGKILL))
    );
    assert!(wait_pid_gone(bg, Duration::from_secs(3)).await);
    assert!(wait_pid_gone(rec.pid.unwrap() as i32, Duration::from_secs(3)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_ends_the_group() {
    let f = fixture("./slow.sh", "", 1);
    f.script(
        "slow.sh",
        r#"sleep 300 &
echo "$!" > bg.pid
echo waiting
sleep 300"#,
    );
    let t0 = Instant::now();
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let bg: i32 = wait_for_file(&f.work.join("bg.pid"), Duration::from_secs(10))
        .await
        .trim()
        .parse()
        .unwrap();
    let done = wait_final(&f.mgr, &rec.id, Duration::from_secs(10)).await;
    assert_eq!(done.status, HookStatus::TimedOut);
    assert!(t0.elapsed() >= Duration::from_secs(1) && t0.elapsed() < Duration::from_secs(5));
    assert!(wait_pid_gone(bg, Duration::from_secs(3)).await);
    let (lines, exit) = collect(&f.mgr, &rec.id, 0).await;
    assert_eq!(texts(&lines), ["waiting"]);
    assert!(matches!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::TimedOut,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_after_backup_process_is_skipped_while_the_previous_one_runs() {
    let f = fixture("./wait_go.sh", "./fail.sh", 0);
    f.script(
        "wait_go.sh",
        "while [ ! -e go ]; do sleep 0.02; done; echo done",
    );
    f.script("fail.sh", "echo failure hook");
    let first = f.mgr.after_backup(true, ctx("b1")).unwrap();
    assert_eq!(first.status, HookStatus::Running);

    let second = f.mgr.after_backup(true, ctx("b2")).unwrap();
    assert_eq!(second.status, HookStatus::Skipped);
    assert_eq!(second.backup_id.as_deref(), Some("b2"));
    assert!(second.pid.is_none() && second.finished_at.is_some());
    assert!(
        second.error.as_deref().unwrap().contains(&first.id),
        "{:?}",
        second.error
    );
    let (lines, exit) = collect(&f.mgr, &second.id, 0).await;
    assert!(lines.is_empty());
    assert!(matches!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Skipped,
            ..
        }
    ));

    // the other hook is not blocked
    let other = f.mgr.after_backup(false, ctx("b3")).unwrap();
    assert_eq!(other.status, HookStatus::Running);
    assert_eq!(
        wait_final(&f.mgr, &other.id, Duration::from_secs(10))
            .await
            .exit_code,
        Some(0)
    );

    // a running test run of the hook blocks too
    std::fs::write(f.work.join("go"), "").unwrap();
    wait_final(&f.mgr, &first.id, Duration::from_secs(10)).await;
    std::fs::remove_file(f.work.join("go")).unwrap();
    let test = f.mgr.run_test(HookName::OnSuccess, None).unwrap();
    assert_eq!(
        f.mgr.after_backup(true, ctx("b4")).unwrap().status,
        HookStatus::Skipped
    );
    std::fs::write(f.work.join("go"), "").unwrap();
    wait_final(&f.mgr, &test.id, Duration::from_secs(10)).await;

    // once it ended, the next one starts
    let third = f.mgr.after_backup(true, ctx("b5")).unwrap();
    assert_eq!(third.status, HookStatus::Running);
    assert_eq!(
        wait_final(&f.mgr, &third.id, Duration::from_secs(10))
            .await
            .status,
        HookStatus::Exited
    );

    // newest first
    let ids: Vec<String> = f.mgr.list(true).into_iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids.first(), Some(&third.id));
    assert_eq!(ids.last(), Some(&first.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_to_start_are_records_with_the_os_error() {
    let f = fixture("/nonexistent/hook --all", "", 0);
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    assert_eq!(rec.status, HookStatus::FailedToStart);
    let err = rec.error.clone().unwrap();
    assert!(
        err.contains("/nonexistent/hook") && err.contains("No such file or directory"),
        "{err}"
    );
    assert!(rec.pid.is_none() && rec.finished_at.is_some());
    assert_eq!(f.mgr.get(&rec.id).unwrap(), rec);
    let (lines, exit) = collect(&f.mgr, &rec.id, 0).await;
    assert!(lines.is_empty());
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::FailedToStart,
            exit_code: None,
            signal: None
        }
    );
    // failed_to_start is a record for a test run too
    let rec = f.mgr.run_test(HookName::OnSuccess, None).unwrap();
    assert_eq!(rec.status, HookStatus::FailedToStart);

    // not executable
    std::fs::write(f.work.join("plain.txt"), "echo hi\n").unwrap();
    f.set("./plain.txt", "", 0);
    let rec = f.mgr.after_backup(true, ctx("b2")).unwrap();
    assert!(rec.error.unwrap().contains("Permission denied"));

    // bad quoting
    f.set("sh -c 'echo unterminated", "", 0);
    let rec = f.mgr.after_backup(true, ctx("b3")).unwrap();
    assert_eq!(rec.status, HookStatus::FailedToStart);
    assert!(rec.error.unwrap().contains("cannot split"));
    assert!(validate_command("sh -c 'x").is_err());
    assert!(validate_command("sh -c 'x'").is_ok() && validate_command("  ").is_ok());

    // empty command: nothing runs; a test run of it is an error
    f.set("  ", "", 0);
    assert!(f.mgr.after_backup(true, ctx("b4")).is_none());
    assert!(f.mgr.after_backup(false, ctx("b4")).is_none());
    assert!(matches!(
        f.mgr.run_test(HookName::OnFailure, None),
        Err(HookError::EmptyCommand {
            hook: HookName::OnFailure
        })
    ));

    // a missing work folder
    let missing = f.work.join("missing");
    f.mgr.update_settings(settings(&missing, "true", "true", 0));
    match f.mgr.run_test(HookName::OnSuccess, None) {
        Err(HookError::WorkFolderMissing { path }) => assert_eq!(path, missing),
        other => panic!("{other:?}"),
    }
    let rec = f.mgr.after_backup(true, ctx("b5")).unwrap();
    assert_eq!(rec.status, HookStatus::FailedToStart);
    assert!(rec.error.unwrap().contains("work folder"));
    assert_eq!(f.mgr.running_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_with_a_silent_subscriber_do_not_stall_the_child() {
    let f = fixture("./flood.sh", "", 0);
    // 104_858 lines of 100 bytes: 10 MB
    f.script(
        "flood.sh",
        "line=$(printf '%099d' 0 | tr 0 x)
yes \"$line\" | head -n 104858
echo end",
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let silent = f.mgr.output(&rec.id, 0).unwrap(); // subscribed, never read while it runs
    let done = wait_final(&f.mgr, &rec.id, Duration::from_secs(30)).await;
    assert_eq!(
        (done.status, done.exit_code, done.lines),
        (HookStatus::Exited, Some(0), 104_859)
    );
    let len = std::fs::metadata(f.mgr.log_path(&rec.id).unwrap())
        .unwrap()
        .len();
    assert_eq!(len, 104_858 * 100 + 4);
    // the silent subscriber fell far behind the channel and still gets every line once
    let (lines, exit) = drain(silent).await;
    assert_eq!(lines.len(), 104_859);
    assert_numbered(&lines, 1);
    assert!(lines[..104_858].iter().all(|(_, t)| t.len() == 99));
    assert_eq!(lines[104_858].1, "end");
    assert!(matches!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Exited,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_split_and_invalid_utf8_replaced() {
    let f = fixture("./odd.sh", "", 0);
    f.script(
        "odd.sh",
        r#"head -c 150000 /dev/zero | tr '\0' 'y'
echo
printf 'bad \377 byte\r\nprogress 1\rprogress 2\n'"#,
    );
    let rec = f.mgr.after_backup(true, ctx("b1")).unwrap();
    let (lines, _) = collect(&f.mgr, &rec.id, 0).await;
    let lens: Vec<usize> = lines.iter().map(|(_, t)| t.len()).collect();
    assert_eq!(
        lens[..3],
        [MAX_LINE_BYTES, MAX_LINE_BYTES, 150_000 - 2 * MAX_LINE_BYTES]
    );
    assert_eq!(
        texts(&lines)[3..],
        ["bad \u{fffd} byte", "progress 1", "progress 2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_marks_running_records_orphaned_and_ends_what_is_left_of_their_groups() {
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let dir = state.join("logs/hooks");
    std::fs::create_dir_all(&dir).unwrap();
    let work = tmp.path().to_path_buf();

    // A group left behind by a master that died: a script with a background child.
    let mut leftover = std::process::Command::new("sh")
        .arg("-c")
        .arg("sleep 300 & echo $! > bg.pid; sleep 300")
        .current_dir(&work)
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = leftover.id() as i32;
    let bg: i32 = wait_for_file(&work.join("bg.pid"), Duration::from_secs(10))
        .await
        .trim()
        .parse()
        .unwrap();
    // An unrelated group whose leader has another start time than recorded (pid reuse).
    let mut stranger = std::process::Command::new("sleep")
        .arg("300")
        .process_group(0)
        .spawn()
        .unwrap();
    let stranger_pid = stranger.id() as i32;

    let record = |id: &str, pid: i32, start_ticks: Option<u64>| {
        let r = StoredRecord {
            process: HookProcess {
                id: id.into(),
                kind: HookKind::AfterSuccess,
                hook: HookName::OnSuccess,
                command: "./x.sh".into(),
                backup_id: Some("b1".into()),
                started_at: chrono::Utc::now(),
                finished_at: None,
                pid: Some(pid as u32),
                status: HookStatus::Running,
                exit_code: None,
                signal: None,
                error: None,
                lines: 0,
            },
            boot_id: process::boot_id(),
            start_ticks,
        };
        save(&dir, &r).unwrap();
    };
    let ticks = |p: i32| proc_stat(p).unwrap().start_ticks;
    record("20260101T000000.000Z-aaaaaaaa", pid, Some(ticks(pid)));
    std::fs::write(
        log_path(&dir, "20260101T000000.000Z-aaaaaaaa"),
        "one\ntwo\nthree\n",
    )
    .unwrap();
    record(
        "20260101T000001.000Z-bbbbbbbb",
        stranger_pid,
        Some(ticks(stranger_pid) + 1),
    );
    record("20260101T000002.000Z-cccccccc", 999_999_999, Some(1));
    std::fs::write(dir.join("20260101T000003.000Z-dddddddd.json.tmp"), "{").unwrap();

    let t0 = Instant::now();
    let mgr = HookManager::open(state.clone(), settings(&work, "", "", 0)).unwrap();
    assert!(t0.elapsed() < Duration::from_secs(3), "SIGTERM was enough");
    assert_eq!(mgr.running_count(), 0);
    let all = mgr.list(true);
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .all(|r| r.status == HookStatus::Orphaned && r.finished_at.is_some()));

    let ours = mgr.get("20260101T000000.000Z-aaaaaaaa").unwrap();
    assert!(
        ours.error.as_deref().unwrap().contains("was ended"),
        "{:?}",
        ours.error
    );
    assert_eq!(ours.lines, 3);
    assert!(wait_pid_gone(bg, Duration::from_secs(3)).await);
    assert!(
        leftover.try_wait().unwrap().is_some(),
        "the script was ended"
    );
    let (lines, exit) = collect(&mgr, &ours.id, 1).await;
    assert_eq!(texts(&lines), ["two", "three"]);
    assert_eq!(
        exit,
        OutputEvent::Exit {
            status: HookStatus::Orphaned,
            exit_code: None,
            signal: None
        }
    );

    // the stranger was not touched
    let other = mgr.get("20260101T000001.000Z-bbbbbbbb").unwrap();
    assert!(
        other
            .error
            .as_deref()
            .unwrap()
            .contains("none of its processes"),
        "{:?}",
        other.error
    );
    assert!(!pid_gone(stranger_pid));
    stranger.kill().unwrap();
    stranger.wait().unwrap();
    assert!(!dir.join("20260101T000003.000Z-dddddddd.json.tmp").exists());

    // the records on disk are final now: a second start changes nothing
    drop(mgr);
    let again = HookManager::open(state, settings(&work, "", "", 0)).unwrap();
    assert_eq!(again.list(true), all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_newest_finished_processes_are_kept() {
    let f = fixture("true", "", 0);
    f.mgr.set_keep_finished(2);
    let mut ids = Vec::new();
    for i in 0..4 {
        let rec = f.mgr.after_backup(true, ctx(&format!("b{i}"))).unwrap();
        wait_final(&f.mgr, &rec.id, Duration::from_secs(10)).await;
        ids.push(rec.id);
    }
    let dir = f.state.join("logs/hooks");
    let end = Instant::now() + Duration::from_secs(5);
    while f.mgr.list(true).len() > 2 {
        assert!(Instant::now() < end);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept: Vec<String> = f.mgr.list(true).into_iter().map(|r| r.id).collect();
    assert_eq!(kept, [ids[3].clone(), ids[2].clone()]);
    assert!(!json_path(&dir, &ids[0]).exists() && !log_path(&dir, &ids[0]).exists());
    assert!(json_path(&dir, &ids[3]).exists() && log_path(&dir, &ids[3]).exists());
}

#[test]
fn handles_are_shareable_across_threads() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    fn send_static<T: Send + 'static>(_: &T) {}
    check::<HookManager>();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let f = fixture("true", "", 0);
    let stream = f.mgr.output("x", 0);
    send_static(&stream);
    let fut = f.mgr.terminate_async("x");
    fn send<T: Send>(_: &T) {}
    send(&fut);
}
