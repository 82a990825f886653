//! Server-sent events read from a reqwest byte stream: the generated client returns a body,
//! not a stream, so the event streams (`/backups/{id}/events`, `/hook-processes/{id}/output`)
//! are read here, event by event, as they arrive.

use futures_util::StreamExt as _;

use super::conn::{describe_reqwest, CliError};

/// One event: its `event:` name, `id:` and `data:` (lines joined by `\n`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Splits bytes into events as they come (any chunking, `\n` or `\r\n` line ends).
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    current: Event,
    has_field: bool,
}

impl Parser {
    /// Feeds bytes; returns the events they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.is_empty() {
                if self.has_field {
                    out.push(std::mem::take(&mut self.current));
                    self.has_field = false;
                }
                continue;
            }
            if line.starts_with(':') {
                continue; // comment (keep-alive)
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()),
                None => (line.clone(), String::new()),
            };
            match field.as_str() {
                "event" => self.current.event = value,
                "id" => self.current.id = Some(value),
                "data" => {
                    if !self.current.data.is_empty() {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(&value);
                }
                _ => continue,
            }
            self.has_field = true;
        }
        out
    }
}

/// An open event stream.
pub struct Stream {
    inner: futures_util::stream::BoxStream<'static, Result<Vec<u8>, http_client::Error>>,
    parser: Parser,
    ready: std::collections::VecDeque<Event>,
}

impl Stream {
    pub fn new(resp: http_client::Response) -> Stream {
        Stream {
            inner: resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            parser: Parser::default(),
            ready: Default::default(),
        }
    }

    /// The next event; `None` when the server closed the stream.
    pub async fn next(&mut self) -> Result<Option<Event>, CliError> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(Some(e));
            }
            match self.inner.next().await {
                None => return Ok(None),
                Some(Ok(chunk)) => self.ready.extend(self.parser.feed(&chunk)),
                Some(Err(e)) => return Err(CliError::Unreachable(describe_reqwest(&e))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn events_split_across_any_chunks_come_out_whole_and_in_order() {
        let text = ": keep-alive\n\nevent: line\nid: 1\ndata: {\"n\":1}\n\r\nevent: exit\r\ndata: a\ndata: b\n\n";
        let expected = vec![
            Event {
                event: "line".into(),
                id: Some("1".into()),
                data: "{\"n\":1}".into(),
            },
            Event {
                event: "exit".into(),
                id: None,
                data: "a\nb".into(),
            },
        ];
        for size in 1..text.len() {
            let mut p = Parser::default();
            let mut got = Vec::new();
            for chunk in text.as_bytes().chunks(size) {
                got.extend(p.feed(chunk));
            }
            assert_eq!(got, expected, "chunk size {size}");
        }
    }

    #[test]
    fn an_unfinished_event_is_not_emitted() {
        let mut p = Parser::default();
        assert!(p.feed(b"event: end\ndata: {}\n").is_empty());
        assert_eq!(p.feed(b"\n").len(), 1);
    }
}
