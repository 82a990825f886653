//! The senders, one per kind of target: a webhook POSTs the event as JSON (signed with
//! HMAC-SHA256 when the target has a secret), a ping target calls its start, success or fail
//! URL, an email target sends a mail over SMTP. Each attempt ends in an [`Outcome`]: accepted,
//! or why not and whether trying again may help.

use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::{read_secret, Channel, SmtpTls, Target};
use crate::toolkit::events::{Event, EventKind, Severity};

/// What one attempt came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    /// The HTTP status (webhook, ping).
    pub status: Option<u16>,
    /// The SMTP server's reply (email).
    pub reply: Option<String>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// Whether another attempt may succeed: HTTP 5xx, timeouts, connection errors and
    /// transient SMTP replies; not HTTP 4xx, permanent SMTP replies or a bad local setting.
    pub retry: bool,
}

/// The body a webhook gets: the event (see `toolkit::events::Event`) as JSON.
pub fn webhook_body(event: &Event) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

/// `sha256=<hex of HMAC-SHA256(key, body)>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        // HMAC takes keys of any length; kept total rather than trusted.
        Err(_) => String::new(),
    }
}

/// Whether `target` has somewhere to send `event`: a ping target without a start URL has
/// none for `backup_started` (nothing is sent or recorded then).
pub fn has_url_for(target: &Target, event: &Event) -> bool {
    match &target.channel {
        Channel::Ping { start: None, .. } => event.event != EventKind::BackupStarted,
        _ => true,
    }
}

/// Sends `event` to `target` once, within the target's timeout.
pub async fn send(target: &Target, event: &Event, delivery_id: &str) -> Outcome {
    let started = Instant::now();
    let mut out = match &target.channel {
        Channel::Webhook {
            url,
            secret_file,
            signature_header,
            headers,
        } => {
            let body = webhook_body(event);
            let mut extra: Vec<(String, String)> = headers.clone();
            extra.push(("X-Backup-Master-Event".into(), event.event.as_str().into()));
            extra.push(("X-Backup-Master-Delivery".into(), delivery_id.into()));
            if let Some(file) = secret_file {
                match read_secret(file) {
                    Ok(key) => {
                        extra.push((signature_header.clone(), signature(key.as_bytes(), &body)))
                    }
                    Err(e) => return local_failure(started, format!("secret_file: {e}")),
                }
            }
            http_post(target, url.clone(), "application/json", body, &extra).await
        }
        Channel::Ping {
            start,
            success,
            fail,
        } => {
            let url = if event.event == EventKind::BackupStarted {
                match start {
                    Some(u) => u.clone(),
                    // `has_url_for` keeps such events away; a test send is no start
                    None => success.clone(),
                }
            } else if event.severity >= Severity::Warning {
                fail.clone()
            } else {
                success.clone()
            };
            let body = text_body(event).into_bytes();
            http_post(target, url, "text/plain; charset=utf-8", body, &[]).await
        }
        Channel::Email { .. } => email(target, event).await,
    };
    out.latency_ms = started.elapsed().as_millis() as u64;
    out
}

fn local_failure(started: Instant, error: String) -> Outcome {
    Outcome {
        ok: false,
        latency_ms: started.elapsed().as_millis() as u64,
        error: Some(error),
        retry: false,
        ..Outcome::default()
    }
}

async fn http_post(
    target: &Target,
    url: reqwest::Url,
    content_type: &str,
    body: Vec<u8>,
    headers: &[(String, String)],
) -> Outcome {
    let client = match reqwest::Client::builder()
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("backup-master/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                error: Some(format!("cannot make an HTTP client: {e}")),
                ..Outcome::default()
            }
        }
    };
    let mut req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let ok = status.is_success();
            Outcome {
                ok,
                status: Some(status.as_u16()),
                error: (!ok).then(|| format!("the target answered {status}")),
                retry: status.is_server_error(),
                ..Outcome::default()
            }
        }
        Err(e) => Outcome {
            ok: false,
            status: e.status().map(|s| s.as_u16()),
            error: Some(if e.is_timeout() {
                format!("no answer within {} s", target.timeout.as_secs())
            } else {
                // without the URL: it may carry a check's secret part
                format!("cannot reach the target: {}", e.without_url())
            }),
            retry: true,
            ..Outcome::default()
        },
    }
}

/// The event as a few lines of text (ping bodies, mails).
pub fn text_body(event: &Event) -> String {
    let mut text = format!(
        "{}\n\nevent: {}\nseverity: {}\nat: {}\n",
        event.summary,
        event.event,
        event.severity.as_str(),
        event.at.to_rfc3339()
    );
    if let Some(id) = &event.backup_id {
        text.push_str(&format!("backup: {id}\n"));
    }
    if let Some(id) = &event.job_id {
        text.push_str(&format!("job: {id}\n"));
    }
    if !event.components.is_empty() {
        text.push_str(&format!("components: {}\n", event.components.join(", ")));
    }
    if let Some(link) = &event.link {
        text.push_str(&format!("record: {link}\n"));
    }
    if !event.report_tail.is_empty() {
        text.push_str("\nlast lines of the report:\n");
        for l in &event.report_tail {
            text.push_str(l);
            text.push('\n');
        }
    }
    text
}

async fn email(target: &Target, event: &Event) -> Outcome {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let Channel::Email {
        host,
        port,
        tls,
        username,
        password_file,
        from,
        to,
    } = &target.channel
    else {
        return Outcome::default();
    };
    let fail = |error: String, retry: bool| Outcome {
        error: Some(error),
        retry,
        ..Outcome::default()
    };
    let mut builder = Message::builder().subject(subject(event));
    match from.parse() {
        Ok(f) => builder = builder.from(f),
        Err(e) => return fail(format!("from: {e}"), false),
    }
    for t in to {
        match t.parse() {
            Ok(t) => builder = builder.to(t),
            Err(e) => return fail(format!("to: {e}"), false),
        }
    }
    let message = match builder.body(text_body(event)) {
        Ok(m) => m,
        Err(e) => return fail(format!("cannot build the mail: {e}"), false),
    };
    let transport = match tls {
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    };
    let mut transport = match transport {
        Ok(t) => t.port(*port).timeout(Some(target.timeout)),
        Err(e) => return fail(format!("smtp_host: {e}"), false),
    };
    if let (Some(user), Some(file)) = (username, password_file) {
        match read_secret(file) {
            Ok(password) => {
                transport = transport.credentials(Credentials::new(user.clone(), password))
            }
            Err(e) => return fail(format!("password_file: {e}"), false),
        }
    }
    let transport = transport.build();
    let sent = tokio::time::timeout(target.timeout, transport.send(message)).await;
    match sent {
        Ok(Ok(resp)) => Outcome {
            ok: resp.is_positive(),
            reply: Some(reply_text(resp.code().to_string(), resp.message())),
            retry: false,
            ..Outcome::default()
        },
        Ok(Err(e)) => {
            let reply = e.status().map(|c| c.to_string());
            Outcome {
                ok: false,
                reply,
                error: Some(format!("smtp: {e}")),
                // a permanent (5xx) reply will not change by itself
                retry: !e.is_permanent(),
                ..Outcome::default()
            }
        }
        Err(_) => fail(
            format!("no answer within {} s", target.timeout.as_secs()),
            true,
        ),
    }
}

fn reply_text<'a>(code: String, lines: impl Iterator<Item = &'a str>) -> String {
    let text: Vec<&str> = lines.collect();
    if text.is_empty() {
        code
    } else {
        format!("{code} {}", text.join(" "))
    }
}

/// `[backup-master] error: <summary>`, the summary cut to keep the line short.
fn subject(event: &Event) -> String {
    let mut summary: String = event.summary.chars().take(150).collect();
    if summary.len() < event.summary.len() {
        summary.push('…');
    }
    format!("[backup-master] {}: {summary}", event.severity.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn text_body_has_the_summary_and_the_tail() {
        let mut e = Event::new(EventKind::BackupFailed, Severity::Error, "backup X failed");
        e.report_tail = vec!["lui: error: disk full".into()];
        let t = text_body(&e);
        assert!(t.starts_with("backup X failed\n"));
        assert!(t.contains("lui: error: disk full"));
        assert!(subject(&e).starts_with("[backup-master] error: backup X failed"));
    }
}
