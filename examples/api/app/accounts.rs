//! Sign-up, log-in, log-out, the caller's profile and team creation.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use clientnest::prelude::*;
use clientnest::validate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{Authed, cleared_cookie, limit, session_cookie, session_id};
use super::error::ApiError;
use super::input::Body;
use super::paging::PageBody;

/// Shortest password accepted at sign-up, in characters (the port's own limit is 1 to 1024
/// bytes; a real deployment adds its policy here, e.g. a breached-password check).
const MIN_PASSWORD_CHARS: usize = 10;

/// Longest email looked up at log-in (the seed's column is 254 characters); longer ones are
/// refused as bad credentials without a look-up.
const MAX_EMAIL_LEN: usize = 254;

/// `POST /signup` body.
#[derive(Debug, Deserialize)]
pub(crate) struct SignUp {
    email: String,
    password: String,
    first_name: String,
    last_name: String,
    /// IANA zone; `UTC` when absent.
    timezone: Option<String>,
    /// The first team's name; `<first name>'s team` when absent.
    team_name: Option<String>,
}

/// Create a user and their first team (plan `free`), of which they are the owner. 201 with
/// `{ user, team }`; the password hash is never in the body (`User` does not serialize it).
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    Body(req): Body<SignUp>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if req.password.chars().count() < MIN_PASSWORD_CHARS {
        let message = format!("must be at least {MIN_PASSWORD_CHARS} characters long");
        return Err(Error::invalid("password", "length", message).into());
    }
    let team_name = req.team_name.unwrap_or_else(|| format!("{}'s team", req.first_name.trim()));
    // Check the team before anything is written, so a bad name leaves no user behind.
    validate::check(&NewTeam::new(team_name.clone(), UserId::new(), PlanType::Free))?;
    let password = Secret::new(req.password);
    let hash = blocking(move || hash_password(&password)).await?;
    let mut new_user = NewUser::new(req.email, hash, req.first_name, req.last_name);
    if let Some(zone) = req.timezone {
        new_user.timezone = zone;
    }
    let user = state.repos.create_user(new_user).await?;
    let team = match state.repos.create_team(NewTeam::new(team_name, user.id, PlanType::Free)).await {
        Ok((team, _owner)) => team,
        Err(e) => {
            // Not one transaction across two ports: undo the user (best effort) and report.
            let _ = state.repos.delete_user(user.id).await;
            return Err(e.into());
        }
    };
    Ok((StatusCode::CREATED, Json(json!({ "user": user, "team": team }))))
}

/// `POST /login` body.
#[derive(Debug, Deserialize)]
pub(crate) struct LogIn {
    email: String,
    password: String,
}

/// Check the password and open a session: 200 with `{ user }` and the session cookie. Attempts
/// are limited per email before anything is checked (429); an unknown email, a wrong password
/// and a deactivated user all give the same 401, after the same argon2 work.
pub(crate) async fn log_in(
    State(state): State<AppState>,
    Body(req): Body<LogIn>,
) -> Result<impl IntoResponse, ApiError> {
    if req.email.len() > MAX_EMAIL_LEN {
        return Err(ApiError::InvalidCredentials);
    }
    limit(&state, &format!("login:{}", req.email.trim().to_lowercase()), &state.settings.login_quota).await?;
    let user = state.repos.find_user_by_email(&req.email).await?.filter(|u| u.is_active);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let password = Secret::new(req.password);
    let matches = blocking(move || match stored {
        Some(hash) => verify_password(&password, &hash),
        None => verify_password(&password, dummy_hash()).map(|_| false),
    })
    .await?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(ApiError::InvalidCredentials);
    };
    let user =
        state.repos.update_user(user.id, UserUpdate { last_login: Some(Utc::now()), ..Default::default() }).await?;
    let session = state
        .kv
        .create_session(NewSession { user_id: user.id, permissions: Vec::new(), ttl: state.settings.session_ttl })
        .await?;
    let cookie = session_cookie(&session.id, &state.settings)?;
    Ok(([(header::SET_COOKIE, cookie)], Json(json!({ "user": user }))))
}

/// End the caller's session, if any, and clear the cookie: always 204, so logging out twice
/// is harmless.
pub(crate) async fn log_out(State(state): State<AppState>, headers: HeaderMap) -> Result<impl IntoResponse, ApiError> {
    if let Some(id) = session_id(&headers) {
        state.kv.delete_session(&id).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared_cookie(&state.settings)?)]))
}

/// `GET /me`: the signed-in user and the first page of their teams.
pub(crate) async fn me(authed: Authed, State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let user = state.repos.get_user(authed.user).await?;
    let teams: PageBody<Team> = state.repos.teams_of_user(authed.user, PageRequest::default()).await?.into();
    Ok(Json(json!({ "user": user, "teams": teams })))
}

/// `POST /teams` body.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateTeam {
    name: String,
    /// `free` when absent.
    plan_type: Option<PlanType>,
}

/// Create a team owned by the caller: 201 with the team.
pub(crate) async fn create_team(
    authed: Authed,
    State(state): State<AppState>,
    Body(req): Body<CreateTeam>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let new_team = NewTeam::new(req.name, authed.user, req.plan_type.unwrap_or(PlanType::Free));
    let (team, _owner) = state.repos.create_team(new_team).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// Run CPU-heavy work (argon2 takes tens of milliseconds) off the async workers.
async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ApiError::Internal("a password hashing task failed")),
    }
}

/// A hash to verify against when the email is unknown, so that answer costs the same argon2
/// work as a wrong password. Made once per process.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: OnceLock<PasswordHash> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = Secret::new(uuid::Uuid::new_v4().to_string());
        hash_password(&random).unwrap_or_else(|_| PasswordHash::absent())
    })
}
