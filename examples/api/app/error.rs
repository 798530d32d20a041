//! The one place where errors become HTTP responses. Every body is JSON with an `error` code;
//! a 5xx says nothing about the cause (it is written to stderr instead), so no SQL, key,
//! token or hash ever reaches a client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientnest::Error;
use serde_json::{Value, json};

/// What a handler can fail with.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// A port's error, mapped by [`core_status`].
    Core(Error),
    /// No session cookie, or its session is gone or expired: 401.
    Unauthenticated,
    /// Log-in with an unknown email, a wrong password or a deactivated user (one answer for
    /// all three, so the answer does not tell which emails exist): 401.
    InvalidCredentials,
    /// The rate limiter refused the request: 429 with `Retry-After`, in whole seconds
    /// rounded up (at least 1).
    RateLimited {
        /// How long until the next request can go ahead.
        retry_after: chrono::Duration,
    },
    /// A body or query that does not decode (malformed JSON, wrong content type, a field of
    /// the wrong type): the extractor's status (400, 415 or 422) and its message.
    BadRequest {
        /// The status the extractor chose.
        status: StatusCode,
        /// What was wrong, for the client (it names fields, never values of the server).
        message: String,
    },
    /// A blocking task (password hashing) panicked or was cancelled: 500.
    Internal(&'static str),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Core(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Core(e) => core_response(&e),
            ApiError::Unauthenticated => reply(StatusCode::UNAUTHORIZED, json!({ "error": "unauthenticated" })),
            ApiError::InvalidCredentials => reply(StatusCode::UNAUTHORIZED, json!({ "error": "invalid_credentials" })),
            ApiError::RateLimited { retry_after } => {
                let millis = retry_after.num_milliseconds().max(0);
                let secs = (millis + 999) / 1000;
                let body = json!({ "error": "rate_limited", "retry_after_ms": millis });
                with_retry_after(reply(StatusCode::TOO_MANY_REQUESTS, body), secs.max(1))
            }
            ApiError::BadRequest { status, message } => {
                reply(status, json!({ "error": "bad_request", "message": message }))
            }
            ApiError::Internal(what) => {
                eprintln!("api: internal error: {what}");
                reply(StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "internal" }))
            }
        }
    }
}

/// The status of a port error: Validation 422, NotFound 404, Conflict and InvalidState 409,
/// MissingReference 422, NotAMember 403, Unavailable 503, anything else 500.
fn core_status(e: &Error) -> StatusCode {
    match e {
        Error::Validation(_) | Error::MissingReference { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Conflict { .. } | Error::InvalidState { .. } => StatusCode::CONFLICT,
        Error::NotAMember { .. } => StatusCode::FORBIDDEN,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The response of a port error: [`core_status`] and a body naming only what the client sent
/// or may know (fields and rule names, the entity kind, the unique rule).
fn core_response(e: &Error) -> Response {
    let status = core_status(e);
    let body = match e {
        Error::Validation(errors) => {
            let fields: Vec<Value> =
                errors.0.iter().map(|f| json!({ "field": f.field, "rule": f.rule, "message": f.message })).collect();
            json!({ "error": "validation", "fields": fields })
        }
        Error::MissingReference { references, rule, .. } => {
            json!({ "error": "missing_reference", "entity": references.as_str(), "rule": rule })
        }
        Error::NotFound { entity, .. } => json!({ "error": "not_found", "entity": entity.as_str() }),
        Error::Conflict { entity, rule } => json!({ "error": "conflict", "entity": entity.as_str(), "rule": rule }),
        Error::InvalidState { entity, reason, .. } => {
            json!({ "error": "invalid_state", "entity": entity.as_str(), "reason": reason })
        }
        Error::NotAMember { .. } => json!({ "error": "forbidden" }),
        Error::Unavailable { .. } => {
            eprintln!("api: backend unavailable: {e}");
            return with_retry_after(reply(status, json!({ "error": "unavailable" })), 1);
        }
        _ => {
            eprintln!("api: internal error: {e}");
            json!({ "error": "internal" })
        }
    };
    reply(status, body)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn with_retry_after(mut response: Response, secs: i64) -> Response {
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}
