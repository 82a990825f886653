//! SHA-256 of a stream read chunk by chunk: the one read-and-hash loop of the tree copy (copy
//! and clone check) and of verification.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// Reads `input` to its end through `buf`, hashing every byte; `chunk` sees each chunk after
/// it is hashed (to write it elsewhere, count it, stop when cancelled). A read error becomes
/// `read_error(e)`; a read interrupted by a signal is retried. Returns the digest and the
/// number of bytes read.
pub fn sha256_stream<E>(
    input: &mut impl Read,
    buf: &mut [u8],
    read_error: impl Fn(io::Error) -> E,
    mut chunk: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<([u8; 32], u64), E> {
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        let n = match input.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
        chunk(&buf[..n])?;
    }
    Ok((hasher.finalize().into(), total))
}
