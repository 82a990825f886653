//! What the client prints and how: `--output table|json`, tables that fit the terminal,
//! colours only on a terminal and never with `NO_COLOR`, and the small formats (sizes, ages,
//! times) every command shares.

use std::io::IsTerminal;

use chrono::{DateTime, FixedOffset, Utc};
use clap::{Args, ValueEnum};
use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

/// `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable: tables and lines.
    #[default]
    Table,
    /// The API's JSON body, for scripts.
    Json,
}

#[derive(Args, Clone, Debug, Default)]
pub struct OutputArgs {
    /// Output format: table for people, json (the API's body) for scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

impl OutputArgs {
    pub fn json(&self) -> bool {
        self.output == Format::Json
    }
}

/// True when `NO_COLOR` is set to anything but the empty string (no-color.org).
pub fn no_color_env(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// Colours on stdout: only on a terminal, and not with `NO_COLOR`.
pub fn color_stdout() -> bool {
    std::io::stdout().is_terminal() && !no_color_env(std::env::var_os("NO_COLOR").as_deref())
}

/// Colours on stderr, same rule.
pub fn color_stderr() -> bool {
    std::io::stderr().is_terminal() && !no_color_env(std::env::var_os("NO_COLOR").as_deref())
}

/// A status word, green / red / yellow on a colour terminal, plain otherwise.
pub fn status_word(word: &str, color: bool) -> String {
    if !color {
        return word.to_string();
    }
    let style = match word {
        "succeeded" | "passed" | "exited" | "ok" | "yes" | "committed" | "restored" | "applied"
        | "planned" => console::Style::new().green(),
        "failed"
        | "interrupted"
        | "killed"
        | "timed_out"
        | "failed_to_start"
        | "orphaned"
        | "aborted"
        | "no"
        | "rolled_back"
        | "rollback_incomplete" => console::Style::new().red(),
        "running" | "preparing" | "applying" | "pending" | "cancelled" | "skipped" => {
            console::Style::new().yellow()
        }
        _ => return word.to_string(),
    };
    style.force_styling(true).apply_to(word).to_string()
}

/// `backup-master: <message>` on stderr, in red on a colour terminal.
pub fn error_line(message: &str) {
    if color_stderr() {
        let s = console::Style::new().red().force_styling(true);
        eprintln!("{} {message}", s.apply_to("backup-master:"));
    } else {
        eprintln!("backup-master: {message}");
    }
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => error_line(&format!("cannot print JSON: {e}")),
    }
}

/// A table in the house style: no borders, a header, columns padded. On a terminal it is
/// wrapped to the terminal's width; piped, it keeps its natural width (for `grep`, `awk`).
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(header.iter().map(|h| h.to_uppercase()));
    if let Some(width) = terminal_width() {
        t.set_width(width);
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

/// The width of the terminal stdout is, if it is one.
pub fn terminal_width() -> Option<u16> {
    let term = console::Term::stdout();
    if !term.is_term() {
        return None;
    }
    term.size_checked().map(|(_rows, cols)| cols)
}

/// Prints a table, each line without the padding before the first column and without
/// trailing blanks.
pub fn print_table(t: &Table) {
    for line in t.lines() {
        let line = line.strip_prefix(' ').unwrap_or(&line);
        println!("{}", line.trim_end());
    }
}

/// `1.5 MiB`-style sizes.
pub fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n.max(0) as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A duration for people: `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `2026-11-26 02:00:04 UTC`.
pub fn utc(t: &DateTime<FixedOffset>) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// How long ago `t` was, e.g. `3 h 12 min ago`.
pub fn age(t: &DateTime<FixedOffset>, now: DateTime<Utc>) -> String {
    let secs = (now - t.with_timezone(&Utc)).num_seconds();
    if secs < 0 {
        format!("in {}", duration(-secs))
    } else {
        format!("{} ago", duration(secs))
    }
}

/// Seconds from `a` to `b`.
pub fn secs_between(a: &DateTime<FixedOffset>, b: &DateTime<FixedOffset>) -> i64 {
    (*b - *a).num_seconds()
}

/// A double option (`absent` / `null` / value) as its value.
pub fn flat<T: Clone>(v: &Option<Option<T>>) -> Option<T> {
    v.clone().flatten()
}

/// The first `n` entries of `list` joined by newlines, with `… and K more` when cut.
pub fn first_lines(list: &[String], n: usize) -> String {
    let mut out: Vec<String> = list.iter().take(n).cloned().collect();
    if list.len() > n {
        out.push(format!("… and {} more", list.len() - n));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sizes_durations_and_ages_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(200), "3 min 20 s");
        assert_eq!(duration(7500), "2 h 5 min");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3 d 4 h");
        let t = DateTime::parse_from_rfc3339("2026-11-26T02:00:04Z").unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-26T05:12:04Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age(&t, now), "3 h 12 min ago");
        assert_eq!(utc(&t), "2026-11-26 02:00:04 UTC");
    }

    #[test]
    fn no_color_counts_only_when_not_empty() {
        assert!(!no_color_env(None));
        assert!(!no_color_env(Some(std::ffi::OsStr::new(""))));
        assert!(no_color_env(Some(std::ffi::OsStr::new("1"))));
    }

    #[test]
    fn status_words_are_plain_without_colour_and_styled_with_it() {
        assert_eq!(status_word("failed", false), "failed");
        let c = status_word("failed", true);
        assert!(c.contains('\u{1b}') && c.contains("failed"), "{c:?}");
        assert_eq!(status_word("whatever", true), "whatever");
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let l: Vec<String> = (1..=5).map(|i| format!("p{i}")).collect();
        assert_eq!(first_lines(&l, 3), "p1\np2\np3\n… and 2 more");
        assert_eq!(first_lines(&l[..2], 3), "p1\np2");
    }
}
