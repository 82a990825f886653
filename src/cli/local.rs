//! The commands that need no server: `token new|hash`, `config check`, `completions`, `man`.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

use super::output::error_line;
use super::Exit;
use crate::config::{self, Config, ConfigError};

#[derive(Clone, Copy, ValueEnum)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

#[derive(Subcommand)]
pub enum TokenAction {
    /// Make a fresh random token: prints it once, and the `[[tokens]]` block for the config
    /// (which holds only its SHA-256).
    New {
        /// What the token may do: viewer (read), operator (also start and cancel backups,
        /// verify), admin (everything).
        #[arg(long, value_enum)]
        role: Role,
        /// The token's name (e.g. who uses it): the block's `name`, which the audit log
        /// records instead of the token. 1 to 64 of A-Z a-z 0-9 . _ -, unique in the config.
        #[arg(long)]
        name: Option<String>,
        /// Write the token to this new file (mode 0600) instead of printing it; the block
        /// then names the file (`token_file`).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
    },
    /// Read a token on stdin and print its SHA-256 (the config's `sha256`).
    Hash,
}

#[derive(Subcommand)]
pub enum ConfigAction {
    /// Load a config exactly as `serve` would and print every error (key and line), or `ok`;
    /// starts nothing, writes nothing. Exit 0 when valid, 2 otherwise.
    Check {
        /// The config file [default: as `serve`: ./backup-master.toml, else the embedded
        /// default's ./backup-master-data/backup-master.toml].
        file: Option<PathBuf>,
    },
}

/// A token name is the block's `name`: what the config accepts.
fn check_name(name: &str) -> Result<(), String> {
    if config::valid_token_name(name) {
        Ok(())
    } else {
        Err(format!(
            "--name {name:?}: 1 to {} of A-Z a-z 0-9 . _ -",
            config::MAX_TOKEN_NAME
        ))
    }
}

/// The `[[tokens]]` block for the config.
pub fn tokens_block(name: Option<&str>, role: &str, secret: TokenSecret<'_>) -> String {
    let mut s = String::from("[[tokens]]\n");
    if let Some(n) = name {
        // check_name allows no character a TOML string would need escaped
        s.push_str(&format!("name = \"{n}\"\n"));
    }
    s.push_str(&format!("role = \"{role}\"\n"));
    match secret {
        TokenSecret::Sha256(hex) => s.push_str(&format!("sha256 = \"{hex}\"\n")),
        TokenSecret::File(path) => {
            // a TOML basic string: escape what needs it
            let p = path.to_string_lossy();
            let escaped = p.replace('\\', "\\\\").replace('"', "\\\"");
            s.push_str(&format!("token_file = \"{escaped}\"\n"));
        }
    }
    s
}

/// How the block names the token.
pub enum TokenSecret<'a> {
    Sha256(&'a str),
    File(&'a Path),
}

pub fn token(action: TokenAction) -> Exit {
    match action {
        TokenAction::New {
            role,
            name,
            token_file,
        } => {
            if let Some(n) = &name {
                if let Err(e) = check_name(n) {
                    error_line(&e);
                    return Exit::BadInput;
                }
            }
            match token_file {
                None => {
                    let token = crate::demo::new_token();
                    let hex = hex::encode(config::sha256_of(token.as_bytes()));
                    eprintln!("New {} token (shown once, keep it secret):", role.as_str());
                    println!("{token}");
                    eprintln!("Add this block to the config file (it holds only the SHA-256):");
                    println!();
                    print!(
                        "{}",
                        tokens_block(name.as_deref(), role.as_str(), TokenSecret::Sha256(&hex))
                    );
                    Exit::Ok
                }
                Some(path) => {
                    if let Err(e) = crate::demo::create_token_file(&path) {
                        error_line(&format!("--token-file {}: {e}", path.display()));
                        return Exit::BadInput;
                    }
                    let abs = std::fs::canonicalize(&path).unwrap_or(path);
                    eprintln!(
                        "New {} token written to {} (mode 0600). Add this block to the config \
                         file:",
                        role.as_str(),
                        abs.display()
                    );
                    print!(
                        "{}",
                        tokens_block(name.as_deref(), role.as_str(), TokenSecret::File(&abs))
                    );
                    Exit::Ok
                }
            }
        }
        TokenAction::Hash => {
            let mut input = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut input) {
                error_line(&format!("cannot read stdin: {e}"));
                return Exit::BadInput;
            }
            // the same trimming as a token_file and the server's check
            let token = input.trim();
            if token.is_empty() {
                error_line("no token on stdin");
                return Exit::BadInput;
            }
            println!("{}", hex::encode(config::sha256_of(token.as_bytes())));
            Exit::Ok
        }
    }
}

/// The file `serve` would load without `--config`, if there is one (it never writes here).
fn default_config() -> Option<PathBuf> {
    let local = PathBuf::from(config::DEFAULT_CONFIG_FILE);
    if local.is_file() {
        return Some(local);
    }
    let embedded = Path::new(config::DEFAULT_STATE_DIR).join(config::DEFAULT_CONFIG_FILE);
    embedded.is_file().then_some(embedded)
}

pub fn config(action: ConfigAction) -> Exit {
    let ConfigAction::Check { file } = action;
    let Some(path) = file.or_else(default_config) else {
        println!(
            "ok: no config file here; serve would write the embedded default to {}/{}",
            config::DEFAULT_STATE_DIR,
            config::DEFAULT_CONFIG_FILE
        );
        return Exit::Ok;
    };
    match Config::load(&path) {
        Ok(_) => {
            println!("ok: {}", path.display());
            Exit::Ok
        }
        Err(ConfigError::Invalid { path, errors }) => {
            println!(
                "{}: {} error{}",
                path.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            for e in &errors {
                println!("  {}: {}", e.field, e.message);
            }
            Exit::BadInput
        }
        Err(e) => {
            error_line(&e.to_string());
            Exit::BadInput
        }
    }
}

pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) -> Exit {
    clap_complete::generate(shell, &mut cmd, "backup-master", &mut std::io::stdout());
    Exit::Ok
}

pub fn man(cmd: clap::Command) -> Exit {
    match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            error_line(&format!("cannot write the man page: {e}"));
            Exit::BadInput
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_block_parses_as_the_config_tokens_schema() {
        let hex = "ab".repeat(32);
        let b = tokens_block(Some("ci-runner"), "operator", TokenSecret::Sha256(&hex));
        assert_eq!(
            b,
            format!("[[tokens]]\nname = \"ci-runner\"\nrole = \"operator\"\nsha256 = \"{hex}\"\n")
        );
        let b = tokens_block(
            None,
            "viewer",
            TokenSecret::File(Path::new("/s/a \"b\".token")),
        );
        assert_eq!(
            b,
            "[[tokens]]\nrole = \"viewer\"\ntoken_file = \"/s/a \\\"b\\\".token\"\n"
        );
    }

    #[test]
    fn names_are_what_the_config_accepts() {
        assert!(check_name("ci-runner.2_b").is_ok());
        assert!(check_name("ci runner").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a\nrole = \"admin\"").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
