//! Request decoding: JSON bodies and query strings whose failures answer in the API's error
//! shape, and typed query parameters that fail as field/rule validation errors (422).

use std::fmt::Display;
use std::str::FromStr;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use clientnest::Error;
use clientnest::validate::rule;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body (`Content-Type: application/json`, at most axum's default 2 MB). A body that
/// does not decode is a [`ApiError::BadRequest`] with the extractor's status: 400 for
/// malformed JSON, 415 for another content type, 422 for a missing field or a wrong type.
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(ApiError::BadRequest { status: rejection.status(), message: rejection.body_text() }),
        }
    }
}

/// A query string decoded into `T` (whose fields are strings, parsed with [`param`] so a bad
/// value names its field).
pub(crate) struct Params<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(ApiError::BadRequest { status: rejection.status(), message: rejection.body_text() }),
        }
    }
}

/// Parse an optional query parameter (a choice such as `status=new`, an id, a number); a
/// value that does not parse is a validation error on `field` with rule
/// [`rule::FORMAT`].
pub(crate) fn param<T>(field: &'static str, value: Option<&str>) -> Result<Option<T>, Error>
where
    T: FromStr,
    T::Err: Display,
{
    value.map(|raw| raw.parse::<T>().map_err(|e| Error::invalid(field, rule::FORMAT, e.to_string()))).transpose()
}
