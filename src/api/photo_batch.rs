//! `POST /api/v1/photos/batch`: one action over many photos, each succeeding or failing on its
//! own. The request's schema says which `data` field each action needs.

use crate::db::ids::{AlbumId, PhotoId};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::Type;
use poem_openapi::{Enum, Object, OpenApi};
use serde::Deserialize;
use serde_json::Value;

use super::envelope::{Envelope, JsonBody, Ok};
use super::error::ApiError;
use super::photo_models::VisibilityName;
use super::photo_upload::UploadError;
use super::refined::{Refine, Refined};
use super::responses::Reply;
use super::security::BearerAuth;
use super::ApiTags;
use crate::app::AppState;
use crate::batch::BatchAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BatchActionName {
    Delete,
    Restore,
    Purge,
    Favorite,
    Unfavorite,
    SetVisibility,
    AddTags,
    RemoveTags,
    AddToAlbum,
    RemoveFromAlbum,
}

#[derive(Debug, Object, Deserialize)]
#[oai(rename = "BatchFields")]
pub struct BatchFields {
    /// 1 to 500 photos; duplicates count once.
    #[oai(validator(min_items = 1, max_items = 500))]
    pub photo_ids: Vec<i64>,
    pub action: BatchActionName,
    /// What the action needs: `visibility` for set_visibility, `tags` for add_tags and
    /// remove_tags, `album_id` for add_to_album and remove_from_album.
    #[oai(nullable)]
    pub data: Option<BatchData>,
}

#[derive(Debug, Object, Deserialize, Default)]
pub struct BatchData {
    /// For set_visibility.
    #[oai(nullable)]
    pub visibility: Option<VisibilityName>,
    /// For add_tags and remove_tags: at most 100 tags of at most 64 characters.
    #[oai(nullable, validator(max_items = 100, max_length = 64))]
    pub tags: Option<Vec<String>>,
    /// For add_to_album and remove_from_album.
    #[oai(nullable)]
    pub album_id: Option<i64>,
}

/// `{photo_ids, action, data}`, documented with the `data` field each action requires.
pub type BatchRequest = Refined<BatchFields>;

/// The actions that need `data.<field>` (of JSON schema `field_schema`).
fn action_needing(
    actions: &[&str],
    field: &'static str,
    field_schema: MetaSchemaRef,
) -> MetaSchema {
    let mut data = MetaSchema::new("object");
    data.required = vec![field];
    data.properties = vec![(field, field_schema)];
    let mut branch = MetaSchema::ANY;
    branch.required = vec!["data"];
    branch.properties = vec![
        ("action", action_enum(actions)),
        ("data", MetaSchemaRef::Inline(Box::new(data))),
    ];
    branch
}

fn action_enum(actions: &[&str]) -> MetaSchemaRef {
    let mut schema = MetaSchema::new("string");
    schema.enum_items = actions.iter().map(|a| Value::from(*a)).collect();
    MetaSchemaRef::Inline(Box::new(schema))
}

impl Refine for BatchFields {
    const NAME: &'static str = "BatchRequest";

    fn refine(schema: &mut MetaSchema) {
        let mut simple = MetaSchema::ANY;
        simple.properties = vec![(
            "action",
            action_enum(&["delete", "restore", "purge", "favorite", "unfavorite"]),
        )];
        let mut tags = MetaSchema::new("array");
        tags.items = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new(
            "string",
        )))));
        schema.one_of = [
            simple,
            action_needing(
                &["set_visibility"],
                "visibility",
                VisibilityName::schema_ref(),
            ),
            action_needing(
                &["add_tags", "remove_tags"],
                "tags",
                MetaSchemaRef::Inline(Box::new(tags)),
            ),
            action_needing(
                &["add_to_album", "remove_from_album"],
                "album_id",
                MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("integer", "int64"))),
            ),
        ]
        .into_iter()
        .map(|branch| MetaSchemaRef::Inline(Box::new(branch)))
        .collect();
    }
}

#[derive(Debug, Object)]
pub struct BatchFailure {
    pub id: i64,
    pub error: UploadError,
}

#[derive(Debug, Object)]
pub struct BatchResponse {
    pub succeeded: Vec<i64>,
    pub failed: Vec<BatchFailure>,
}

fn batch_action(action: BatchActionName, data: BatchData) -> Result<BatchAction, ApiError> {
    let missing = |field: &str| {
        ApiError::validation(
            StatusCode::UNPROCESSABLE_ENTITY,
            field,
            "is required for this action",
            "REQUIRED",
        )
    };
    use BatchActionName as A;
    Ok(match action {
        A::Delete => BatchAction::Delete,
        A::Restore => BatchAction::Restore,
        A::Purge => BatchAction::Purge,
        A::Favorite => BatchAction::Favorite,
        A::Unfavorite => BatchAction::Unfavorite,
        A::SetVisibility => BatchAction::SetVisibility(
            data.visibility
                .ok_or_else(|| missing("data.visibility"))?
                .into(),
        ),
        A::AddTags => BatchAction::AddTags(data.tags.ok_or_else(|| missing("data.tags"))?),
        A::RemoveTags => BatchAction::RemoveTags(data.tags.ok_or_else(|| missing("data.tags"))?),
        A::AddToAlbum => BatchAction::AddToAlbum(AlbumId(
            data.album_id.ok_or_else(|| missing("data.album_id"))?,
        )),
        A::RemoveFromAlbum => BatchAction::RemoveFromAlbum(AlbumId(
            data.album_id.ok_or_else(|| missing("data.album_id"))?,
        )),
    })
}

pub struct PhotoBatchApi;

#[OpenApi(prefix_path = "/photos", tag = "ApiTags::Photos")]
impl PhotoBatchApi {
    /// One action over many photos; each succeeds or fails on its own (`failed` lists why, as
    /// the error `type` and message a single request would get). An action without the `data`
    /// field it needs is a 422.
    #[oai(path = "/batch", method = "post")]
    async fn batch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<BatchRequest>,
    ) -> Reply<Ok<BatchResponse>> {
        let b = body.0 .0;
        let action = batch_action(b.action, b.data.unwrap_or_default())?;
        let (succeeded, failures) = state
            .batch()
            .batch(
                &auth.0,
                b.photo_ids.into_iter().map(PhotoId).collect(),
                action,
            )
            .await?;
        let failed = failures
            .into_iter()
            .map(|(id, e)| {
                let api = ApiError::from(e);
                BatchFailure {
                    id: id.get(),
                    error: UploadError {
                        kind: api.kind.to_string(),
                        message: api.message,
                    },
                }
            })
            .collect();
        let succeeded = succeeded.into_iter().map(PhotoId::get).collect();
        Result::Ok(Envelope(BatchResponse { succeeded, failed }))
    }
}
