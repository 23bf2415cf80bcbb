//! `/api/v1/family`: create, join, view, leave, invite codes, members.

use crate::db::ids::UserId;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{Enum, Object, OpenApi};
use serde::Deserialize;

use super::envelope::{empty, Created, Empty, Envelope, JsonBody, Ok};
use super::responses::{Conflict, Forbidden, Invalid, NotFound, Reply};
use super::security::BearerAuth;
use super::text::{FamilyName, InviteCode};
use super::{timestamp, ApiTags};
use crate::app::AppState;
use crate::sharing::{Family, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum FamilyRole {
    Owner,
    Member,
}

#[derive(Debug, Object)]
pub struct FamilyMemberResponse {
    pub id: i64,
    pub username: String,
    #[oai(nullable)]
    pub display_name: Option<String>,
    pub role: FamilyRole,
    pub joined_at: String,
}

#[derive(Debug, Object)]
#[oai(rename = "Family")]
pub struct FamilyResponse {
    pub id: i64,
    pub name: String,
    /// Shown to members only; others join with it.
    pub invite_code: String,
    pub owner_id: i64,
    /// Longest-standing first.
    pub members: Vec<FamilyMemberResponse>,
    pub created_at: String,
}

fn family_response(f: Family) -> FamilyResponse {
    FamilyResponse {
        id: f.id.get(),
        name: f.name,
        invite_code: f.invite_code,
        owner_id: f.owner_id.get(),
        members: f
            .members
            .into_iter()
            .map(|m| FamilyMemberResponse {
                id: m.id.get(),
                username: m.username,
                display_name: m.display_name,
                role: match m.role {
                    Role::Owner => FamilyRole::Owner,
                    Role::Member => FamilyRole::Member,
                },
                joined_at: timestamp(m.joined_at),
            })
            .collect(),
        created_at: timestamp(f.created_at),
    }
}

#[derive(Debug, Object, Deserialize)]
pub struct CreateFamilyRequest {
    pub name: FamilyName,
}

#[derive(Debug, Object, Deserialize)]
pub struct JoinFamilyRequest {
    /// Alias `code`.
    #[serde(alias = "code")]
    pub invite_code: InviteCode,
}

pub struct FamilyApi;

#[OpenApi(prefix_path = "/family", tag = "ApiTags::Family")]
impl FamilyApi {
    /// Create a family with a fresh invite code; the caller becomes its owner. 409 when the
    /// caller is already in a family.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<CreateFamilyRequest>,
    ) -> Reply<Created<FamilyResponse>, Conflict> {
        let family = state
            .sharing()
            .create_family(&auth.0, body.0.name.into_inner())
            .await?;
        Result::Ok(Envelope(family_response(family)))
    }

    /// Join by invite code: 404 for an unknown code, 409 when already in a family.
    #[oai(path = "/join", method = "post")]
    async fn join(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: JsonBody<JoinFamilyRequest>,
    ) -> Reply<Ok<FamilyResponse>, (NotFound, Conflict)> {
        let family = state
            .sharing()
            .join_family(&auth.0, body.0.invite_code.into_inner())
            .await?;
        Result::Ok(Envelope(family_response(family)))
    }

    /// The caller's family with its members, or `data: null`.
    #[oai(path = "/", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Reply<Ok<Option<FamilyResponse>>> {
        let family = state.sharing().my_family(&auth.0).await?;
        Result::Ok(Envelope(family.map(family_response)))
    }

    /// Leave the family (404 when in none). An owner hands it to the longest-standing member;
    /// the last one out deletes it. Access through the family ends at once.
    #[oai(path = "/leave", method = "post")]
    async fn leave(&self, state: Data<&AppState>, auth: BearerAuth) -> Reply<Empty, NotFound> {
        state.sharing().leave_family(&auth.0).await?;
        Result::Ok(empty())
    }

    /// A new invite code (owner only, else 403; 404 when in no family); the old one stops
    /// working. Answers the family.
    #[oai(path = "/invite_code", method = "post")]
    async fn invite_code(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Reply<Ok<FamilyResponse>, (Forbidden, NotFound)> {
        let family = state.sharing().renew_invite_code(&auth.0).await?;
        Result::Ok(Envelope(family_response(family)))
    }

    /// The owner removes a member (403 for others, 404 when the caller is in no family or the
    /// user is not a member). The owner leaves with `POST /family/leave` instead: their own id
    /// is a 422. Answers the family.
    #[oai(path = "/members/:user_id", method = "delete")]
    async fn remove_member(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        user_id: Path<i64>,
    ) -> Reply<Ok<FamilyResponse>, (Forbidden, NotFound, Invalid)> {
        let family = state
            .sharing()
            .remove_member(&auth.0, UserId(user_id.0))
            .await?;
        Result::Ok(Envelope(family_response(family)))
    }
}
