//! Streamed, chunked AEAD for backups: AES-256-GCM in the STREAM construction (big-endian 32-bit
//! counter and last-chunk flag, from the `aead` crate's `stream` module).
//!
//! An encrypted object is a header followed by chunks:
//!
//! ```text
//! "CNBK" | version (1 byte, = 1) | chunk size (u32 big-endian) | key id length (1 byte) | key id
//!        | nonce prefix (7 random bytes)
//! chunk 0 .. chunk n-1: chunk-size bytes of plaintext + 16-byte tag each
//! last chunk: 0..=chunk-size bytes of plaintext + 16-byte tag, sealed with the "last" flag
//! ```
//!
//! Every chunk is authenticated with the whole header as associated data, so a changed header,
//! a reordered, dropped or changed chunk, and a stream cut at any point (the last chunk carries
//! the STREAM "last" flag) all fail to decrypt.

use aead::stream::{DecryptorBE32, EncryptorBE32};
use aes_gcm::aead::KeyInit;
use aes_gcm::{Aes256Gcm, Key};
use rand::RngCore;
use rand::rngs::OsRng;

use super::key::BackupKey;

/// The magic bytes that start an encrypted backup.
pub(crate) const MAGIC: &[u8; 4] = b"CNBK";
/// The format version written.
pub(crate) const VERSION: u8 = 1;
/// Plaintext bytes per chunk (1 MiB).
pub(crate) const DEFAULT_CHUNK: usize = 1024 * 1024;
/// The algorithm named in manifests.
pub(crate) const ALGORITHM: &str = "AES-256-GCM STREAM-BE32";
const TAG_LEN: usize = 16;
const NONCE_PREFIX_LEN: usize = 7;
const MAX_CHUNK: usize = 64 * 1024 * 1024;

/// Why an encrypted stream could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CryptError {
    /// The header names another key.
    OtherKey(String),
    /// The header is not one this code writes.
    BadHeader(&'static str),
    /// A chunk failed authentication; `0` is the first chunk (a wrong key shows there).
    Auth { chunk: u64 },
    /// The stream ended before its last chunk (or inside the header).
    Truncated,
}

impl std::fmt::Display for CryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OtherKey(id) => write!(f, "encrypted with key {id:?}"),
            Self::BadHeader(why) => write!(f, "bad encryption header: {why}"),
            Self::Auth { chunk } => write!(f, "chunk {chunk} failed authentication (tampered or wrong key)"),
            Self::Truncated => f.write_str("the encrypted stream is truncated"),
        }
    }
}

fn cipher(key: &BackupKey) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.bytes()))
}

/// Encrypts a stream pushed in pieces of any size.
pub(crate) struct StreamEncryptor {
    enc: EncryptorBE32<Aes256Gcm>,
    aad: Vec<u8>,
    buf: Vec<u8>,
    chunk: usize,
}

impl StreamEncryptor {
    /// An encryptor under `key` with `chunk` plaintext bytes per chunk, and the header to write
    /// first.
    pub(crate) fn new(key: &BackupKey, chunk: usize) -> (Self, Vec<u8>) {
        let chunk = chunk.clamp(1024, MAX_CHUNK);
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        OsRng.fill_bytes(&mut prefix);
        let mut header = Vec::with_capacity(4 + 1 + 4 + 1 + key.id().len() + NONCE_PREFIX_LEN);
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        header.extend_from_slice(&u32::try_from(chunk).unwrap_or(u32::MAX).to_be_bytes());
        header.push(u8::try_from(key.id().len()).unwrap_or(u8::MAX));
        header.extend_from_slice(key.id().as_bytes());
        header.extend_from_slice(&prefix);
        let enc = EncryptorBE32::from_aead(cipher(key), prefix.as_slice().into());
        (Self { enc, aad: header.clone(), buf: Vec::with_capacity(chunk + TAG_LEN), chunk }, header)
    }

    /// Encrypt `data`, appending finished chunks to `out`.
    pub(crate) fn push(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptError> {
        while !data.is_empty() {
            if self.buf.len() == self.chunk {
                // More data follows, so this full chunk is not the last.
                self.enc
                    .encrypt_next_in_place(self.aad.as_slice(), &mut self.buf)
                    .map_err(|_| CryptError::BadHeader("encryption failed"))?;
                out.extend_from_slice(&self.buf);
                self.buf.clear();
            }
            let take = (self.chunk - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seal the last chunk (possibly empty) into `out`.
    pub(crate) fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptError> {
        self.enc
            .encrypt_last_in_place(self.aad.as_slice(), &mut self.buf)
            .map_err(|_| CryptError::BadHeader("encryption failed"))?;
        out.extend_from_slice(&self.buf);
        Ok(())
    }
}

/// What a decryptor is reading.
enum DecState {
    Header(Vec<u8>),
    Body { dec: Box<DecryptorBE32<Aes256Gcm>>, aad: Vec<u8>, buf: Vec<u8>, chunk: usize, index: u64 },
}

/// Decrypts a stream pushed in pieces of any size.
pub(crate) struct StreamDecryptor {
    key: BackupKey,
    state: DecState,
}

impl StreamDecryptor {
    /// A decryptor with `key`.
    pub(crate) fn new(key: BackupKey) -> Self {
        Self { key, state: DecState::Header(Vec::new()) }
    }

    /// The key id a header names, when `data` starts with a complete header.
    #[cfg(test)]
    pub(crate) fn header_key_id(data: &[u8]) -> Result<Option<String>, CryptError> {
        Ok(parse_header(data)?.map(|h| h.key_id))
    }

    /// Decrypt `data`, appending the plaintext of finished chunks to `out`.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptError> {
        if let DecState::Header(buf) = &mut self.state {
            buf.extend_from_slice(data);
            let Some(header) = parse_header(buf)? else { return Ok(()) };
            if header.key_id != self.key.id() {
                return Err(CryptError::OtherKey(header.key_id));
            }
            let rest = buf.split_off(header.len);
            let aad = std::mem::take(buf);
            let dec = DecryptorBE32::from_aead(cipher(&self.key), header.prefix.as_slice().into());
            self.state = DecState::Body { dec: Box::new(dec), aad, buf: Vec::new(), chunk: header.chunk, index: 0 };
            return self.push(&rest, out);
        }
        let DecState::Body { dec, aad, buf, chunk, index } = &mut self.state else { return Ok(()) };
        buf.extend_from_slice(data);
        let sealed = *chunk + TAG_LEN;
        // A full sealed chunk followed by more bytes is not the last one.
        while buf.len() > sealed {
            let rest = buf.split_off(sealed);
            let mut piece = std::mem::replace(buf, rest);
            dec.decrypt_next_in_place(aad.as_slice(), &mut piece).map_err(|_| CryptError::Auth { chunk: *index })?;
            out.extend_from_slice(&piece);
            *index += 1;
        }
        Ok(())
    }

    /// Open the last chunk, appending its plaintext to `out`.
    pub(crate) fn finish(self, out: &mut Vec<u8>) -> Result<(), CryptError> {
        match self.state {
            DecState::Header(_) => Err(CryptError::Truncated),
            DecState::Body { dec, aad, mut buf, index, .. } => {
                if buf.len() < TAG_LEN {
                    return Err(CryptError::Truncated);
                }
                dec.decrypt_last_in_place(aad.as_slice(), &mut buf).map_err(|_| {
                    // A stream cut at a chunk boundary ends on a chunk sealed as "not last".
                    if index > 0 { CryptError::Truncated } else { CryptError::Auth { chunk: index } }
                })?;
                out.extend_from_slice(&buf);
                Ok(())
            }
        }
    }
}

struct Header {
    len: usize,
    chunk: usize,
    key_id: String,
    prefix: [u8; NONCE_PREFIX_LEN],
}

/// The header at the start of `data`: `None` while it is incomplete.
fn parse_header(data: &[u8]) -> Result<Option<Header>, CryptError> {
    let have = data.len().min(4);
    if data[..have] != MAGIC[..have] {
        return Err(CryptError::BadHeader("not an encrypted ClientNest backup"));
    }
    if data.len() < 10 {
        return Ok(None);
    }
    if data[4] != VERSION {
        return Err(CryptError::BadHeader("unsupported version"));
    }
    let chunk = u32::from_be_bytes([data[5], data[6], data[7], data[8]]) as usize;
    if !(1024..=MAX_CHUNK).contains(&chunk) {
        return Err(CryptError::BadHeader("chunk size out of range"));
    }
    let id_len = usize::from(data[9]);
    let len = 10 + id_len + NONCE_PREFIX_LEN;
    if data.len() < len {
        return Ok(None);
    }
    let key_id = std::str::from_utf8(&data[10..10 + id_len])
        .ok()
        .filter(|id| super::key::is_valid_key_id(id))
        .ok_or(CryptError::BadHeader("bad key id"))?
        .to_owned();
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    prefix.copy_from_slice(&data[10 + id_len..len]);
    Ok(Some(Header { len, chunk, key_id, prefix }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(id: &str, b: u8) -> BackupKey {
        BackupKey::new(id, [b; 32]).unwrap()
    }

    fn encrypt(k: &BackupKey, data: &[u8], chunk: usize, piece: usize) -> Vec<u8> {
        let (mut enc, mut out) = StreamEncryptor::new(k, chunk);
        for p in data.chunks(piece.max(1)) {
            enc.push(p, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        out
    }

    fn decrypt(k: &BackupKey, data: &[u8], piece: usize) -> Result<Vec<u8>, CryptError> {
        let mut dec = StreamDecryptor::new(k.clone());
        let mut out = Vec::new();
        for p in data.chunks(piece.max(1)) {
            dec.push(p, &mut out)?;
        }
        dec.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_every_size_and_piece_size() {
        let k = key("k1", 1);
        for len in [0usize, 1, 1023, 1024, 1025, 2048, 5000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for piece in [1usize, 100, 1024, 4096] {
                let sealed = encrypt(&k, &data, 1024, piece);
                assert_eq!(decrypt(&k, &sealed, 333).unwrap(), data, "len {len} piece {piece}");
            }
        }
    }

    #[test]
    fn wrong_key_tamper_and_truncation_are_told_apart() {
        let k = key("k1", 1);
        let data = vec![42u8; 4000];
        let sealed = encrypt(&k, &data, 1024, 512);
        assert_eq!(decrypt(&key("k2", 1), &sealed, 100), Err(CryptError::OtherKey("k1".into())));
        assert_eq!(decrypt(&key("k1", 2), &sealed, 100), Err(CryptError::Auth { chunk: 0 }));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(decrypt(&k, &tampered, 100).is_err());
        let mut tampered = sealed.clone();
        tampered[30 + 1040 + 5] ^= 1;
        assert_eq!(decrypt(&k, &tampered, 100), Err(CryptError::Auth { chunk: 1 }));
        // Cut at a chunk boundary and in the middle of a chunk.
        let header_len = 10 + 2 + 7;
        assert_eq!(decrypt(&k, &sealed[..header_len + 2 * (1024 + 16)], 100), Err(CryptError::Truncated));
        assert!(decrypt(&k, &sealed[..sealed.len() - 10], 100).is_err());
        assert_eq!(decrypt(&k, &sealed[..5], 100), Err(CryptError::Truncated));
        assert!(matches!(decrypt(&k, b"PGDMP....", 100), Err(CryptError::BadHeader(_))));
        assert_eq!(StreamDecryptor::header_key_id(&sealed).unwrap().as_deref(), Some("k1"));
    }
}
