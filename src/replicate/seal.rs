//! Client-side encryption of replicated sets with `age` (the format of the `age` tool): the
//! keys of a target, and every encryption and decryption of a blob, a manifest or the wrapped
//! identity. Nothing else in the product touches `age`.
//!
//! # Keys
//! Uploads always encrypt to a list of X25519 recipients (`age1...`); downloads decrypt with
//! X25519 identities (`AGE-SECRET-KEY-1...`). A target gets them one of two ways:
//! * `encrypt_recipients_file`: recipients, one per line (`#` comments). The master needs no
//!   secret to upload; restoring and deep verification need `decrypt_identity_file`.
//! * `encrypt_passphrase_file`: the first replication generates an identity and stores it on
//!   the bucket as [`IDENTITY_KEY`], encrypted with the passphrase (age's scrypt mode, about a
//!   second of work, so once per job and never per blob). Every later job unwraps it.
//!
//! # What the bucket still shows
//! Blobs keep their plaintext SHA-256 as name (`blobs/<2 hex>/<sha256>.age`): deduplication
//! across sets needs a stable name, and in recipients mode the master holds no secret that
//! could key a name. An observer of the bucket therefore learns the number and sizes of the
//! blobs, which sets use which blobs (the blob index `sets/<id>.blobs.json` that lets quick
//! verification and retention work without the private key), and whether a file they already
//! know (and can hash) is in a set. File names, contents, readmes and reports are encrypted.
//!
//! # Changing the keys
//! A blob already on the bucket is reused by every later set that has the same content: it
//! stays encrypted to the recipients it was uploaded for. After changing the recipients, keep
//! the old identity in `decrypt_identity_file` too (one identity per line), or start a new
//! prefix; deep verification names any blob the configured identities cannot open.
//!
//! Key material never reaches a log line, an error text, a response or a hook: errors name
//! the file or setting, never what it holds.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use futures_util::stream::BoxStream;
use futures_util::{AsyncReadExt, StreamExt, TryStreamExt};

use super::bucket::{Bucket, Created};
use super::ReplicateError;
pub use crate::config::Encryption;
use crate::toolkit::age_keys::{parse_identities, parse_recipients, read_key_file};

/// The key of the passphrase-wrapped identity, relative to the target's prefix.
pub const IDENTITY_KEY: &str = "keys/identity.age";
/// Suffix of every encrypted object's key.
pub const SEALED_SUFFIX: &str = ".age";
/// The first bytes of every age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// Plaintext bytes per age payload chunk; each chunk carries a 16-byte tag.
const AGE_CHUNK: u64 = 64 << 10;

/// What a seal could not do. Texts name files, settings and objects, never key material.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A recipients or identity text (or file) is unusable.
    #[error("{0}")]
    Keys(String),
    /// This seal has no identity, so it cannot decrypt; the text says which setting is missing.
    #[error("{0}")]
    NoIdentity(String),
    /// None of the identities opens the object.
    #[error("it does not open with the configured key")]
    WrongKey,
    /// The object is not an age file, or its content fails authentication.
    #[error("it is damaged or not encrypted by this product ({0})")]
    Damaged(String),
}

/// The keys of a target: recipients to encrypt to and, where the master has them, identities
/// to decrypt with. Cheap to clone; `Debug` shows no key.
#[derive(Clone)]
pub struct Seal {
    recipients: Arc<Vec<x25519::Recipient>>,
    identities: Arc<Vec<x25519::Identity>>,
    /// Why [`Seal::decrypt`] cannot work when there are no identities.
    no_identity: String,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Seal({} recipient(s), {} identit(ies))",
            self.recipients.len(),
            self.identities.len()
        )
    }
}

impl Seal {
    /// A seal that encrypts to `recipients` (`age1...` strings) and cannot decrypt.
    pub fn for_upload<S: AsRef<str>>(recipients: &[S]) -> Result<Seal, SealError> {
        let text = recipients
            .iter()
            .map(|r| r.as_ref())
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Seal {
            recipients: Arc::new(parse_recipients(&text).map_err(SealError::Keys)?),
            identities: Arc::new(Vec::new()),
            no_identity: "no identity to decrypt with".into(),
        })
    }

    /// A seal that decrypts with `identities` (`AGE-SECRET-KEY-1...` strings) and encrypts to
    /// their recipients.
    pub fn for_download<S: AsRef<str>>(identities: &[S]) -> Result<Seal, SealError> {
        let text = identities
            .iter()
            .map(|r| r.as_ref())
            .collect::<Vec<_>>()
            .join("\n");
        let ids = parse_identities(&text).map_err(SealError::Keys)?;
        Ok(Seal::of_identities(ids))
    }

    fn of_identities(ids: Vec<x25519::Identity>) -> Seal {
        Seal {
            recipients: Arc::new(ids.iter().map(x25519::Identity::to_public).collect()),
            identities: Arc::new(ids),
            no_identity: String::new(),
        }
    }

    /// This seal with identities added (recipients mode with `decrypt_identity_file`).
    fn with_identities(mut self, ids: Vec<x25519::Identity>) -> Seal {
        self.identities = Arc::new(ids);
        self
    }

    /// True when this seal holds an identity.
    pub fn can_decrypt(&self) -> bool {
        !self.identities.is_empty()
    }

    /// The recipients (`age1...`), public: what an agent needs to upload
    /// ([`Seal::for_upload`] there).
    pub fn recipient_strings(&self) -> Vec<String> {
        self.recipients.iter().map(|r| r.to_string()).collect()
    }

    /// The identities, one per line: secret, sent only to an agent that downloads for a
    /// restore ([`Seal::for_download`] there) and never shown.
    pub fn identity_text(&self) -> String {
        self.identities
            .iter()
            .map(|i| i.to_string().expose_secret().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn encryptor(&self) -> Result<age::Encryptor, SealError> {
        age::Encryptor::with_recipients(self.recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| SealError::Keys(format!("cannot encrypt to the recipients: {e}")))
    }

    /// `plain`, encrypted to the recipients.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(plain.len() + 512);
        let mut w = self
            .encryptor()?
            .wrap_output(&mut out)
            .map_err(|e| SealError::Keys(e.to_string()))?;
        w.write_all(plain)
            .and_then(|()| w.finish().map(|_| ()))
            .map_err(|e| SealError::Keys(e.to_string()))?;
        Ok(out)
    }

    /// An encryption fed in pieces, its ciphertext taken out in parts as it grows (for
    /// multipart uploads: never more than a part or two in memory).
    pub fn sealing(&self) -> Result<Sealing, SealError> {
        let out = SharedBuf::default();
        let writer = self
            .encryptor()?
            .wrap_output(out.clone())
            .map_err(|e| SealError::Keys(e.to_string()))?;
        Ok(Sealing { writer, out })
    }

    fn identities(&self) -> Result<impl Iterator<Item = &dyn age::Identity>, SealError> {
        if self.identities.is_empty() {
            return Err(SealError::NoIdentity(self.no_identity.clone()));
        }
        Ok(self.identities.iter().map(|i| i as &dyn age::Identity))
    }

    /// `sealed` decrypted (for small objects: manifests).
    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let ids = self.identities()?;
        let d = age::Decryptor::new_buffered(sealed).map_err(damaged)?;
        let mut r = d.decrypt(ids).map_err(opening)?;
        let mut out = Vec::new();
        Read::read_to_end(&mut r, &mut out).map_err(|e| SealError::Damaged(e.to_string()))?;
        Ok(out)
    }

    /// The plaintext of an encrypted object arriving as `chunks`, decrypted as it streams.
    /// An object that does not decrypt ends the stream with [`ReplicateError::Remote`] naming
    /// `what` on `target`; a failed read passes through as it was.
    pub fn open_stream(
        &self,
        chunks: BoxStream<'static, Result<Vec<u8>, ReplicateError>>,
        target: &str,
        what: &str,
    ) -> BoxStream<'static, Result<Vec<u8>, ReplicateError>> {
        let seal = self.clone();
        let (target, what) = (target.to_string(), what.to_string());
        let fail = move |e: SealError| -> ReplicateError {
            match e {
                SealError::NoIdentity(m) | SealError::Keys(m) => ReplicateError::Settings(m),
                other => ReplicateError::Remote {
                    target: target.clone(),
                    message: format!("{what}: {other}"),
                },
            }
        };
        let reader = chunks
            .map_err(|e| std::io::Error::other(Box::new(e)))
            .into_async_read();
        let opened = async move {
            let ids = seal.identities()?;
            let d = age::Decryptor::new_async(reader).await.map_err(damaged)?;
            d.decrypt_async(ids).map_err(opening)
        };
        futures_util::stream::once(opened)
            .map(move |r| match r {
                Err(e) => {
                    let err = fail(e);
                    futures_util::stream::once(async move { Err(err) }).boxed()
                }
                Ok(plain) => futures_util::stream::try_unfold(
                    (plain, fail.clone()),
                    |(mut plain, fail)| async move {
                        let mut buf = vec![0u8; AGE_CHUNK as usize];
                        let n = plain
                            .read(&mut buf)
                            .await
                            .map_err(|e| read_error(e, &fail))?;
                        if n == 0 {
                            return Ok(None);
                        }
                        buf.truncate(n);
                        Ok(Some((buf, (plain, fail))))
                    },
                )
                .boxed(),
            })
            .flatten()
            .boxed()
    }
}

/// A failed read of a decrypting stream: the store's own error when it was one, else the
/// object is damaged.
fn read_error(e: std::io::Error, fail: &impl Fn(SealError) -> ReplicateError) -> ReplicateError {
    if e.get_ref().is_some_and(|i| i.is::<ReplicateError>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(r) = inner.downcast::<ReplicateError>() {
                return *r;
            }
        }
        return fail(SealError::Damaged("read failed".into()));
    }
    fail(SealError::Damaged(e.to_string()))
}

fn damaged(e: age::DecryptError) -> SealError {
    SealError::Damaged(e.to_string())
}

fn opening(e: age::DecryptError) -> SealError {
    match e {
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
            SealError::WrongKey
        }
        other => damaged(other),
    }
}

/// A growing buffer the encryptor writes into while the uploader takes parts out of it.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An encryption in progress ([`Seal::sealing`]).
pub struct Sealing {
    writer: age::stream::StreamWriter<SharedBuf>,
    out: SharedBuf,
}

impl Sealing {
    /// Encrypts the next plaintext piece.
    pub fn push(&mut self, plain: &[u8]) -> Result<(), SealError> {
        self.writer
            .write_all(plain)
            .map_err(|e| SealError::Keys(e.to_string()))
    }

    /// The next `size` bytes of ciphertext, once that many are ready.
    pub fn take(&mut self, size: usize) -> Option<Vec<u8>> {
        let mut out = self.out.lock();
        (out.len() >= size).then(|| {
            let rest = out.split_off(size);
            std::mem::replace(&mut *out, rest)
        })
    }

    /// Ends the encryption: the ciphertext not taken yet.
    pub fn finish(self) -> Result<Vec<u8>, SealError> {
        self.writer
            .finish()
            .map_err(|e| SealError::Keys(e.to_string()))?;
        let rest = std::mem::take(&mut *self.out.lock());
        Ok(rest)
    }
}

/// The least size an encrypted blob of `plain` bytes can have: the payload's nonce and tags,
/// plus an age header of one X25519 recipient (the header's exact size varies).
pub fn min_sealed_size(plain: u64) -> u64 {
    let chunks = plain.div_ceil(AGE_CHUNK).max(1);
    // "age-encryption.org/v1\n-> X25519 <43>\n<43>\n--- <43>\n"
    const MIN_HEADER: u64 = 22 + 54 + 44 + 48;
    MIN_HEADER + 16 + plain + 16 * chunks
}

/// What a job will do with the seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Upload: in passphrase mode the identity is created on the bucket when it has none.
    Upload,
    /// Download or deep verification: nothing is written to the bucket.
    Read,
}

/// The seal of target `target` (named in errors) encrypting as `enc`, `None` when it does not
/// encrypt. Recipients mode reads its files now (a rotated key is used at the next job);
/// passphrase mode reads (or, for an upload, creates) [`IDENTITY_KEY`] on `bucket`.
pub async fn for_target(
    bucket: &Bucket,
    enc: &Encryption,
    use_: Use,
) -> Result<Option<Seal>, ReplicateError> {
    let target = bucket.target().to_string();
    let settings = |field: &str, m: String| {
        ReplicateError::Settings(format!("replication target {target}: {field}: {m}"))
    };
    match enc {
        Encryption::Off => Ok(None),
        Encryption::Recipients {
            recipients_file,
            identity_file,
        } => {
            let text = read_key_file(recipients_file)
                .map_err(|m| settings("encrypt_recipients_file", m))?;
            let recipients = parse_recipients(&text).map_err(|m| {
                settings(
                    "encrypt_recipients_file",
                    format!("{} {m}", recipients_file.display()),
                )
            })?;
            let seal = Seal {
                recipients: Arc::new(recipients),
                identities: Arc::new(Vec::new()),
                no_identity: format!(
                    "replication target {target} encrypts to recipients and this server has no \
                     identity to decrypt with: set decrypt_identity_file (the age identity \
                     file of one of the recipients) to restore or deep-verify"
                ),
            };
            match identity_file {
                None => Ok(Some(seal)),
                Some(f) => {
                    let text =
                        read_key_file(f).map_err(|m| settings("decrypt_identity_file", m))?;
                    let ids = parse_identities(&text).map_err(|m| {
                        settings("decrypt_identity_file", format!("{} {m}", f.display()))
                    })?;
                    Ok(Some(seal.with_identities(ids)))
                }
            }
        }
        Encryption::Passphrase { passphrase_file } => {
            let passphrase = crate::config::read_secret(passphrase_file)
                .map_err(|m| settings("encrypt_passphrase_file", m))?;
            let passphrase = SecretString::from(passphrase);
            let seal = match bucket.get(IDENTITY_KEY).await? {
                Some(wrapped) => unwrap_identity(&wrapped, &passphrase, bucket)?,
                None if use_ == Use::Upload => create_identity(bucket, &passphrase).await?,
                None => {
                    return Ok(Some(Seal {
                        recipients: Arc::new(Vec::new()),
                        identities: Arc::new(Vec::new()),
                        no_identity: format!(
                            "replication target {target}: the bucket has no {IDENTITY_KEY}, \
                             the key its encrypted sets need (was it removed?)"
                        ),
                    }))
                }
            };
            Ok(Some(seal))
        }
    }
}

/// The identity wrapped in `wrapped`, opened with the passphrase.
fn unwrap_identity(
    wrapped: &[u8],
    passphrase: &SecretString,
    bucket: &Bucket,
) -> Result<Seal, ReplicateError> {
    let target = bucket.target();
    let fail = |m: &str| {
        ReplicateError::Settings(format!(
            "replication target {target}: encrypt_passphrase_file: {m}; nothing was uploaded or \
             read"
        ))
    };
    let d = age::Decryptor::new_buffered(wrapped)
        .map_err(|_| fail(&format!("{IDENTITY_KEY} on the bucket is not an age file")))?;
    if !d.is_scrypt() {
        return Err(fail(&format!(
            "{IDENTITY_KEY} on the bucket is not encrypted with a passphrase"
        )));
    }
    let id = age::scrypt::Identity::new(passphrase.clone());
    let mut r = d
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .map_err(|_| {
            fail(&format!(
                "the passphrase does not open {IDENTITY_KEY} on the bucket (not the passphrase \
             the target's sets were encrypted with)"
            ))
        })?;
    let mut text = String::new();
    Read::read_to_string(&mut r, &mut text)
        .map_err(|_| fail(&format!("{IDENTITY_KEY} on the bucket is damaged")))?;
    let ids = parse_identities(&text)
        .map_err(|_| fail(&format!("{IDENTITY_KEY} on the bucket holds no identity")))?;
    Ok(Seal::of_identities(ids))
}

/// A new identity, stored on the bucket wrapped with the passphrase (`If-None-Match`: when
/// another server stored one meanwhile, that one is used).
async fn create_identity(
    bucket: &Bucket,
    passphrase: &SecretString,
) -> Result<Seal, ReplicateError> {
    let id = x25519::Identity::generate();
    let text = format!(
        "# the age identity of backup-master replication target {}\n{}\n",
        bucket.target(),
        id.to_string().expose_secret()
    );
    let wrapped = wrap_with_passphrase(text.as_bytes(), passphrase, bucket)?;
    match bucket.put_new(IDENTITY_KEY, wrapped).await? {
        Created::New => {
            tracing::info!(target = %bucket.target(), key = IDENTITY_KEY, "stored a new encryption identity on the bucket, wrapped with the passphrase");
            Ok(Seal::of_identities(vec![id]))
        }
        Created::Existed => match bucket.get(IDENTITY_KEY).await? {
            Some(wrapped) => unwrap_identity(&wrapped, passphrase, bucket),
            None => Err(ReplicateError::Remote {
                target: bucket.target().to_string(),
                message: format!("{IDENTITY_KEY} appeared and vanished while it was created"),
            }),
        },
    }
}

fn wrap_with_passphrase(
    plain: &[u8],
    passphrase: &SecretString,
    bucket: &Bucket,
) -> Result<Vec<u8>, ReplicateError> {
    let fail = |e: std::io::Error| {
        ReplicateError::Settings(format!(
            "replication target {}: encrypt_passphrase_file: cannot wrap the identity: {e}",
            bucket.target()
        ))
    };
    let mut out = Vec::new();
    let mut w = age::Encryptor::with_user_passphrase(passphrase.clone())
        .wrap_output(&mut out)
        .map_err(fail)?;
    w.write_all(plain).map_err(fail)?;
    w.finish().map_err(fail)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn keypair() -> (String, String) {
        let id = x25519::Identity::generate();
        (
            id.to_public().to_string(),
            id.to_string().expose_secret().to_string(),
        )
    }

    #[test]
    fn what_is_sealed_opens_with_the_identity_and_not_with_another() {
        let (public, secret) = keypair();
        let (_, other) = keypair();
        let up = Seal::for_upload(&[public.as_str()]).unwrap();
        let plain = b"Kontonummer 4711 of the ledger".repeat(5000);
        let sealed = up.encrypt(&plain).unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"Kontonummer"));
        assert!(sealed.starts_with(AGE_MAGIC));
        assert!(sealed.len() as u64 >= min_sealed_size(plain.len() as u64));
        let down = Seal::for_download(&[secret.as_str()]).unwrap();
        assert_eq!(down.decrypt(&sealed).unwrap(), plain);
        let wrong = Seal::for_download(&[other.as_str()]).unwrap();
        assert!(matches!(wrong.decrypt(&sealed), Err(SealError::WrongKey)));
        assert!(matches!(up.decrypt(&sealed), Err(SealError::NoIdentity(_))));
        let mut flipped = sealed.clone();
        let at = flipped.len() - 40;
        flipped[at] ^= 1;
        assert!(matches!(down.decrypt(&flipped), Err(SealError::Damaged(_))));
    }

    #[test]
    fn a_sealing_in_parts_is_one_age_file() {
        let (public, secret) = keypair();
        let up = Seal::for_upload(&[public]).unwrap();
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = up.sealing().unwrap();
        let mut out = Vec::new();
        for piece in plain.chunks(70_000) {
            s.push(piece).unwrap();
            while let Some(p) = s.take(50_000) {
                assert_eq!(p.len(), 50_000);
                out.extend(p);
            }
        }
        out.extend(s.finish().unwrap());
        let down = Seal::for_download(&[secret]).unwrap();
        assert_eq!(down.decrypt(&out).unwrap(), plain);
    }

    #[tokio::test]
    async fn a_stream_decrypts_as_it_arrives_and_a_flip_is_an_error() {
        let (public, secret) = keypair();
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
        let sealed = Seal::for_upload(&[public])
            .unwrap()
            .encrypt(&plain)
            .unwrap();
        let down = Seal::for_download(&[secret]).unwrap();
        let chunks = |bytes: Vec<u8>| {
            futures_util::stream::iter(
                bytes
                    .chunks(10_000)
                    .map(|c| Ok(c.to_vec()))
                    .collect::<Vec<_>>(),
            )
            .boxed()
        };
        let got: Vec<Vec<u8>> = down
            .open_stream(chunks(sealed.clone()), "t", "blob x")
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.concat(), plain);
        let mut flipped = sealed;
        flipped[1000] ^= 0x10;
        let r: Result<Vec<Vec<u8>>, _> = down
            .open_stream(chunks(flipped), "t", "blob x")
            .try_collect()
            .await;
        match r {
            Err(ReplicateError::Remote { message, .. }) => assert!(message.contains("blob x")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_files_are_refused_by_line_without_showing_it() {
        let (public, secret) = keypair();
        assert_eq!(
            parse_recipients(&format!("# offsite key\n\n{public}\n"))
                .unwrap()
                .len(),
            1
        );
        let e = parse_recipients(&format!("{public}\n{secret}\n")).unwrap_err();
        assert!(e.contains("line 2") && !e.contains(&secret[15..]), "{e}");
        assert!(parse_recipients("# nothing\n").is_err());
        let Err(e) = parse_identities(&format!("{public}\n")) else {
            panic!("a recipient taken for an identity")
        };
        assert!(e.contains("line 1") && !e.contains(&public[5..]), "{e}");
        assert!(
            format!("{:?}", Seal::for_download(&[secret.as_str()]).unwrap())
                .starts_with("Seal(1 recipient(s)")
        );
    }

    #[test]
    fn a_wrapped_identity_opens_only_with_its_passphrase() {
        let (_, secret) = keypair();
        let pass = SecretString::from("correct horse battery".to_string());
        let mut r = age::scrypt::Recipient::new(pass.clone());
        // a cheap work factor: the format is the same, the test is fast
        r.set_work_factor(10);
        let mut wrapped = Vec::new();
        let mut w = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
            .unwrap()
            .wrap_output(&mut wrapped)
            .unwrap();
        w.write_all(secret.as_bytes()).unwrap();
        w.finish().unwrap();
        let t = crate::config::ReplicationTargetSettings {
            endpoint: "http://127.0.0.1:9".into(),
            bucket: "bbb".into(),
            path_style: Some(true),
            ..Default::default()
        }
        .check("t", Path::new("/"), "")
        .unwrap();
        std::env::set_var("BACKUP_MASTER_S3_T_ACCESS_KEY", "a");
        std::env::set_var("BACKUP_MASTER_S3_T_SECRET_KEY", "b");
        let bucket = Bucket::open(&t).unwrap();
        let seal = unwrap_identity(&wrapped, &pass, &bucket).unwrap();
        assert!(seal.can_decrypt());
        let wrong = SecretString::from("wrong horse".to_string());
        let e = unwrap_identity(&wrapped, &wrong, &bucket)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("replication target t") && e.contains("encrypt_passphrase_file"),
            "{e}"
        );
        assert!(
            !e.contains("wrong horse") && !e.contains(&secret[15..]),
            "{e}"
        );
    }
}
