//! Rows mapped once: [`Db<T>`] wraps a core model, and each repository module gives it one
//! `sqlx::FromRow` that names every column of its table once. Stored choices (statuses,
//! roles, platforms) decode through [`choice_column`], so a value no variant has fails as a
//! column decode error naming its column and value.

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::PgRow;

/// A core model read from (or written to) a row: `Db<Post>`, `Db<Schedule>`, ...
#[derive(Debug)]
pub(crate) struct Db<T>(pub(crate) T);

impl<T> Db<T> {
    /// The decoded model value the wrapper holds.
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

pub(crate) use crate::error::UnknownChoice;

/// The text column `column` parsed into its enum.
pub(crate) fn choice_column<T: FromStr>(row: &PgRow, column: &'static str) -> sqlx::Result<T> {
    let text: String = row.try_get(column)?;
    parse_choice(column, text)
}

/// The text array column `column`, each element parsed into its enum.
pub(crate) fn choices_column<T: FromStr>(row: &PgRow, column: &'static str) -> sqlx::Result<Vec<T>> {
    let texts: Vec<String> = row.try_get(column)?;
    texts.into_iter().map(|t| parse_choice(column, t)).collect()
}

/// `text` parsed into its enum, or a decode error of `column`.
pub(crate) fn parse_choice<T: FromStr>(column: &'static str, text: String) -> sqlx::Result<T> {
    UnknownChoice::parse(&text)
        .map_err(|unknown| sqlx::Error::ColumnDecode { index: column.to_owned(), source: Box::new(unknown) })
}
