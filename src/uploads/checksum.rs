//! The checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` covers the bytes of
//! one request. Photox computes it while the chunk is written; a chunk that does not match is
//! dropped (the upload is cut back to where the chunk began).

use base64::Engine;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::UploadError;

/// The algorithms `OPTIONS` announces in `Tus-Checksum-Algorithm`.
pub const ALGORITHMS: &str = "sha1,sha256,md5";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Md5,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "md5" => Some(Algorithm::Md5),
            _ => None,
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Md5 => 16,
        }
    }
}

/// What a chunk must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkChecksum {
    pub algorithm: Algorithm,
    pub expected: Vec<u8>,
}

impl ChunkChecksum {
    /// Reads an `Upload-Checksum` value.
    pub fn parse(header: &str) -> Result<Self, UploadError> {
        let bad = |message: &str| UploadError::BadHeader {
            header: "Upload-Checksum",
            message: message.to_string(),
        };
        let (name, digest) = header
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad("must be an algorithm and a base64 digest"))?;
        let algorithm = Algorithm::parse(name)
            .ok_or_else(|| bad(&format!("algorithm must be one of {ALGORITHMS}")))?;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| bad("digest is not valid base64"))?;
        if expected.len() != algorithm.digest_len() {
            return Err(bad("digest has the wrong length for its algorithm"));
        }
        Ok(ChunkChecksum {
            algorithm,
            expected,
        })
    }

    pub fn hasher(&self) -> ChunkHasher {
        match self.algorithm {
            Algorithm::Sha1 => ChunkHasher::Sha1(Sha1::new()),
            Algorithm::Sha256 => ChunkHasher::Sha256(Sha256::new()),
            Algorithm::Md5 => ChunkHasher::Md5(Md5::new()),
        }
    }
}

/// A running digest of one chunk.
#[derive(Clone)]
pub enum ChunkHasher {
    Sha1(Sha1),
    Sha256(Sha256),
    Md5(Md5),
}

impl ChunkHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            ChunkHasher::Sha1(h) => h.update(bytes),
            ChunkHasher::Sha256(h) => h.update(bytes),
            ChunkHasher::Md5(h) => h.update(bytes),
        }
    }

    pub fn finalize(self) -> Vec<u8> {
        match self {
            ChunkHasher::Sha1(h) => h.finalize().to_vec(),
            ChunkHasher::Sha256(h) => h.finalize().to_vec(),
            ChunkHasher::Md5(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum_of(name: &str, digest: &[u8]) -> String {
        format!(
            "{name} {}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    }

    #[test]
    fn each_algorithm_hashes_the_chunk() {
        // Known digests of "abc".
        let cases = [
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ];
        for (name, hex) in cases {
            let digest: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let checksum = ChunkChecksum::parse(&checksum_of(name, &digest)).unwrap();
            let mut hasher = checksum.hasher();
            hasher.update(b"a");
            hasher.update(b"bc");
            assert_eq!(hasher.finalize(), checksum.expected, "{name}");
        }
    }

    #[test]
    fn unknown_algorithms_and_bad_digests_are_refused() {
        for header in [
            "crc32 AAAAAA==",
            "sha1",
            "sha1 not-base64!",
            &checksum_of("sha1", &[0; 19]),
            &checksum_of("sha256", &[0; 20]),
        ] {
            assert!(
                matches!(
                    ChunkChecksum::parse(header),
                    Err(UploadError::BadHeader { .. })
                ),
                "{header}"
            );
        }
        assert!(ChunkChecksum::parse(&checksum_of("SHA1", &[0; 20])).is_ok());
    }
}
