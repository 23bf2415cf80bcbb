//! Request bodies whose rules go beyond what `#[derive(Object)]` can say, such as "one of these
//! two fields is required" or "this action needs that field": the derived schema plus those
//! rules, published under the body's own name.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A derived body type and the rules added to its schema.
pub trait Refine: Type + ToJSON + ParseFromJSON + DeserializeOwned {
    /// The name of the refined schema in the document.
    const NAME: &'static str;
    fn refine(schema: &mut MetaSchema);
}

/// `T` with its refined schema.
#[derive(Debug)]
pub struct Refined<T>(pub T);

impl<'de, T: Refine> Deserialize<'de> for Refined<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Refined)
    }
}

impl<T: Refine> Type for Refined<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(T::NAME.into())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(T::NAME.into(), |registry| {
            let mut schema = registry.create_fake_schema::<T>();
            schema.title = Some(T::NAME.to_string());
            T::refine(&mut schema);
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

impl<T: Refine> ToJSON for Refined<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

impl<T: Refine> ParseFromJSON for Refined<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        T::parse_from_json(value)
            .map(Refined)
            .map_err(|e| e.propagate())
    }
}

/// A schema that holds when `field` is present and not null (of JSON type `ty`).
pub fn requiring(field: &'static str, ty: &'static str) -> MetaSchemaRef {
    let mut schema = MetaSchema::ANY;
    schema.required = vec![field];
    schema.properties = vec![(field, MetaSchemaRef::Inline(Box::new(MetaSchema::new(ty))))];
    MetaSchemaRef::Inline(Box::new(schema))
}
