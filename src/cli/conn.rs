//! The connection to a server (URL, token, HTTP client) and the client's error type, which
//! maps every failure to its exit code and prints the server's problem body field by field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use backup_master_client::apis::configuration::Configuration;
use backup_master_client::models::{FieldError, Problem};
use clap::Args;

use super::output::error_line;
use super::Exit;

/// Default server URL (also `BACKUP_MASTER_URL`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";
/// The server URL, when `--url` is not given.
pub const URL_ENV: &str = "BACKUP_MASTER_URL";
/// The token itself, when `--token-file` is not given.
pub const TOKEN_ENV: &str = "BACKUP_MASTER_TOKEN";
/// The embedded default's admin token, used when nothing else names one.
pub const DEFAULT_TOKEN_FILE: &str = "backup-master-data/admin.token";

/// Where the server is and which token to present.
#[derive(Args, Clone, Debug, Default)]
pub struct ConnArgs {
    /// The server's base URL [env: BACKUP_MASTER_URL; default: http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A file holding the token [else env BACKUP_MASTER_TOKEN (the token itself), else
    /// ./backup-master-data/admin.token when present].
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// A failed command: what to print and which exit code it gives.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input found before asking the server (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The server refused the request as bad input (a 4xx): exit 2.
    #[error("{}", .problem.detail)]
    Rejected { problem: Box<Problem> },
    /// 401 / 403: exit 3.
    #[error("{}", .problem.detail)]
    NotAuthorised { problem: Box<Problem> },
    /// Connection refused, timeout, TLS, an answer that is not the API's: exit 3.
    #[error("{0}")]
    Unreachable(String),
    /// A 5xx: exit 3.
    #[error("{}", .problem.detail)]
    ServerFailed { problem: Box<Problem> },
    /// 409 (a job runs, `running_id`), 412 (changed meanwhile), 429 (too many followers): exit 4.
    #[error("{}", .problem.detail)]
    Conflict { problem: Box<Problem> },
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) | CliError::Rejected { .. } => Exit::BadInput,
            CliError::NotAuthorised { .. }
            | CliError::Unreachable(_)
            | CliError::ServerFailed { .. } => Exit::Unreachable,
            CliError::Conflict { .. } => Exit::Conflict,
        }
    }

    /// Prints the error on stderr: the detail, then each field error on its own line, and the
    /// running job's ID for a conflict.
    pub fn print(&self) {
        error_line(&self.to_string());
        let problem = match self {
            CliError::Rejected { problem }
            | CliError::NotAuthorised { problem }
            | CliError::ServerFailed { problem }
            | CliError::Conflict { problem } => problem,
            CliError::Usage(_) | CliError::Unreachable(_) => return,
        };
        for FieldError { field, message } in problem.errors.iter().flatten() {
            eprintln!("  {field}: {message}");
        }
        if let Some(Some(id)) = &problem.running_id {
            eprintln!("  running: {id}");
        }
        if matches!(self, CliError::NotAuthorised { .. }) && problem.status == 401 {
            eprintln!("  give a token with --token-file PATH or {TOKEN_ENV}");
        }
    }

    /// The error for a non-2xx answer: `content` is its body (a problem+json, or anything).
    pub fn from_status(status: u16, content: &str) -> CliError {
        let problem = Box::new(
            serde_json::from_str::<Problem>(content).unwrap_or_else(|_| Problem {
                detail: match content.trim() {
                    "" => format!("the server answered {status}"),
                    text => format!("the server answered {status}: {}", first_line(text)),
                },
                code: String::new(),
                errors: None,
                running_id: None,
                status: i32::from(status),
                title: String::new(),
                r#type: String::new(),
            }),
        );
        match status {
            401 | 403 => CliError::NotAuthorised { problem },
            409 | 412 | 429 => CliError::Conflict { problem },
            400..=499 => CliError::Rejected { problem },
            _ => CliError::ServerFailed { problem },
        }
    }

    pub fn transport(what: &str, e: &dyn std::fmt::Display) -> CliError {
        CliError::Unreachable(format!("{what}: {e}"))
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

impl<T> From<backup_master_client::apis::Error<T>> for CliError {
    fn from(e: backup_master_client::apis::Error<T>) -> Self {
        use backup_master_client::apis::Error;
        match e {
            Error::ResponseError(r) => CliError::from_status(r.status.as_u16(), &r.content),
            Error::Reqwest(e) => CliError::Unreachable(describe_reqwest(&e)),
            Error::Serde(e) => {
                CliError::Unreachable(format!("the server's answer is not the API's: {e}"))
            }
            Error::Io(e) => CliError::Unreachable(e.to_string()),
        }
    }
}

/// A reqwest error with its causes (connection refused, DNS, TLS), on one line.
pub fn describe_reqwest(e: &http_client::Error) -> String {
    let mut s = match e.url() {
        Some(u) => format!("cannot reach {}", origin(u.as_str())),
        None => "request failed".to_string(),
    };
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn origin(url: &str) -> &str {
    // scheme://host:port, without the path
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

/// A connected client: the generated client's configuration (base URL, token, the reqwest
/// client), also used directly for the calls the generated client cannot make.
pub struct Client {
    pub config: Configuration,
}

impl ConnArgs {
    /// Resolves URL and token and builds the HTTP client.
    pub fn connect(&self) -> Result<Client, CliError> {
        let env_url = std::env::var(URL_ENV).ok().filter(|s| !s.is_empty());
        let url = resolve_url(self.url.as_deref(), env_url.as_deref())?;
        let token = resolve_token(
            self.token_file.as_deref(),
            std::env::var(TOKEN_ENV).ok().as_deref(),
            Path::new(DEFAULT_TOKEN_FILE),
        )?;
        install_tls_provider();
        let client = http_client::Client::builder()
            .user_agent(concat!("backup-master-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // per read, not per request: event streams stay open for hours, and the server
            // sends a keep-alive every 15 s
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Usage(format!("cannot set up HTTP: {e}")))?;
        Ok(Client {
            config: Configuration {
                base_path: url,
                user_agent: Some(concat!("backup-master-cli/", env!("CARGO_PKG_VERSION")).into()),
                client,
                basic_auth: None,
                oauth_access_token: None,
                bearer_access_token: token,
                api_key: None,
            },
        })
    }
}

/// reqwest 0.13 is built without a bundled crypto provider (see Cargo.toml): use ring, as the
/// server's own TLS does. Installing twice is harmless.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `--url`, else the environment, else the default; must be http(s), without a trailing `/`.
pub fn resolve_url(flag: Option<&str>, env: Option<&str>) -> Result<String, CliError> {
    let (url, from) = match (flag, env) {
        (Some(u), _) => (u, "--url"),
        (None, Some(u)) => (u, URL_ENV),
        (None, None) => (DEFAULT_URL, "the default URL"),
    };
    let url = url.trim().trim_end_matches('/');
    let parsed = http_client::Url::parse(url)
        .map_err(|e| CliError::Usage(format!("{from}: {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(CliError::Usage(format!(
            "{from}: {url:?} must be http://HOST[:PORT] or https://HOST[:PORT]"
        )));
    }
    Ok(url.to_string())
}

/// `--token-file`, else the token in the environment, else the embedded default's admin
/// token file when it exists, else none (the server will answer 401).
pub fn resolve_token(
    file: Option<&Path>,
    env: Option<&str>,
    default_file: &Path,
) -> Result<Option<String>, CliError> {
    let read = |p: &Path| -> Result<String, CliError> {
        let text = std::fs::read_to_string(p)
            .map_err(|e| CliError::Usage(format!("--token-file {}: {e}", p.display())))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(CliError::Usage(format!(
                "--token-file {}: the file is empty",
                p.display()
            )));
        }
        Ok(token.to_string())
    };
    if let Some(p) = file {
        return read(p).map(Some);
    }
    if let Some(t) = env.map(str::trim).filter(|t| !t.is_empty()) {
        return Ok(Some(t.to_string()));
    }
    if default_file.is_file() {
        return read(default_file).map(Some);
    }
    Ok(None)
}

impl Client {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_path, path)
    }

    /// A request on the generated client's own reqwest client, with the token: for what the
    /// generated functions cannot do (read an `ETag`, follow an event stream).
    pub fn request(&self, method: http_client::Method, path: &str) -> http_client::RequestBuilder {
        let mut rb = self.config.client.request(method, self.url(path));
        if let Some(ua) = &self.config.user_agent {
            rb = rb.header(http_client::header::USER_AGENT, ua);
        }
        if let Some(t) = &self.config.bearer_access_token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    /// Sends `rb`; a non-2xx answer becomes the matching [`CliError`].
    pub async fn send(
        &self,
        rb: http_client::RequestBuilder,
    ) -> Result<http_client::Response, CliError> {
        let resp = rb
            .send()
            .await
            .map_err(|e| CliError::Unreachable(describe_reqwest(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let content = resp.text().await.unwrap_or_default();
        Err(CliError::from_status(status.as_u16(), &content))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn url_flag_beats_env_beats_default_and_must_be_http() {
        assert_eq!(
            resolve_url(Some("http://h:1/"), Some("http://e:2")).unwrap(),
            "http://h:1"
        );
        assert_eq!(
            resolve_url(None, Some("https://e:2")).unwrap(),
            "https://e:2"
        );
        assert_eq!(resolve_url(None, None).unwrap(), DEFAULT_URL);
        let e = resolve_url(Some("ftp://h"), None).unwrap_err();
        assert_eq!(e.exit(), Exit::BadInput);
        assert!(e.to_string().contains("--url"), "{e}");
        assert!(resolve_url(None, Some("not a url")).is_err());
    }

    #[test]
    fn token_file_beats_env_beats_default_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t");
        std::fs::write(&f, "from-file\n").unwrap();
        let d = dir.path().join("admin.token");
        std::fs::write(&d, "from-default\n").unwrap();
        let missing = dir.path().join("missing");
        assert_eq!(
            resolve_token(Some(&f), Some("env"), &d).unwrap().as_deref(),
            Some("from-file")
        );
        assert_eq!(
            resolve_token(None, Some("env"), &d).unwrap().as_deref(),
            Some("env")
        );
        assert_eq!(
            resolve_token(None, None, &d).unwrap().as_deref(),
            Some("from-default")
        );
        assert_eq!(resolve_token(None, None, &missing).unwrap(), None);
        let e = resolve_token(Some(&missing), None, &d).unwrap_err();
        assert_eq!(e.exit(), Exit::BadInput);
        std::fs::write(&f, "\n").unwrap();
        assert!(resolve_token(Some(&f), None, &d).is_err());
    }

    #[test]
    fn statuses_map_to_exit_codes() {
        let p = r#"{"type":"/problems/x","title":"t","status":409,"detail":"a backup is running: B1","running_id":"B1"}"#;
        assert_eq!(CliError::from_status(409, p).exit(), Exit::Conflict);
        assert_eq!(CliError::from_status(412, p).exit(), Exit::Conflict);
        assert_eq!(CliError::from_status(401, p).exit(), Exit::Unreachable);
        assert_eq!(CliError::from_status(403, p).exit(), Exit::Unreachable);
        assert_eq!(CliError::from_status(422, p).exit(), Exit::BadInput);
        assert_eq!(CliError::from_status(404, "").exit(), Exit::BadInput);
        assert_eq!(CliError::from_status(500, "oops").exit(), Exit::Unreachable);
        let e = CliError::from_status(502, "<html>bad gateway</html>\nmore");
        assert_eq!(
            e.to_string(),
            "the server answered 502: <html>bad gateway</html>"
        );
    }
}
