//! The team's comment inbox, with its triage filters.

use axum::Json;
use axum::extract::State;
use clientnest::prelude::*;
use serde::Deserialize;

use super::AppState;
use super::auth::Member;
use super::error::ApiError;
use super::input::{Params, param};
use super::paging::{PageBody, PageQuery};

/// `GET /teams/{team}/inbox` query: paging plus filters, each optional and all of them
/// matched together. Values are the seed's strings (`status=new`, `sentiment=negative`,
/// `priority=high`, `account_id=<uuid>`); another value is a 422 naming the parameter.
#[derive(Debug, Deserialize)]
pub(crate) struct InboxQuery {
    #[serde(flatten)]
    page: PageQuery,
    status: Option<String>,
    sentiment: Option<String>,
    priority: Option<String>,
    account_id: Option<String>,
}

/// Comments on the team's accounts, newest first, filtered.
pub(crate) async fn inbox(
    member: Member,
    State(state): State<AppState>,
    Params(query): Params<InboxQuery>,
) -> Result<Json<PageBody<Comment>>, ApiError> {
    let filter = InboxFilter {
        status: param("status", query.status.as_deref())?,
        sentiment: param("sentiment", query.sentiment.as_deref())?,
        priority: param("priority", query.priority.as_deref())?,
        account_id: param("account_id", query.account_id.as_deref())?,
    };
    let page = state.repos.inbox(member.team, filter, query.page.request()?).await?;
    Ok(Json(page.into()))
}
