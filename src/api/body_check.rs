//! Enforces the limits a request body's schema publishes (lengths, patterns, ranges, item
//! counts), read from the same schema the OpenAPI document shows. So the server refuses exactly
//! what the document forbids, every failing field is named (422, API.md §1.1), and a limit
//! cannot be documented without being enforced. The feature modules still check their own
//! rules; a body that fits its schema also fits them.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde_json::Value;

use super::error::ApiError;
use crate::error::{AppError, ValidationErrors};

/// Checks `body` against the limits of its type's schema.
pub fn check_body<T: Type + ToJSON>(body: &T) -> Result<(), ApiError> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    let mut errors = ValidationErrors::default();
    let value = body.to_json().unwrap_or(Value::Null);
    check(&registry, &T::schema_ref(), &value, "body", &mut errors);
    errors
        .into_result()
        .map_err(|e| ApiError::from(AppError::Validation(e)))
}

fn check(
    registry: &Registry,
    schema: &MetaSchemaRef,
    value: &Value,
    field: &str,
    errors: &mut ValidationErrors,
) {
    let schema = match schema {
        MetaSchemaRef::Inline(schema) => schema.as_ref(),
        MetaSchemaRef::Reference(name) => match registry.schemas.get(name) {
            Some(schema) => schema,
            None => return,
        },
    };
    for part in &schema.all_of {
        check(registry, part, value, field, errors);
    }
    match value {
        Value::String(text) => check_string(schema, text, field, errors),
        Value::Number(n) => {
            if let Some(n) = n.as_f64() {
                check_number(schema, n, field, errors);
            }
        }
        Value::Array(items) => {
            check_items(schema, items.len(), field, errors);
            if let Some(item_schema) = &schema.items {
                for (i, item) in items.iter().enumerate() {
                    check(
                        registry,
                        item_schema,
                        item,
                        &format!("{field}[{i}]"),
                        errors,
                    );
                }
            }
        }
        Value::Object(map) => {
            for (name, property) in &schema.properties {
                if let Some(v) = map.get(*name) {
                    let path = if field == "body" {
                        name.to_string()
                    } else {
                        format!("{field}.{name}")
                    };
                    check(registry, property, v, &path, errors);
                }
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fn check_string(schema: &MetaSchema, text: &str, field: &str, errors: &mut ValidationErrors) {
    let len = text.chars().count();
    if let Some(min) = schema.min_length.filter(|min| len < *min) {
        errors.add(
            field,
            &format!("must be at least {min} characters"),
            "TOO_SHORT",
        );
    } else if let Some(max) = schema.max_length.filter(|max| len > *max) {
        errors.add(
            field,
            &format!("must be at most {max} characters"),
            "TOO_LONG",
        );
    } else if let Some(pattern) = &schema.pattern {
        if !matches(pattern, text) {
            let message = match schema.description {
                Some(d) => format!("has an invalid format ({})", d.trim_end_matches('.')),
                None => "has an invalid format".into(),
            };
            errors.add(field, &message, "INVALID_FORMAT");
        }
    }
}

fn check_number(schema: &MetaSchema, n: f64, field: &str, errors: &mut ValidationErrors) {
    let below = schema
        .minimum
        .is_some_and(|min| n < min || (schema.exclusive_minimum == Some(true) && n == min));
    let above = schema
        .maximum
        .is_some_and(|max| n > max || (schema.exclusive_maximum == Some(true) && n == max));
    if below || above {
        let message = match (schema.minimum, schema.maximum) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (_, max) => format!("must be at most {}", max.unwrap_or_default()),
        };
        errors.add(field, &message, "OUT_OF_RANGE");
    }
}

fn check_items(schema: &MetaSchema, count: usize, field: &str, errors: &mut ValidationErrors) {
    let few = schema.min_items.is_some_and(|min| count < min);
    let many = schema.max_items.is_some_and(|max| count > max);
    if few || many {
        let message = match (schema.min_items, schema.max_items) {
            (Some(min), Some(max)) => format!("must have {min} to {max} items"),
            (Some(min), None) => format!("must have at least {min} items"),
            (_, max) => format!("must have at most {} items", max.unwrap_or_default()),
        };
        errors.add(field, &message, "OUT_OF_RANGE");
    }
}

/// Whether `text` matches `pattern` (unanchored, as in JSON Schema); patterns are compiled once.
fn matches(pattern: &str, text: &str) -> bool {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let compiled = cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(pattern).ok());
    match compiled {
        Some(re) => re.is_match(text),
        None => {
            log::error!("schema pattern does not compile: {pattern}");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;

    use super::*;

    #[derive(Debug, Object)]
    struct Inner {
        #[oai(validator(maximum(value = "10")))]
        n: i64,
    }

    #[derive(Debug, Object)]
    struct Body {
        #[oai(validator(pattern = "^[a-z]{3,5}$"))]
        name: String,
        #[oai(validator(min_length = 8))]
        password: Option<String>,
        #[oai(validator(min_items = 1, max_items = 2, max_length = 3))]
        tags: Vec<String>,
        inner: Option<Inner>,
    }

    fn fields(body: Body) -> Vec<(String, &'static str)> {
        match check_body(&body) {
            Ok(()) => vec![],
            Err(e) => e.details.into_iter().map(|d| (d.field, d.code)).collect(),
        }
    }

    #[test]
    fn every_broken_limit_is_named() {
        let ok = Body {
            name: "ann".into(),
            password: None,
            tags: vec!["a".into()],
            inner: Some(Inner { n: 10 }),
        };
        assert!(fields(ok).is_empty());
        let bad = Body {
            name: "Ann".into(),
            password: Some("short".into()),
            tags: vec!["long".into(), "b".into(), "c".into()],
            inner: Some(Inner { n: 11 }),
        };
        assert_eq!(
            fields(bad),
            [
                ("name".to_string(), "INVALID_FORMAT"),
                ("password".to_string(), "TOO_SHORT"),
                ("tags".to_string(), "OUT_OF_RANGE"),
                ("tags[0]".to_string(), "TOO_LONG"),
                ("inner.n".to_string(), "OUT_OF_RANGE"),
            ]
        );
    }
}
