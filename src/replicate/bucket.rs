//! One replication target's bucket through `object_store`: opened from the target's settings
//! and credentials, every key under the target's prefix, creates that never overwrite
//! ([`Bucket::put_new`]), listings, reads. Each request is retried by the client on a 5xx
//! answer, a 429 and a timeout (exponential backoff, [`RETRY`]); what still fails is a
//! [`ReplicateError::Store`] naming the target and what was asked. A bucket of a target that
//! encrypts carries its [`Seal`], which the uploads and downloads apply to each body.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse, HttpService, ReqwestConnector,
};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    RetryConfig,
};

use super::seal::Seal;
use super::ReplicateError;
use crate::config::ReplicationTarget;

/// The client's retries of one request: 5xx, 429 and timeouts, 0.2 s doubling to 5 s, at most
/// 6 times and 2 minutes.
pub const RETRY: (usize, Duration) = (6, Duration::from_secs(120));

/// What a create found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The object was written.
    New,
    /// The key existed: nothing was written.
    Existed,
}

/// A target's bucket.
#[derive(Clone, Debug)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    target: String,
    bucket: String,
    prefix: String,
    /// The target's keys when it encrypts (see [`super::seal::for_target`]).
    seal: Option<Seal>,
}

impl Bucket {
    /// The bucket of `t`, its credentials read now. Makes no request.
    pub fn open(t: &ReplicationTarget) -> Result<Bucket, ReplicateError> {
        Self::open_counting(t, Arc::default())
    }

    /// [`Bucket::open`], adding each failed attempt of a request to `failed_attempts`: an
    /// answer 5xx, 429 or 408, or no answer (a timeout, a lost connection). The client retries
    /// each of them within [`RETRY`] (a create that timed out is retried by its caller).
    pub fn open_counting(
        t: &ReplicationTarget,
        failed_attempts: Arc<AtomicU64>,
    ) -> Result<Bucket, ReplicateError> {
        let creds = t.credentials().map_err(ReplicateError::Settings)?;
        Bucket::open_with_keys(t, creds, failed_attempts)
    }

    /// [`Bucket::open_counting`] with the keys `creds` given (an agent gets them with the
    /// master's call; `t`'s key files and environment are not read). Makes no request.
    pub fn open_with_keys(
        t: &ReplicationTarget,
        creds: crate::config::S3Credentials,
        failed_attempts: Arc<AtomicU64>,
    ) -> Result<Bucket, ReplicateError> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: RETRY.0,
            retry_timeout: RETRY.1,
        };
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(t.timeout)
            .with_connect_timeout(Duration::from_secs(10));
        let endpoint = if t.path_style {
            t.endpoint.clone()
        } else {
            virtual_hosted(&t.endpoint, &t.bucket).map_err(|e| {
                ReplicateError::Settings(format!("replication target {}: {e}", t.name))
            })?
        };
        let store = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_bucket_name(&t.bucket)
            .with_region(&t.region)
            .with_access_key_id(creds.access_key)
            .with_secret_access_key(creds.secret_key)
            .with_virtual_hosted_style_request(!t.path_style)
            .with_retry(retry)
            .with_client_options(options)
            .with_http_connector(Counting(failed_attempts))
            .build()
            .map_err(|e| {
                ReplicateError::Settings(format!(
                    "replication target {}: {}",
                    t.name,
                    scrub(&e.to_string())
                ))
            })?;
        Ok(Bucket {
            store: Arc::new(store),
            target: t.name.clone(),
            bucket: t.bucket.clone(),
            prefix: t.prefix.clone(),
            seal: None,
        })
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// This bucket with `seal`: uploads through it encrypt, and encrypted sets can be read.
    pub fn with_seal(mut self, seal: Option<Seal>) -> Bucket {
        self.seal = seal;
        self
    }

    /// The keys of a target that encrypts.
    pub fn seal(&self) -> Option<&Seal> {
        self.seal.as_ref()
    }

    fn key(&self, rel: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(rel)
        } else {
            Key::from(format!("{}/{rel}", self.prefix))
        }
    }

    /// A key as the store gives it back, relative to the prefix.
    fn rel<'k>(&self, key: &'k str) -> &'k str {
        if self.prefix.is_empty() {
            key
        } else {
            key.strip_prefix(&self.prefix)
                .map(|k| k.trim_start_matches('/'))
                .unwrap_or(key)
        }
    }

    fn fail(&self, what: &str, e: object_store::Error) -> ReplicateError {
        let text = e.to_string();
        let refused = [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "403 Forbidden",
        ]
        .iter()
        .any(|m| text.contains(m));
        let message = match &e {
            _ if refused => format!(
                "{what}: the store refused the credentials ({})",
                scrub(&text)
            ),
            object_store::Error::NotFound { .. } if what.starts_with("listing") => format!(
                "{what}: not found: does the bucket {:?} exist? ({})",
                self.bucket,
                scrub(&e.to_string())
            ),
            object_store::Error::Unauthenticated { .. }
            | object_store::Error::PermissionDenied { .. } => format!(
                "{what}: the store refused the credentials ({})",
                scrub(&e.to_string())
            ),
            _ => format!("{what}: {}", scrub(&e.to_string())),
        };
        ReplicateError::Store {
            target: self.target.clone(),
            message,
        }
    }

    /// One listing request under `sets/`: the endpoint answers, the credentials are taken and
    /// the bucket exists.
    pub async fn check(&self) -> Result<(), ReplicateError> {
        self.store
            .list_with_delimiter(Some(&self.key("sets")))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(&format!("listing bucket {:?}", self.bucket), e))
    }

    /// Every object under `dir` (relative to the prefix): relative key -> size.
    pub async fn list(&self, dir: &str) -> Result<HashMap<String, u64>, ReplicateError> {
        let mut out = HashMap::new();
        let mut stream = self.store.list(Some(&self.key(dir)));
        while let Some(meta) = stream.next().await {
            let meta =
                meta.map_err(|e| self.fail(&format!("listing {dir}/ of {:?}", self.bucket), e))?;
            out.insert(self.rel(meta.location.as_ref()).to_string(), meta.size);
        }
        Ok(out)
    }

    /// Every object under `dir` (relative to the prefix): relative key -> (size, last
    /// modified).
    pub async fn list_dated(
        &self,
        dir: &str,
    ) -> Result<HashMap<String, (u64, chrono::DateTime<chrono::Utc>)>, ReplicateError> {
        let mut out = HashMap::new();
        let mut stream = self.store.list(Some(&self.key(dir)));
        while let Some(meta) = stream.next().await {
            let meta =
                meta.map_err(|e| self.fail(&format!("listing {dir}/ of {:?}", self.bucket), e))?;
            out.insert(
                self.rel(meta.location.as_ref()).to_string(),
                (meta.size, meta.last_modified),
            );
        }
        Ok(out)
    }

    /// Deletes `rel` (the caller proved the product wrote it).
    pub async fn delete(&self, rel: &str) -> Result<(), ReplicateError> {
        self.store
            .delete(&self.key(rel))
            .await
            .map_err(|e| self.fail(&format!("deleting {rel}"), e))
    }

    /// The size of `rel`, or `None` when there is no such object.
    pub async fn head(&self, rel: &str) -> Result<Option<u64>, ReplicateError> {
        match self.store.head(&self.key(rel)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(&format!("reading the size of {rel}"), e)),
        }
    }

    /// Creates `rel` with `bytes` unless the key exists (`If-None-Match: *`): never overwrites.
    pub async fn put_new(&self, rel: &str, bytes: Vec<u8>) -> Result<Created, ReplicateError> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&self.key(rel), PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(Created::New),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(Created::Existed),
            Err(e) => Err(self.fail(&format!("uploading {rel}"), e)),
        }
    }

    /// Starts a multipart upload of `rel` (for a blob too large for one request). The caller
    /// has checked the key is absent.
    pub async fn multipart(
        &self,
        rel: &str,
    ) -> Result<Box<dyn object_store::MultipartUpload>, ReplicateError> {
        self.store
            .put_multipart(&self.key(rel))
            .await
            .map_err(|e| self.fail(&format!("starting the upload of {rel}"), e))
    }

    /// Wraps a failed multipart step as an error of this target.
    pub fn part_failed(&self, rel: &str, e: object_store::Error) -> ReplicateError {
        self.fail(&format!("uploading {rel}"), e)
    }

    /// The whole of `rel`; `None` when there is no such object.
    pub async fn get(&self, rel: &str) -> Result<Option<Vec<u8>>, ReplicateError> {
        let got = match self.store.get(&self.key(rel)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.fail(&format!("reading {rel}"), e)),
        };
        got.bytes()
            .await
            .map(|b| Some(b.to_vec()))
            .map_err(|e| self.fail(&format!("reading {rel}"), e))
    }

    /// `rel` as a stream of chunks (for blobs, which may be large).
    pub async fn get_stream(
        &self,
        rel: &str,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<Vec<u8>, ReplicateError>>,
        ReplicateError,
    > {
        let got = self
            .store
            .get(&self.key(rel))
            .await
            .map_err(|e| self.fail(&format!("reading {rel}"), e))?;
        let me = self.clone();
        let what = rel.to_string();
        Ok(got
            .into_stream()
            .map(move |c| {
                c.map(|b| b.to_vec())
                    .map_err(|e| me.fail(&format!("reading {what}"), e))
            })
            .boxed())
    }
}

/// The client's HTTP connections, counting the failed attempts into the shared counter.
#[derive(Debug)]
struct Counting(Arc<AtomicU64>);

impl HttpConnector for Counting {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(CountingService {
            inner,
            failed: self.0.clone(),
        }))
    }
}

#[derive(Debug)]
struct CountingService {
    inner: HttpClient,
    failed: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl HttpService for CountingService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let r = self.inner.execute(req).await;
        let failed = match &r {
            Ok(answer) => {
                let s = answer.status().as_u16();
                s >= 500 || s == 429 || s == 408
            }
            Err(_) => true,
        };
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

/// The endpoint of virtual-hosted-style requests: the bucket in front of the endpoint's host
/// (`https://s3.example.com` -> `https://<bucket>.s3.example.com`), as the client wants it.
fn virtual_hosted(endpoint: &str, bucket: &str) -> Result<String, String> {
    let mut url = reqwest::Url::parse(endpoint).map_err(|e| format!("endpoint: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| "endpoint has no host".to_string())?
        .to_string();
    url.set_host(Some(&format!("{bucket}.{host}")))
        .map_err(|e| format!("endpoint with the bucket: {e}"))?;
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// An error text of the client without anything that could be a credential: the client's
/// messages name requests, keys and statuses, never the secret; a signature or an access key ID
/// in an echoed request is cut all the same.
fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(|c: char| c.is_whitespace() || c == ',' || c == '&') {
        let lower = word.to_ascii_lowercase();
        if lower.contains("credential=")
            || lower.contains("signature=")
            || lower.contains("x-amz-security-token")
        {
            out.push_str("<redacted> ");
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosted_requests_put_the_bucket_before_the_host() {
        assert_eq!(
            virtual_hosted("https://s3.eu-central-1.amazonaws.com", "offsite").unwrap(),
            "https://offsite.s3.eu-central-1.amazonaws.com"
        );
        assert_eq!(
            virtual_hosted("http://minio.internal:9000/", "b-1").unwrap(),
            "http://b-1.minio.internal:9000"
        );
    }

    #[test]
    fn signatures_are_cut_from_error_texts() {
        let t = scrub(
            "HTTP 403 Authorization: AWS4-HMAC-SHA256 Credential=AKID/2026, Signature=abcd done",
        );
        assert!(
            !t.contains("AKID") && !t.contains("abcd") && t.contains("done"),
            "{t}"
        );
    }
}
