//! Signed file URLs: `<img src>` cannot send an Authorization header, so the URLs in a Photo
//! carry `exp` and `sig`, an HMAC bound to the photo, the size and the expiry. "The photo" is its
//! id and its storage key (a random uuid no other photo ever has), so a URL dies with its photo
//! even if another photo were to get the same id.

use crate::db::ids::PhotoId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC kept in the URL (128 bits).
const SIG_BYTES: usize = 16;

/// What a file URL is bound to: the photo's id and its storage key.
#[derive(Debug, Clone, Copy)]
pub struct PhotoKey<'a> {
    pub id: PhotoId,
    pub key: &'a str,
}

#[derive(Clone)]
pub struct UrlSigner {
    /// The HMAC with its key already absorbed: each signature clones it instead of hashing the
    /// key's inner and outer blocks again (two of the four SHA-256 blocks a signature costs).
    keyed: Hmac<Sha256>,
}

impl UrlSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            keyed: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length"),
        }
    }

    /// The expiry for URLs made at `now`: the end of the next whole hour, so a URL works for one
    /// to two hours and stays the same within an hour (browsers can cache it).
    pub fn expiry(now: i64) -> i64 {
        (now.div_euclid(3600) + 2) * 3600
    }

    fn mac(&self, photo: PhotoKey<'_>, size: &str, exp: i64) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(format!("photo-file:{}:{}:{size}:{exp}", photo.id, photo.key).as_bytes());
        mac
    }

    pub fn sign(&self, photo: PhotoKey<'_>, size: &str, exp: i64) -> String {
        let tag = self.mac(photo, size, exp).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..SIG_BYTES])
    }

    /// True for an unexpired signature made by `sign` for exactly this photo, size and expiry.
    pub fn verify(&self, photo: PhotoKey<'_>, size: &str, exp: i64, sig: &str, now: i64) -> bool {
        if exp < now {
            return false;
        }
        match URL_SAFE_NO_PAD.decode(sig) {
            Ok(bytes) if bytes.len() == SIG_BYTES => self
                .mac(photo, size, exp)
                .verify_truncated_left(&bytes)
                .is_ok(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_photo_size_and_expiry() {
        let s = UrlSigner::new([7; 32]);
        let exp = UrlSigner::expiry(10_000);
        assert!(exp - 10_000 >= 3600);
        let p = PhotoKey {
            id: PhotoId(5),
            key: "u1",
        };
        let sig = s.sign(p, "thumbnail", exp);
        assert!(s.verify(p, "thumbnail", exp, &sig, 10_000));
        assert!(!s.verify(
            PhotoKey {
                id: PhotoId(6),
                ..p
            },
            "thumbnail",
            exp,
            &sig,
            10_000
        ));
        assert!(
            !s.verify(PhotoKey { key: "u2", ..p }, "thumbnail", exp, &sig, 10_000),
            "another photo that got the same id"
        );
        assert!(!s.verify(p, "original", exp, &sig, 10_000));
        assert!(!s.verify(p, "thumbnail", exp + 1, &sig, 10_000));
        assert!(!s.verify(p, "thumbnail", exp, &sig, exp + 1), "expired");
        assert!(!s.verify(p, "thumbnail", exp, "garbage", 10_000));
        assert!(!UrlSigner::new([8; 32]).verify(p, "thumbnail", exp, &sig, 10_000));
    }

    #[test]
    fn signatures_are_those_of_a_freshly_keyed_hmac() {
        let s = UrlSigner::new([7; 32]);
        let mut fresh = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
        fresh.update(b"photo-file:5:u1:thumbnail:7200");
        let tag = fresh.finalize().into_bytes();
        assert_eq!(
            s.sign(
                PhotoKey {
                    id: PhotoId(5),
                    key: "u1"
                },
                "thumbnail",
                7200
            ),
            URL_SAFE_NO_PAD.encode(&tag[..SIG_BYTES])
        );
    }

    #[test]
    fn urls_are_stable_within_an_hour() {
        assert_eq!(UrlSigner::expiry(7200), UrlSigner::expiry(7200 + 3599));
    }
}
