//! JWTs (HS256). Access tokens carry the session id and its secret; refresh tokens also carry
//! the session's refresh generation. The signing secret lives in `<data_dir>/jwt.secret` (mode 0600),
//! made on first start and never logged.

use crate::db::ids::UserId;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::error::AppError;

pub const SECRET_FILE: &str = "jwt.secret";
const SECRET_BYTES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: i64,
    /// The session's secret: ids alone could match a later session that reused them.
    #[serde(default)]
    pub sk: String,
    pub typ: TokenKind,
    /// Refresh generation (refresh tokens only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen: Option<i64>,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    pub fn user_id(&self) -> Result<UserId, AuthError> {
        self.sub
            .parse()
            .map(UserId)
            .map_err(|_| AuthError::InvalidToken)
    }
}

#[derive(Clone)]
pub struct TokenKeys {
    /// A key for other signatures (file URLs), derived from the secret so it never signs a JWT.
    derived: [u8; 32],
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            derived: derive_key(secret, b"photox file url signing"),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Reads the secret from `data_dir`, creating it (0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, AppError> {
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let secret = base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|_| AppError::Internal(format!("{SECRET_FILE} is corrupt")))?;
                if secret.len() < 32 {
                    return Err(AppError::Internal(format!("{SECRET_FILE} is too short")));
                }
                Ok(Self::from_secret(&secret))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = vec![0u8; SECRET_BYTES];
                rand::rng().fill_bytes(&mut secret);
                let text = base64::engine::general_purpose::STANDARD.encode(&secret);
                write_private_file(&path, text.as_bytes())?;
                Ok(Self::from_secret(&secret))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The key for signing file URLs.
    pub fn url_key(&self) -> [u8; 32] {
        self.derived
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, AppError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token signing failed: {e}")))
    }

    /// Checks signature, expiry and kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::TokenExpired,
                _ => AuthError::InvalidToken,
            })?;
        if data.claims.typ != kind {
            return Err(AuthError::InvalidToken);
        }
        Ok(data.claims)
    }
}

fn derive_key(secret: &[u8], purpose: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(purpose);
    mac.finalize().into_bytes().into()
}

/// Creates `path` with mode 0600 (failing if it exists), writes and fsyncs it.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(kind: TokenKind, exp_offset: i64) -> Claims {
        let now = crate::db::now();
        Claims {
            sub: "7".into(),
            sid: 3,
            sk: "s3cr3t".into(),
            typ: kind,
            gen: None,
            iat: now,
            exp: now + exp_offset,
        }
    }

    #[test]
    fn round_trip_keeps_claims() {
        let keys = TokenKeys::from_secret(&[1; 32]);
        let c = claims(TokenKind::Access, 60);
        let token = keys.issue(&c).unwrap();
        assert_eq!(keys.verify(&token, TokenKind::Access).unwrap(), c);
    }

    #[test]
    fn wrong_kind_is_refused() {
        let keys = TokenKeys::from_secret(&[1; 32]);
        let token = keys.issue(&claims(TokenKind::Refresh, 60)).unwrap();
        assert_eq!(
            keys.verify(&token, TokenKind::Access),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn expired_is_told_apart() {
        let keys = TokenKeys::from_secret(&[1; 32]);
        let token = keys.issue(&claims(TokenKind::Access, -5)).unwrap();
        assert_eq!(
            keys.verify(&token, TokenKind::Access),
            Err(AuthError::TokenExpired)
        );
    }

    #[test]
    fn other_secret_or_tampering_is_refused() {
        let keys = TokenKeys::from_secret(&[1; 32]);
        let other = TokenKeys::from_secret(&[2; 32]);
        let token = other.issue(&claims(TokenKind::Access, 60)).unwrap();
        assert_eq!(
            keys.verify(&token, TokenKind::Access),
            Err(AuthError::InvalidToken)
        );
        // Change a character in the middle of the signature: every bit of it counts (the last
        // one carries unused padding bits).
        let good = keys.issue(&claims(TokenKind::Access, 60)).unwrap();
        let at = good.len() - 10;
        let replacement = if &good[at..=at] == "A" { "B" } else { "A" };
        let mut tampered = good.clone();
        tampered.replace_range(at..=at, replacement);
        assert_ne!(tampered, good);
        assert!(keys.verify(&tampered, TokenKind::Access).is_err());
        assert_eq!(
            keys.verify("garbage", TokenKind::Access),
            Err(AuthError::InvalidToken)
        );
    }

    #[test]
    fn secret_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let a = TokenKeys::load_or_create(dir.path()).unwrap();
        let token = a.issue(&claims(TokenKind::Access, 60)).unwrap();
        let b = TokenKeys::load_or_create(dir.path()).unwrap();
        assert!(b.verify(&token, TokenKind::Access).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
