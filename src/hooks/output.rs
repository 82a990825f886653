//! Output of a hook process: splitting it into numbered lines, the log file, the live
//! broadcast, and a subscriber's stream (file replay, then live) that never loses or repeats
//! a line.
//!
//! # Lines
//! * `\n`, `\r\n` and a lone `\r` each end a line (so a progress bar drawn with `\r` gives one
//!   line per redraw), and a line never contains `\n` or `\r`: it fits one SSE `data:` field.
//! * Invalid UTF-8 is replaced by U+FFFD, line by line.
//! * A line longer than [`MAX_LINE_BYTES`] bytes of raw output is **split** (nothing is cut
//!   away): the first 64 KiB become one line, the rest continues on the next line(s); a split
//!   never falls inside a UTF-8 sequence. Trailing output without a final newline is a line.
//!
//! # Writer
//! One pump task per process reads the pipe (stdout and stderr share it) whether or not
//! anyone listens, numbers the lines from 1, appends a batch to `<id>.log` (`text\n` per
//! line, so line *n* of the file is output line *n*), waits for the write, and only then
//! publishes the batch on a `broadcast` channel. When the pipe closes it drops the channel.
//!
//! # Subscriber
//! 1. subscribe to the channel (if the pump still runs), *then*
//! 2. read the file from line `after + 1` to its last complete line: every line published
//!    before step 1 is in the file, since it was written before it was published;
//! 3. follow the channel, dropping lines already sent (numbers below the next expected one);
//!    when the channel reports a lag, or a number jumps ahead, read the missed lines from the
//!    file (where they are, for the same reason), then go on;
//! 4. when the channel closes, read what is left in the file, wait for the final record, and
//!    send one `Exit`.
//!
//! # Memory: bounded in bytes
//! Each subscriber is a task feeding a queue bounded in **bytes**
//! ([`SUBSCRIBER_BUFFER_BYTES`], counted over the lines' text), not lines: a reader slower than
//! the output only fills its own queue and lags on the channel, never the pump, and catches up
//! from the file at its own pace, so it costs the same few hundred KiB whatever the output's
//! size. The channel itself holds at most [`CHANNEL_CAPACITY`] lines (4 MiB of the longest
//! lines), shared by all subscribers.
//!
//! A subscriber **too slow for the bound** — its queue stays full, nothing taken from it, for
//! the stall timeout ([`DEFAULT_STALL`]) — is dropped: its stream ends after the lines already
//! queued, without an `Exit` event, which frees its place among the stream's subscribers. It
//! can resume with `Last-Event-ID` (the number of the last line it got) and gets every line
//! once. A stream also ends when it is dropped.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::manager::{lock, Entry};
use super::OutputEvent;

/// Longest line, in bytes of raw output; longer lines are split.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Lines kept in the broadcast channel for subscribers that fall behind a little (they read
/// the rest from the file). Small: a lagging subscriber keeps up to this many lines alive.
pub(crate) const CHANNEL_CAPACITY: usize = 64;
const READ_CHUNK: usize = 64 * 1024;
/// Buffer of a subscriber's file reader.
const LOG_READ_BUF: usize = 16 * 1024;
/// Bytes of output queued for one subscriber, at most (one longer line is let through alone).
pub const SUBSCRIBER_BUFFER_BYTES: usize = 128 * 1024;
/// What an event costs in the queue besides its text.
const EVENT_OVERHEAD: usize = 64;
/// How long a subscriber's full queue may stay untouched before it is dropped.
pub const DEFAULT_STALL: Duration = Duration::from_secs(10);

/// One published output line.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub n: u64,
    pub text: Arc<str>,
}

/// Splits a byte stream into lines (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    after_cr: bool,
}

impl LineSplitter {
    /// Feeds a chunk; returns the lines it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some((&first, tail)) = rest.split_first() {
            if self.after_cr {
                self.after_cr = false;
                if first == b'\n' {
                    rest = tail;
                    continue;
                }
            }
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    self.buf.extend_from_slice(&rest[..i]);
                    self.split_long(&mut out);
                    out.push(to_text(&self.buf));
                    self.buf.clear();
                    self.after_cr = rest[i] == b'\r';
                    rest = &rest[i + 1..];
                }
                None => {
                    self.buf.extend_from_slice(rest);
                    self.split_long(&mut out);
                    rest = &[];
                }
            }
        }
        out
    }

    /// The output ended: what is left is a last line.
    pub fn finish(&mut self) -> Option<String> {
        if self.buf.is_empty() {
            return None;
        }
        let line = to_text(&self.buf);
        self.buf.clear();
        Some(line)
    }

    fn split_long(&mut self, out: &mut Vec<String>) {
        while self.buf.len() > MAX_LINE_BYTES {
            let cut = utf8_cut(&self.buf, MAX_LINE_BYTES);
            out.push(to_text(&self.buf[..cut]));
            self.buf.drain(..cut);
        }
    }
}

fn to_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Where to cut `buf` (longer than `max`) so that no UTF-8 sequence is torn: `max`, or the
/// start of a sequence that begins before `max` and would end after it.
fn utf8_cut(buf: &[u8], max: usize) -> usize {
    for back in 1..=3usize.min(max) {
        let b = buf[max - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for its lead byte
        }
        let len = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if len > back && back < max {
            max - back
        } else {
            max
        };
    }
    max
}

/// The pump: pipe → lines → log file → broadcast. Stops at EOF, on a read error, or when
/// `stop` fires (then the partial last line is kept too).
pub(crate) async fn pump(
    mut pipe: pipe::Receiver,
    mut log: tokio::fs::File,
    entry: Arc<Entry>,
    tx: broadcast::Sender<Line>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut sink = Sink {
        log: &mut log,
        entry: &entry,
        tx: &tx,
        n: 0,
        write_failed: false,
    };
    loop {
        let read = tokio::select! {
            r = pipe.read(&mut buf) => r,
            _ = &mut stop => break,
        };
        match read {
            Ok(0) => break,
            Ok(k) => {
                let lines = splitter.push(&buf[..k]);
                sink.emit(lines).await;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(id = %entry.id, error = %e, "cannot read hook output");
                break;
            }
        }
    }
    drop(pipe);
    if let Some(last) = splitter.finish() {
        sink.emit(vec![last]).await;
    }
    if let Err(e) = log.sync_all().await {
        tracing::warn!(id = %entry.id, error = %e, "cannot sync hook log");
    }
    // No more lines: subscribers see the channel close once they have drained it.
    *lock(&entry.live) = None;
    drop(tx);
}

struct Sink<'a> {
    log: &'a mut tokio::fs::File,
    entry: &'a Entry,
    tx: &'a broadcast::Sender<Line>,
    n: u64,
    write_failed: bool,
}

impl Sink<'_> {
    async fn emit(&mut self, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        let mut events = Vec::with_capacity(lines.len());
        for text in lines {
            self.n += 1;
            bytes.extend_from_slice(text.as_bytes());
            bytes.push(b'\n');
            events.push(Line {
                n: self.n,
                text: Arc::from(text),
            });
        }
        // The file first: a subscriber that misses a published line finds it there.
        let written = match self.log.write_all(&bytes).await {
            Ok(()) => self.log.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            if !self.write_failed {
                self.write_failed = true;
                tracing::error!(id = %self.entry.id, error = %e, "cannot append to hook log; output is still read and published live");
                lock(&self.entry.record).error = Some(format!("cannot write the log file: {e}"));
            }
        }
        lock(&self.entry.record).lines = self.n;
        for ev in events {
            // An error only means nobody listens right now.
            let _ = self.tx.send(ev);
        }
    }
}

/// A subscriber's view of a process's output; ends after the `Exit` event, or earlier when
/// the subscriber was dropped as too slow (see the module doc).
pub struct OutputStream(mpsc::UnboundedReceiver<(OutputEvent, OwnedSemaphorePermit)>);

impl Stream for OutputStream {
    type Item = OutputEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OutputEvent>> {
        // The event leaves the queue here: its permit is dropped, making room for the next.
        self.0.poll_recv(cx).map(|o| o.map(|(ev, _room)| ev))
    }
}

impl OutputStream {
    /// True once nothing more will be queued: the process's output is complete or the
    /// subscriber was dropped as too slow (the lines already queued can still be taken).
    #[cfg(test)]
    pub(crate) fn is_finished(&self) -> bool {
        self.0.is_closed()
    }
}

/// The sending side of one subscriber's queue, bounded in bytes.
struct Outbox {
    tx: mpsc::UnboundedSender<(OutputEvent, OwnedSemaphorePermit)>,
    room: Arc<Semaphore>,
    stall: Duration,
    id: String,
}

impl Outbox {
    /// Queues `ev` once there is room for it. False when the stream was dropped, or when no
    /// room came within the stall timeout: the subscriber is too slow and is dropped.
    async fn send(&self, ev: OutputEvent) -> bool {
        let cost = match &ev {
            OutputEvent::Line { text, .. } => text.len(),
            OutputEvent::Exit { .. } => 0,
        }
        .saturating_add(EVENT_OVERHEAD)
        .min(SUBSCRIBER_BUFFER_BYTES);
        let cost = u32::try_from(cost).unwrap_or(u32::MAX);
        let acquire = self.room.clone().acquire_many_owned(cost);
        let permit = tokio::select! {
            _ = self.tx.closed() => return false,
            r = tokio::time::timeout(self.stall, acquire) => match r {
                Ok(Ok(p)) => p,
                Ok(Err(_)) => return false,
                Err(_) => {
                    let next = match &ev {
                        OutputEvent::Line { n, .. } => *n,
                        OutputEvent::Exit { .. } => 0,
                    };
                    tracing::info!(id = %self.id, next_line = next, stall = ?self.stall,
                        "output subscriber too slow: dropped (it can resume with Last-Event-ID)");
                    return false;
                }
            }
        };
        self.tx.send((ev, permit)).is_ok()
    }

    async fn closed(&self) {
        self.tx.closed().await
    }
}

/// Something the caller wants kept for as long as a subscriber's task runs (the HTTP layer's
/// place among the stream's subscribers): dropped when the task ends, whether the output is
/// complete, the subscriber was dropped as too slow, or the stream was dropped.
pub type Hold = Box<dyn Send>;

/// Starts a subscriber task for `entry` on the current runtime; a subscriber that leaves its
/// full queue untouched for `stall` is dropped.
pub(crate) fn subscribe(
    runtime: &tokio::runtime::Handle,
    entry: Arc<Entry>,
    after: u64,
    stall: Duration,
    hold: Hold,
) -> OutputStream {
    let (tx, rx) = mpsc::unbounded_channel();
    let out = Outbox {
        tx,
        room: Arc::new(Semaphore::new(SUBSCRIBER_BUFFER_BYTES)),
        stall,
        id: entry.id.clone(),
    };
    // Step 1 happens here, before anything is read.
    let live = lock(&entry.live).as_ref().map(|s| s.subscribe());
    runtime.spawn(async move {
        follow(entry, live, after, out).await;
        drop(hold);
    });
    OutputStream(rx)
}

/// Steps 2 to 4 of the module doc. Returns early when the stream was dropped.
async fn follow(
    entry: Arc<Entry>,
    live: Option<broadcast::Receiver<Line>>,
    after: u64,
    out: Outbox,
) {
    let mut file = LogReader::new(entry.log_path.clone());
    let mut next = after.saturating_add(1);
    if !file.send_from(&mut next, &out).await {
        return;
    }
    if let Some(mut live) = live {
        loop {
            let got = tokio::select! {
                _ = out.closed() => return,
                r = live.recv() => r,
            };
            match got {
                Ok(line) => {
                    if line.n > next && !file.send_from(&mut next, &out).await {
                        return;
                    }
                    if line.n < next {
                        continue;
                    }
                    // line.n == next, or the file lacks lines (a failed write): send it anyway.
                    let ev = OutputEvent::Line {
                        n: line.n,
                        text: line.text.to_string(),
                    };
                    if !out.send(ev).await {
                        return;
                    }
                    next = line.n + 1;
                }
                Err(RecvError::Lagged(_)) => {
                    if !file.send_from(&mut next, &out).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
    let mut done = entry.done.subscribe();
    tokio::select! {
        _ = out.closed() => return,
        _ = done.wait_for(|d| *d) => {}
    }
    if !file.send_from(&mut next, &out).await {
        return;
    }
    let exit = {
        let rec = lock(&entry.record);
        OutputEvent::Exit {
            status: rec.status,
            exit_code: rec.exit_code,
            signal: rec.signal,
        }
    };
    let _ = out.send(exit).await;
}

/// Reads a growing log file line by line, keeping its place between calls.
struct LogReader {
    path: PathBuf,
    file: Option<BufReader<tokio::fs::File>>,
    /// Complete lines read so far: the next complete line is number `lines + 1`.
    lines: u64,
    /// A last line still being written (no `\n` yet).
    partial: Vec<u8>,
}

impl LogReader {
    fn new(path: PathBuf) -> Self {
        LogReader {
            path,
            file: None,
            lines: 0,
            partial: Vec::new(),
        }
    }

    /// Sends every complete line numbered `>= *next` up to the end of the file and moves
    /// `*next` past them. False when the subscriber is gone or dropped.
    async fn send_from(&mut self, next: &mut u64, out: &Outbox) -> bool {
        if self.file.is_none() {
            match tokio::fs::File::open(&self.path).await {
                Ok(f) => self.file = Some(BufReader::with_capacity(LOG_READ_BUF, f)),
                Err(e) => {
                    if e.kind() != ErrorKind::NotFound {
                        tracing::warn!(path = %self.path.display(), error = %e, "cannot read hook log");
                    }
                    return true;
                }
            }
        }
        let Some(file) = self.file.as_mut() else {
            return true;
        };
        loop {
            match file.read_until(b'\n', &mut self.partial).await {
                Ok(0) => return true,
                Ok(_) => {
                    if self.partial.last() != Some(&b'\n') {
                        return true; // the rest of this line is not written yet
                    }
                    self.lines += 1;
                    if self.lines >= *next {
                        let text = String::from_utf8_lossy(&self.partial[..self.partial.len() - 1]);
                        let ev = OutputEvent::Line {
                            n: self.lines,
                            text: text.into_owned(),
                        };
                        if !out.send(ev).await {
                            return false;
                        }
                        *next = self.lines + 1;
                    }
                    self.partial.clear();
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot read hook log");
                    return true;
                }
            }
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(s.push(c));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_on_lf_crlf_and_cr_across_chunks() {
        assert_eq!(
            all(&[b"a\nb\r", b"\nc\rd", b"\n\ne"]),
            ["a", "b", "c", "d", "", "e"]
        );
        assert_eq!(all(&[b"x\r\r\n"]), ["x", ""]);
        assert_eq!(all(&[b""]), Vec::<String>::new());
        assert_eq!(all(&[b"end\n"]), ["end"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(all(&[b"ok \xff\xfe done\n"]), ["ok \u{fffd}\u{fffd} done"]);
        // a multi-byte character torn across reads is joined again
        assert_eq!(
            all(&["é".as_bytes()[..1].as_ref(), &"é\n".as_bytes()[1..]]),
            ["é"]
        );
    }

    #[test]
    fn long_lines_are_split_not_cut() {
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 10];
        let mut input = long.clone();
        input.push(b'\n');
        let out = all(&[&input[..1000], &input[1000..]]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].len(), MAX_LINE_BYTES);
        assert_eq!(out[1].len(), MAX_LINE_BYTES);
        assert_eq!(out[2].len(), 10);
        // exactly MAX bytes stays one line, with no empty line after it
        let mut exact = vec![b'y'; MAX_LINE_BYTES];
        exact.push(b'\n');
        assert_eq!(all(&[&exact]).len(), 1);
    }

    #[test]
    fn split_never_tears_a_character() {
        let mut input = vec![b'a'; MAX_LINE_BYTES - 1];
        input.extend_from_slice("€€".as_bytes()); // 3-byte character straddles the limit
        input.push(b'\n');
        let out = all(&[&input]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), MAX_LINE_BYTES - 1);
        assert_eq!(out[1], "€€");
        assert!(out.iter().all(|l| !l.contains('\u{fffd}')));
    }
}
