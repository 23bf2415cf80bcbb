//! Strings with a published shape (usernames, passwords, email addresses): one definition each,
//! used by every request body that takes one, so their limits read the same everywhere in the
//! OpenAPI document and `body_check` enforces them.
//!
//! Patterns use explicit character classes instead of `\s` or `\d`, whose meaning differs
//! between regex engines: the server (Rust `regex`), clients and schema tools (ECMA 262,
//! Python) must agree on every string.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The rules of one kind of string.
pub trait TextRule: Send + Sync + 'static {
    const DESCRIPTION: &'static str;
    const MIN_LENGTH: Option<usize> = None;
    const MAX_LENGTH: Option<usize> = None;
    const PATTERN: Option<&'static str> = None;
    /// Changes the schema beyond the constants above.
    fn refine(_schema: &mut MetaSchema) {}
}

/// White space as Rust's `char::is_whitespace` sees it (Unicode White_Space).
macro_rules! ws {
    () => {
        r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}
/// Control characters as Rust's `char::is_control` sees them (Unicode Cc).
macro_rules! cc {
    () => {
        r"\x00-\x1F\x7F-\x9F"
    };
}

/// 3–32 of `[A-Za-z0-9_.-]` (API.md §3).
pub struct UsernameRule;
impl TextRule for UsernameRule {
    const DESCRIPTION: &'static str =
        "3–32 characters of A–Z, a–z, 0–9, `_`, `.` and `-`; unique case-insensitively.";
    const PATTERN: Option<&'static str> = Some(r"^[A-Za-z0-9_.\-]{3,32}$");
}

/// 8–256 characters (API.md §3).
pub struct PasswordRule;
impl TextRule for PasswordRule {
    const DESCRIPTION: &'static str = "8–256 characters.";
    const MIN_LENGTH: Option<usize> = Some(8);
    const MAX_LENGTH: Option<usize> = Some(256);
}

/// An address `local@domain.tld` without white space or control characters, or `""` for none.
pub struct EmailRule;
impl TextRule for EmailRule {
    const DESCRIPTION: &'static str = "An email address (`local@domain.tld`, no white space or control characters, at most 254 characters); an empty string for none.";
    const MAX_LENGTH: Option<usize> = Some(254);
    const PATTERN: Option<&'static str> = Some(concat!(
        "^$|^[^@",
        ws!(),
        cc!(),
        "]+@[^@.",
        ws!(),
        cc!(),
        r"]+(\.[^@.",
        ws!(),
        cc!(),
        "]+)+$"
    ));
}

/// An avatar link: an http(s) URL or a path on this server, or `""` for none.
pub struct AvatarUrlRule;
impl TextRule for AvatarUrlRule {
    const DESCRIPTION: &'static str = "An http(s) URL or an absolute path on this server, without white space or control characters (at most 2048 characters); an empty string for none.";
    const MAX_LENGTH: Option<usize> = Some(2048);
    const PATTERN: Option<&'static str> = Some(concat!(
        "^$|^https?://[^",
        ws!(),
        cc!(),
        "]*$|^/([^/",
        ws!(),
        cc!(),
        "][^",
        ws!(),
        cc!(),
        "]*)?$"
    ));
}

/// An RFC 3339 time, or `""`.
pub struct DateTimeOrEmptyRule;
impl TextRule for DateTimeOrEmptyRule {
    const DESCRIPTION: &'static str = "An RFC 3339 time (any offset), or an empty string.";
    fn refine(schema: &mut MetaSchema) {
        let time = MetaSchema::new_with_format("string", "date-time");
        let mut empty = MetaSchema::new("string");
        empty.max_length = Some(0);
        schema.any_of = vec![
            MetaSchemaRef::Inline(Box::new(time)),
            MetaSchemaRef::Inline(Box::new(empty)),
        ];
    }
}

/// An album's title: 1–200 characters, not only white space.
pub struct AlbumTitleRule;
impl TextRule for AlbumTitleRule {
    const DESCRIPTION: &'static str = "At most 200 characters, not empty and not only white space.";
    const MAX_LENGTH: Option<usize> = Some(200);
    const PATTERN: Option<&'static str> = Some(concat!("[^", ws!(), "]"));
}

/// A family's name: 1–100 characters, not only white space.
pub struct FamilyNameRule;
impl TextRule for FamilyNameRule {
    const DESCRIPTION: &'static str = "At most 100 characters, not empty and not only white space.";
    const MAX_LENGTH: Option<usize> = Some(100);
    const PATTERN: Option<&'static str> = Some(concat!("[^", ws!(), "]"));
}

/// An invite code as typed: case, white space and dashes do not matter, but something else
/// must be there.
pub struct InviteCodeRule;
impl TextRule for InviteCodeRule {
    const DESCRIPTION: &'static str =
        "The family's invite code; case, white space and dashes are ignored.";
    const PATTERN: Option<&'static str> = Some(concat!(r"[^\-", ws!(), "]"));
}

/// A string following the rules `R`.
pub struct Text<R>(pub String, PhantomData<R>);

pub type Username = Text<UsernameRule>;
pub type Password = Text<PasswordRule>;
pub type Email = Text<EmailRule>;
pub type AvatarUrl = Text<AvatarUrlRule>;
pub type DateTimeOrEmpty = Text<DateTimeOrEmptyRule>;
pub type AlbumTitle = Text<AlbumTitleRule>;
pub type FamilyName = Text<FamilyNameRule>;
pub type InviteCode = Text<InviteCodeRule>;

impl<R> Text<R> {
    pub fn new(text: impl Into<String>) -> Self {
        Text(text.into(), PhantomData)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<R> std::fmt::Debug for Text<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de, R> Deserialize<'de> for Text<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::new)
    }
}

impl<R: TextRule> Type for Text<R> {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("string");
        schema.description = Some(R::DESCRIPTION);
        schema.min_length = R::MIN_LENGTH;
        schema.max_length = R::MAX_LENGTH;
        schema.pattern = R::PATTERN.map(String::from);
        R::refine(&mut schema);
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<R: TextRule> ParseFromJSON for Text<R> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) => Ok(Text::new(s)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl<R: TextRule> ToJSON for Text<R> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fits<R: TextRule>(text: &str) -> bool {
        let len = text.chars().count();
        R::MIN_LENGTH.is_none_or(|m| len >= m)
            && R::MAX_LENGTH.is_none_or(|m| len <= m)
            && R::PATTERN.is_none_or(|p| regex::Regex::new(p).unwrap().is_match(text))
    }

    #[test]
    fn email_pattern_is_the_server_rule() {
        for ok in ["", "ann@example.org", "a.b+c@x.y.z", "ü@bücher.de"] {
            assert!(fits::<EmailRule>(ok), "{ok:?}");
        }
        for bad in [
            "ann",
            "ann@",
            "@x.org",
            "a@b",
            "a b@x.org",
            "a@x..org",
            "a@@x.org",
            " a@x.org",
            "a@x.org.",
            "a@.x.org",
            "a\u{3000}b@x.org",
            "a\u{1}@x.org",
        ] {
            assert!(!fits::<EmailRule>(bad), "{bad:?}");
        }
    }

    #[test]
    fn usernames_and_links() {
        assert!(fits::<UsernameRule>("ann.b-c_9"));
        assert!(!fits::<UsernameRule>("änn"));
        assert!(!fits::<UsernameRule>("ab"));
        for ok in ["", "/", "/api/v1/users/1/avatar", "https://x.org/a.png"] {
            assert!(fits::<AvatarUrlRule>(ok), "{ok:?}");
        }
        for bad in ["//evil.org/x", "javascript:alert(1)", "/a b", " /a"] {
            assert!(!fits::<AvatarUrlRule>(bad), "{bad:?}");
        }
        assert!(fits::<AlbumTitleRule>(" a "));
        assert!(!fits::<AlbumTitleRule>(" \u{3000}\t"));
        assert!(!fits::<AlbumTitleRule>(""));
    }
}
