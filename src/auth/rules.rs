//! Field rules for accounts (API.md §3–4). Pure functions; each adds to a `ValidationErrors`.

use crate::error::ValidationErrors;

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 256;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const BIO_MAX: usize = 1000;
pub const URL_MAX: usize = 2048;

/// 3–32 characters of `[A-Za-z0-9_.-]`.
pub fn check_username(errors: &mut ValidationErrors, field: &str, username: &str) {
    let len = username.chars().count();
    if len < 3 {
        errors.add(field, "must be at least 3 characters", "TOO_SHORT");
    } else if len > 32 {
        errors.add(field, "must be at most 32 characters", "TOO_LONG");
    } else if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        errors.add(
            field,
            "may only contain letters, digits, '_', '.' and '-'",
            "INVALID_FORMAT",
        );
    }
}

pub fn check_password(errors: &mut ValidationErrors, field: &str, password: &str) {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        errors.add(field, "must be at least 8 characters", "TOO_SHORT");
    } else if len > PASSWORD_MAX {
        errors.add(field, "must be at most 256 characters", "TOO_LONG");
    }
}

pub fn check_email(errors: &mut ValidationErrors, field: &str, email: &str) {
    if !is_valid_email(email) {
        errors.add(field, "is not a valid email address", "INVALID_FORMAT");
    }
}

fn is_valid_email(email: &str) -> bool {
    if email.chars().count() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

pub fn check_max_len(errors: &mut ValidationErrors, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(
            field,
            &format!("must be at most {max} characters"),
            "TOO_LONG",
        );
    }
}

/// An avatar URL is an absolute http(s) URL or a path on this server.
pub fn check_avatar_url(errors: &mut ValidationErrors, field: &str, url: &str) {
    check_max_len(errors, field, url, URL_MAX);
    let ok = url.is_empty()
        || url.starts_with("https://")
        || url.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"));
    if !ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.add(
            field,
            "must be an http(s) URL or a path on this server",
            "INVALID_FORMAT",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(f: impl FnOnce(&mut ValidationErrors)) -> Vec<&'static str> {
        let mut e = ValidationErrors::default();
        f(&mut e);
        e.details.iter().map(|d| d.code).collect()
    }

    #[test]
    fn usernames() {
        assert!(codes(|e| check_username(e, "u", "ann.b-c_9")).is_empty());
        assert_eq!(codes(|e| check_username(e, "u", "ab")), ["TOO_SHORT"]);
        assert_eq!(
            codes(|e| check_username(e, "u", &"a".repeat(33))),
            ["TOO_LONG"]
        );
        assert_eq!(
            codes(|e| check_username(e, "u", "ann smith")),
            ["INVALID_FORMAT"]
        );
        assert_eq!(codes(|e| check_username(e, "u", "änn")), ["INVALID_FORMAT"]);
    }

    #[test]
    fn passwords() {
        assert_eq!(codes(|e| check_password(e, "p", "1234567")), ["TOO_SHORT"]);
        assert!(codes(|e| check_password(e, "p", "12345678")).is_empty());
        assert!(codes(|e| check_password(e, "p", "密码密码密码密码")).is_empty());
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("ann@example.org"));
        for bad in [
            "ann",
            "ann@",
            "@x.org",
            "a@b",
            "a b@x.org",
            "a@x..org",
            "a@@x.org",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn avatar_urls() {
        assert!(codes(|e| check_avatar_url(e, "a", "https://x.org/a.png")).is_empty());
        assert!(codes(|e| check_avatar_url(e, "a", "/api/v1/users/1/avatar")).is_empty());
        assert_eq!(
            codes(|e| check_avatar_url(e, "a", "javascript:alert(1)")),
            ["INVALID_FORMAT"]
        );
        assert_eq!(
            codes(|e| check_avatar_url(e, "a", "//evil.org/x")),
            ["INVALID_FORMAT"]
        );
    }
}
