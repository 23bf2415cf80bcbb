//! Query and path parameter types that carry their limits into the OpenAPI document and
//! enforce exactly those limits when parsing (a value outside them is a 400 naming the
//! parameter), so the document and the server cannot disagree.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use poem_openapi::Enum;

use crate::catalog::filter::Scope;

use crate::catalog::filter::SortKey;
use crate::sharing::albums::AlbumSort;

/// An integer parameter within `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: i64, const MAX: i64>(pub i64);

/// `page`: 1-based page number.
pub type PageNumber = Bounded<1, 1_000_000>;
/// `per_page`: items per page (API.md §1.2).
pub type PerPage = Bounded<1, 200>;
/// `limit` of the tag lists.
pub type Limit = Bounded<1, 1000>;
/// A month of the year.
pub type Month = Bounded<1, 12>;
/// A year in the timeline.
pub type Year = Bounded<1, 9999>;

impl<const MIN: i64, const MAX: i64> Type for Bounded<MIN, MAX> {
    const IS_REQUIRED: bool = true;
    type RawValueType = i64;
    type RawElementValueType = i64;

    fn name() -> Cow<'static, str> {
        format!("integer({MIN}..={MAX})").into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("integer", "int64");
        schema.minimum = Some(MIN as f64);
        if MAX < i64::MAX {
            schema.maximum = Some(MAX as f64);
        }
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&i64> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a i64> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl<const MIN: i64, const MAX: i64> ParseFromParameter for Bounded<MIN, MAX> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let n: i64 = value
            .parse()
            .map_err(|_| ParseError::custom("must be an integer"))?;
        if !(MIN..=MAX).contains(&n) {
            return Err(ParseError::custom(if MAX == i64::MAX {
                format!("must be at least {MIN}")
            } else {
                format!("must be between {MIN} and {MAX}")
            }));
        }
        Ok(Bounded(n))
    }
}

/// A day `YYYY-MM-DD` (exactly that form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub chrono::NaiveDate);

impl Type for Day {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string(date)".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date")))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromParameter for Day {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        let shaped = value.len() == 10
            && value.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        shaped
            .then(|| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
            .flatten()
            .map(Day)
            .ok_or_else(|| ParseError::custom("must be a date YYYY-MM-DD"))
    }
}

/// `scope`: the caller's own (`mine`, the default) or all they see through their family,
/// their own included (`family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ScopeName {
    Mine,
    Family,
}

impl From<Option<ScopeName>> for Scope {
    fn from(scope: Option<ScopeName>) -> Scope {
        match scope {
            Some(ScopeName::Family) => Scope::Family,
            _ => Scope::Mine,
        }
    }
}

/// Fields a listing sorts on, for `Sort`.
pub trait SortFields: Sized + Copy + Send + Sync + 'static {
    /// The schema's name in the document.
    const NAME: &'static str;
    /// Every accepted field name.
    const FIELDS: &'static [&'static str];
    fn parse(text: &str) -> Option<(Self, bool)>;
}

impl SortFields for SortKey {
    const NAME: &'static str = "PhotoSort";
    const FIELDS: &'static [&'static str] = &[
        "taken_at",
        "created_at",
        "updated_at",
        "title",
        "size",
        "likes",
        "like_count",
    ];
    fn parse(text: &str) -> Option<(Self, bool)> {
        SortKey::parse(text)
    }
}

impl SortFields for AlbumSort {
    const NAME: &'static str = "AlbumSort";
    const FIELDS: &'static [&'static str] =
        &["created_at", "updated_at", "title", "likes", "like_count"];
    fn parse(text: &str) -> Option<(Self, bool)> {
        AlbumSort::parse(text)
    }
}

/// `sort=field` ascending or `sort=-field` descending, over the fields of `K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<K>(pub K, pub bool);

impl<K: SortFields> Sort<K> {
    /// Every accepted value: each field, ascending and descending.
    fn values() -> Vec<String> {
        K::FIELDS
            .iter()
            .flat_map(|f| [f.to_string(), format!("-{f}")])
            .collect()
    }

    pub fn key(self) -> (K, bool) {
        (self.0, self.1)
    }
}

impl<K: SortFields> Type for Sort<K> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        K::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(K::NAME.into())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(K::NAME.to_string(), |_| {
            let mut schema = MetaSchema::new("string");
            schema.description =
                Some("A field to sort on, ascending; with a leading `-`, descending.");
            schema.enum_items = Self::values().into_iter().map(Into::into).collect();
            schema
        });
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<K: SortFields> ParseFromParameter for Sort<K> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        K::parse(value)
            .map(|(k, descending)| Sort(k, descending))
            .ok_or_else(|| {
                ParseError::custom(format!("must be one of {}", Self::values().join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced_as_documented() {
        assert_eq!(PerPage::parse_from_parameter("200").unwrap().0, 200);
        for bad in ["0", "201", "-1", "x", "", "1.5"] {
            assert!(PerPage::parse_from_parameter(bad).is_err(), "{bad}");
        }
        assert!(Bounded::<1, { i64::MAX }>::parse_from_parameter("9223372036854775807").is_ok());
        assert!(Bounded::<1, { i64::MAX }>::parse_from_parameter("9223372036854775808").is_err());
        let schema = PerPage::schema_ref();
        let schema = schema.unwrap_inline();
        assert_eq!((schema.minimum, schema.maximum), (Some(1.0), Some(200.0)));
    }

    #[test]
    fn sorts_accept_exactly_their_enum() {
        let values = Sort::<AlbumSort>::values();
        for v in &values {
            assert!(Sort::<AlbumSort>::parse_from_parameter(v).is_ok(), "{v}");
        }
        for bad in ["size", " title", "--title", "", "TITLE"] {
            assert!(
                Sort::<AlbumSort>::parse_from_parameter(bad).is_err(),
                "{bad}"
            );
        }
        assert!(Sort::<SortKey>::parse_from_parameter("-taken_at").is_ok());
    }

    #[test]
    fn days_are_strict() {
        assert!(Day::parse_from_parameter("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2024-2-29",
            " 2024-02-29",
            "20240229",
            "+024-02-29",
            "",
        ] {
            assert!(Day::parse_from_parameter(bad).is_err(), "{bad}");
        }
    }
}
