//! Who is calling: the session cookie, the [`Authed`] extractor (a live session, counted
//! against the user's rate limit) and the [`Member`] extractor (an active member of the team
//! in the path).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use clientnest::prelude::*;

use super::error::ApiError;
use super::{AppState, Settings};

/// The session cookie's name. Its value is the session id (256 random bits); the server keeps
/// the session (Redis or memory) and its sliding expiry, so the cookie itself has no
/// `Max-Age`: it lasts until the browser closes or the session expires, whichever is first.
pub(crate) const SESSION_COOKIE: &str = "clientnest_session";

/// The `Set-Cookie` value that hands a session to the browser: `HttpOnly` (no script reads
/// it), `SameSite=Lax` (not sent on cross-site POSTs), `Path=/`, and `Secure` when
/// [`Settings::secure_cookie`] is on.
pub(crate) fn session_cookie(id: &SessionId, settings: &Settings) -> Result<HeaderValue, ApiError> {
    cookie(id.expose(), "", settings)
}

/// The `Set-Cookie` value that removes the session cookie.
pub(crate) fn cleared_cookie(settings: &Settings) -> Result<HeaderValue, ApiError> {
    cookie("", "; Max-Age=0", settings)
}

fn cookie(value: &str, extra: &str, settings: &Settings) -> Result<HeaderValue, ApiError> {
    let secure = if settings.secure_cookie { "; Secure" } else { "" };
    HeaderValue::try_from(format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/{extra}{secure}"))
        .map_err(|_| ApiError::Internal("a session cookie that is not a header value"))
}

/// The session id sent in the request's `Cookie` headers, if any (not checked yet).
pub(crate) fn session_id(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| SessionId::parse(value).ok())
}

/// Count one request of `subject` against `quota`; a refusal is [`ApiError::RateLimited`].
pub(crate) async fn limit(state: &AppState, subject: &str, quota: &Quota) -> Result<(), ApiError> {
    let decision = state.kv.check_rate(subject, quota).await?;
    if decision.allowed {
        Ok(())
    } else {
        let retry_after = decision.retry_after.unwrap_or_else(|| chrono::Duration::seconds(1));
        Err(ApiError::RateLimited { retry_after })
    }
}

/// A signed-in caller. Extracting it reads the session cookie, pushes the session's expiry to
/// now + [`Settings::session_ttl`] and counts the request against
/// [`Settings::user_quota`] (subject `user:<id>`). No cookie, a malformed one, or a session
/// that is gone: 401. Over the limit: 429.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    /// The signed-in user.
    pub(crate) user: UserId,
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let id = session_id(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let session =
            state.kv.touch_session(&id, state.settings.session_ttl).await?.ok_or(ApiError::Unauthenticated)?;
        limit(state, &format!("user:{}", session.user_id), &state.settings.user_quota).await?;
        Ok(Authed { user: session.user_id })
    }
}

/// A signed-in caller who is an active member of the team named in the path
/// (`/teams/{team}/...`). The read ports (`feed`, `inbox`) take no acting user, so this is
/// where a read is refused; the write ports check membership again in the same step as the
/// write (a member removed meanwhile gets the port's `NotAMember`). Either way a caller outside
/// the team, or naming a team that does not exist, gets 403. Add role checks (viewers read
/// only, ...) here.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The signed-in user.
    pub(crate) user: UserId,
    /// The team named in the path (`/teams/{team}/...`), of which `user` is an active member.
    pub(crate) team: TeamId,
}

impl FromRequestParts<AppState> for Member {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authed { user } = Authed::from_request_parts(parts, state).await?;
        let Path(team) = Path::<TeamId>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::BadRequest { status: rejection.status(), message: rejection.body_text() })?;
        match state.repos.membership(team, user).await? {
            Some(m) if m.status == MemberStatus::Active => Ok(Member { user, team }),
            _ => Err(Error::NotAMember { entity: Entity::Team, user: user.to_string() }.into()),
        }
    }
}
