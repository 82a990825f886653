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
//! Each subscriber is a task feeding a small bounded queue; a slow or absent reader only
//! fills its own queue and lags on the channel, never the pump. It ends when the stream is
//! dropped.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use super::manager::{lock, Entry};
use super::OutputEvent;

/// Longest line, in bytes of raw output; longer lines are split.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Lines kept in the broadcast channel for subscribers that fall behind a little.
pub(crate) const CHANNEL_CAPACITY: usize = 1024;
const READ_CHUNK: usize = 64 * 1024;
const SUBSCRIBER_QUEUE: usize = 64;

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

/// A subscriber's view of a process's output; ends after the `Exit` event.
pub struct OutputStream(ReceiverStream<OutputEvent>);

impl Stream for OutputStream {
    type Item = OutputEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OutputEvent>> {
        Pin::new(&mut self.0).poll_next(cx)
    }
}

/// Starts a subscriber task for `entry` on the current runtime.
pub(crate) fn subscribe(
    runtime: &tokio::runtime::Handle,
    entry: Arc<Entry>,
    after: u64,
) -> OutputStream {
    let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
    // Step 1 happens here, before anything is read.
    let live = lock(&entry.live).as_ref().map(|s| s.subscribe());
    runtime.spawn(follow(entry, live, after, tx));
    OutputStream(ReceiverStream::new(rx))
}

/// Steps 2 to 4 of the module doc. Returns early when the stream was dropped.
async fn follow(
    entry: Arc<Entry>,
    live: Option<broadcast::Receiver<Line>>,
    after: u64,
    tx: mpsc::Sender<OutputEvent>,
) {
    let mut file = LogReader::new(entry.log_path.clone());
    let mut next = after.saturating_add(1);
    if !file.send_from(&mut next, &tx).await {
        return;
    }
    if let Some(mut live) = live {
        loop {
            let got = tokio::select! {
                _ = tx.closed() => return,
                r = live.recv() => r,
            };
            match got {
                Ok(line) => {
                    if line.n > next && !file.send_from(&mut next, &tx).await {
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
                    if tx.send(ev).await.is_err() {
                        return;
                    }
                    next = line.n + 1;
                }
                Err(RecvError::Lagged(_)) => {
                    if !file.send_from(&mut next, &tx).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
    let mut done = entry.done.subscribe();
    tokio::select! {
        _ = tx.closed() => return,
        _ = done.wait_for(|d| *d) => {}
    }
    if !file.send_from(&mut next, &tx).await {
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
    let _ = tx.send(exit).await;
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
    /// `*next` past them. False when the receiver is gone.
    async fn send_from(&mut self, next: &mut u64, tx: &mpsc::Sender<OutputEvent>) -> bool {
        if self.file.is_none() {
            match tokio::fs::File::open(&self.path).await {
                Ok(f) => self.file = Some(BufReader::with_capacity(READ_CHUNK, f)),
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
                        if tx.send(ev).await.is_err() {
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
