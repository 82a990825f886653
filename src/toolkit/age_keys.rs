//! Parsing `age` key files (X25519 recipients and identities), for the replication targets'
//! encryption settings: the config checks the files with it, `crate::replicate::seal` reads
//! the keys with it. Errors name lines, never what a line holds.

use std::path::Path;
use std::str::FromStr;

use age::x25519;

/// Lines of a key file that hold keys: trimmed, no blank lines, no `#` comments.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Parses age X25519 recipients (`age1...`), one per line. The error gives the line number,
/// never the line.
pub fn parse_recipients(text: &str) -> Result<Vec<x25519::Recipient>, String> {
    let mut out = Vec::new();
    for (n, line) in key_lines(text) {
        let r = x25519::Recipient::from_str(line).map_err(|_| {
            format!(
                "line {n} is not an age X25519 recipient (age1...; other kinds are not supported)"
            )
        })?;
        out.push(r);
    }
    if out.is_empty() {
        return Err("holds no age recipient (age1...)".into());
    }
    Ok(out)
}

/// Parses age X25519 identities (`AGE-SECRET-KEY-1...`), one per line, as `age-keygen`
/// writes them. The error gives the line number, never the line.
pub fn parse_identities(text: &str) -> Result<Vec<x25519::Identity>, String> {
    let mut out = Vec::new();
    for (n, line) in key_lines(text) {
        let i = x25519::Identity::from_str(line)
            .map_err(|_| format!("line {n} is not an age X25519 identity (AGE-SECRET-KEY-1...)"))?;
        out.push(i);
    }
    if out.is_empty() {
        return Err("holds no age identity (AGE-SECRET-KEY-1...)".into());
    }
    Ok(out)
}

pub fn read_key_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Checks a recipients file: readable and holding only X25519 recipients. The error names the
/// file, never its content.
pub fn check_recipients_file(path: &Path) -> Result<(), String> {
    parse_recipients(&read_key_file(path)?)
        .map(|_| ())
        .map_err(|e| format!("{} {e}", path.display()))
}

/// Checks an identity file like [`check_recipients_file`].
pub fn check_identity_file(path: &Path) -> Result<(), String> {
    parse_identities(&read_key_file(path)?)
        .map(|_| ())
        .map_err(|e| format!("{} {e}", path.display()))
}
