//! Following jobs live: a backup's `/events` stream as one progress bar per component (plain
//! lines when stderr is not a terminal), Ctrl-C with its question (cancel the job, or only stop
//! watching), a hook process's output resumed with `Last-Event-ID`, and a spinner for jobs
//! that are polled (restores, verifications).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use backup_master_client::apis::backups_api;
use backup_master_client::models::{
    BackupEvent, BackupEventOneOf, BackupRecord, BackupStatus, OutputExit, OutputLine,
};
use http_client::Method;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::signal::unix::{signal, Signal, SignalKind};

use super::conn::{CliError, Client};
use super::output::bytes;
use super::sse;
use super::Exit;

/// What the operator wants after pressing Ctrl-C while a job is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupt {
    /// Cancel the job on the server, then follow it to its end.
    CancelJob,
    /// Leave the job running and exit.
    StopWatching,
    /// Go on following.
    KeepWatching,
}

/// What Ctrl-C does before any question: without a terminal on stdin nobody can answer, so
/// the client only stops watching (the job goes on); on a terminal it asks (`None`).
pub fn interrupt_without_question(stdin_is_terminal: bool) -> Option<Interrupt> {
    if stdin_is_terminal {
        None
    } else {
        Some(Interrupt::StopWatching)
    }
}

/// The operator's answer to the Ctrl-C question; `None` for an answer it does not know (it is
/// asked again). An empty line keeps watching: a stray Ctrl-C must not cancel a backup.
pub fn parse_answer(line: &str) -> Option<Interrupt> {
    match line.trim().to_ascii_lowercase().as_str() {
        "c" | "cancel" => Some(Interrupt::CancelJob),
        "s" | "stop" | "q" | "quit" => Some(Interrupt::StopWatching),
        "" | "k" | "keep" | "w" | "watch" => Some(Interrupt::KeepWatching),
        _ => None,
    }
}

/// Asks the Ctrl-C question on stderr until it gets an answer. End of input, or a second
/// Ctrl-C, stops watching.
async fn ask(job: &str, sigint: &mut Signal) -> Interrupt {
    loop {
        eprint!(
            "\nCtrl-C: [c]ancel the {job}, [s]top watching (it goes on), or [k]eep watching? [k] "
        );
        let read = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            std::io::stdin().read_line(&mut s).map(|n| (n, s))
        });
        tokio::select! {
            r = read => match r {
                Ok(Ok((n, line))) if n > 0 => {
                    if let Some(a) = parse_answer(&line) {
                        return a;
                    }
                    eprintln!("please answer c, s or k");
                }
                _ => return Interrupt::StopWatching,
            },
            _ = sigint.recv() => {
                eprintln!();
                return Interrupt::StopWatching;
            }
        }
    }
}

/// Progress of a backup's components: bars on a terminal, plain lines otherwise.
enum Display {
    Bars {
        multi: MultiProgress,
        bars: HashMap<String, Bar>,
    },
    Lines {
        last: HashMap<String, String>,
    },
}

struct Bar {
    bar: ProgressBar,
    first: Option<(Instant, i64)>,
}

impl Display {
    fn new(bars: bool) -> Display {
        if bars {
            Display::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: HashMap::new(),
            }
        } else {
            Display::Lines {
                last: HashMap::new(),
            }
        }
    }

    fn progress(&mut self, p: &BackupEventOneOf) {
        let status = p.status.to_string();
        match self {
            Display::Bars { multi, bars } => {
                let b = bars.entry(p.name.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(0));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>10} [{bar:25}] {pos}/{len} files  {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(p.name.clone());
                    Bar { bar, first: None }
                });
                let done = p.files_copied + p.files_linked;
                let total = p.files.max(done);
                b.bar.set_length(u64::try_from(total).unwrap_or(0));
                b.bar.set_position(u64::try_from(done).unwrap_or(0));
                let moved = p.bytes_copied + p.bytes_linked;
                let now = Instant::now();
                let first = *b.first.get_or_insert((now, moved));
                let secs = now.duration_since(first.0).as_secs_f64();
                let rate = if secs > 0.5 {
                    format!("  {}/s", bytes(((moved - first.1) as f64 / secs) as i64))
                } else {
                    String::new()
                };
                let eta = if secs > 0.5 && done > 0 && total > done {
                    let per_file = secs / (done as f64);
                    format!(
                        "  ETA {}",
                        super::output::duration((per_file * (total - done) as f64) as i64)
                    )
                } else {
                    String::new()
                };
                b.bar.set_message(format!(
                    "{status}  copied {} ({})  linked {} ({}){rate}{eta}",
                    p.files_copied,
                    bytes(p.bytes_copied),
                    p.files_linked,
                    bytes(p.bytes_linked)
                ));
                if matches!(
                    status.as_str(),
                    "prepared" | "committed" | "failed" | "aborted"
                ) {
                    b.bar.tick();
                }
            }
            Display::Lines { last } => {
                if last.get(&p.name) != Some(&status) {
                    last.insert(p.name.clone(), status.clone());
                    eprintln!(
                        "{}: {status}, {} of {} files ({} copied, {} linked), {} copied, {} linked",
                        p.name,
                        p.files_copied + p.files_linked,
                        p.files,
                        p.files_copied,
                        p.files_linked,
                        bytes(p.bytes_copied),
                        bytes(p.bytes_linked)
                    );
                }
            }
        }
    }

    /// Takes the bars off the terminal: the outcome printed next says how each ended.
    fn finish(&mut self) {
        if let Display::Bars { multi, bars } = self {
            for b in bars.values() {
                b.bar.finish_and_clear();
            }
            let _ = multi.clear();
        }
    }

    /// Clears the bars off the terminal while a question is asked.
    fn pause(&self) {
        if let Display::Bars { multi, .. } = self {
            let _ = multi.clear();
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    fn resume(&self) {
        if let Display::Bars { multi, .. } = self {
            multi.set_draw_target(ProgressDrawTarget::stderr());
        }
    }
}

/// How many times in a row a stream that ends early is opened again.
const RECONNECTS: u32 = 10;

/// Follows backup `id` until it ends; returns its final record, or `None` when the operator
/// stopped watching.
pub async fn follow_backup(
    client: &Client,
    id: &str,
    show_progress: bool,
) -> Result<Option<BackupRecord>, CliError> {
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| CliError::Usage(format!("cannot handle Ctrl-C: {e}")))?;
    let mut display = Display::new(show_progress && std::io::stderr().is_terminal());
    let mut quiet = !show_progress;
    let mut failures = 0;
    'connect: loop {
        let resp = client
            .send(client.request(Method::GET, &format!("/api/v1/backups/{id}/events")))
            .await?;
        let mut stream = sse::Stream::new(resp);
        loop {
            let ev = tokio::select! {
                ev = stream.next() => ev,
                _ = sigint.recv() => {
                    let choice = match interrupt_without_question(std::io::stdin().is_terminal()) {
                        Some(c) => c,
                        None => {
                            display.pause();
                            let answer = ask("backup", &mut sigint).await;
                            display.resume();
                            answer
                        }
                    };
                    match choice {
                        Interrupt::KeepWatching => continue,
                        Interrupt::StopWatching => {
                            display.finish();
                            return Ok(None);
                        }
                        Interrupt::CancelJob => {
                            backups_api::cancel_backup(&client.config, id).await?;
                            eprintln!("cancel requested: backup {id} stops between files");
                            continue;
                        }
                    }
                }
            };
            match ev {
                Ok(Some(e)) => {
                    failures = 0;
                    let Ok(event) = serde_json::from_str::<BackupEvent>(&e.data) else {
                        continue;
                    };
                    match event {
                        BackupEvent::BackupEventOneOf(p) => {
                            if !quiet {
                                display.progress(&p);
                            }
                        }
                        BackupEvent::BackupEventOneOf1(_) => break 'connect,
                    }
                }
                Ok(None) | Err(_) if failures < RECONNECTS => {
                    // the server dropped the stream (e.g. this client was too slow): open it
                    // again; it starts with the current state
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
                    quiet = quiet || failures > 3;
                    continue 'connect;
                }
                Ok(None) => {
                    return Err(CliError::Unreachable(format!(
                        "the event stream of backup {id} keeps closing"
                    )))
                }
                Err(e) => return Err(e),
            }
        }
    }
    display.finish();
    let record = backups_api::get_backup(&client.config, id).await?;
    Ok(Some(record))
}

/// Prints a hook process's output from after line `after` to its end, resuming with
/// `Last-Event-ID` when the stream breaks; every line once. Returns how it ended.
pub async fn tail_hook(client: &Client, id: &str) -> Result<OutputExit, CliError> {
    let mut last: Option<i64> = None;
    let mut failures = 0;
    loop {
        let mut rb = client.request(Method::GET, &format!("/api/v1/hook-processes/{id}/output"));
        if let Some(n) = last {
            rb = rb.header("Last-Event-ID", n.to_string());
        }
        let result = match client.send(rb).await {
            Ok(resp) => follow_output(sse::Stream::new(resp), &mut last).await,
            // an answer (4xx/5xx) is final; only a broken connection is retried
            Err(e @ CliError::Unreachable(_)) => Err(e),
            Err(e) => return Err(e),
        };
        match result {
            Ok(Some(exit)) => return Ok(exit),
            Ok(None) | Err(_) if failures < RECONNECTS => {
                failures += 1;
                tokio::time::sleep(Duration::from_millis(200 * u64::from(failures))).await;
            }
            Ok(None) => {
                return Err(CliError::Unreachable(format!(
                    "the output stream of hook process {id} keeps closing"
                )))
            }
            Err(e) => return Err(e),
        }
    }
}

async fn follow_output(
    mut stream: sse::Stream,
    last: &mut Option<i64>,
) -> Result<Option<OutputExit>, CliError> {
    while let Some(e) = stream.next().await? {
        match e.event.as_str() {
            "line" => {
                let Ok(line) = serde_json::from_str::<OutputLine>(&e.data) else {
                    continue;
                };
                if last.is_some_and(|n| line.n <= n) {
                    continue;
                }
                println!("{}", line.text);
                *last = Some(line.n);
            }
            "exit" => {
                if let Ok(exit) = serde_json::from_str::<OutputExit>(&e.data) {
                    return Ok(Some(exit));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// A spinner on stderr for polled jobs (hidden when stderr is not a terminal).
pub fn spinner(show: bool) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The pause between two polls of a job.
pub const POLL: Duration = Duration::from_millis(300);

/// Exit code for a finished backup.
pub fn backup_exit(status: BackupStatus) -> Exit {
    if status == BackupStatus::Succeeded {
        Exit::Ok
    } else {
        Exit::JobFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_without_a_terminal_only_stops_watching() {
        assert_eq!(
            interrupt_without_question(false),
            Some(Interrupt::StopWatching)
        );
        assert_eq!(interrupt_without_question(true), None);
    }

    #[test]
    fn answers_to_the_ctrl_c_question() {
        assert_eq!(parse_answer("c\n"), Some(Interrupt::CancelJob));
        assert_eq!(parse_answer(" Cancel "), Some(Interrupt::CancelJob));
        assert_eq!(parse_answer("s"), Some(Interrupt::StopWatching));
        assert_eq!(parse_answer("q"), Some(Interrupt::StopWatching));
        // a stray Enter (or a second look) never cancels
        assert_eq!(parse_answer("\n"), Some(Interrupt::KeepWatching));
        assert_eq!(parse_answer("k"), Some(Interrupt::KeepWatching));
        assert_eq!(parse_answer("yes"), None);
    }

    #[test]
    fn only_success_exits_zero() {
        assert_eq!(backup_exit(BackupStatus::Succeeded), Exit::Ok);
        for s in [
            BackupStatus::Failed,
            BackupStatus::Cancelled,
            BackupStatus::Interrupted,
        ] {
            assert_eq!(backup_exit(s), Exit::JobFailed);
        }
    }
}
