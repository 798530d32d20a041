//! Rows mapped once: [`Db<T>`] wraps a core model, and each repository module gives it one
//! `sqlx::FromRow` that names every column of its table once. Stored choices (statuses,
//! roles, platforms) decode through [`choice_column`], so a value no variant has fails as a
//! column decode error naming its column and value.

use std::str::FromStr;

use sqlx::postgres::PgRow;
use sqlx::{Column, Row};

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

/// The text column at `index` (named `column`, for errors) parsed into its enum, read in place.
pub(crate) fn choice_at<T: FromStr>(row: &PgRow, index: usize, column: &'static str) -> sqlx::Result<T> {
    let text: &str = row.try_get(index)?;
    text.parse::<T>().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(UnknownChoice { value: text.to_owned() }),
    })
}

/// The text array column at `index` (named `column`, for errors), each element parsed into its
/// enum.
pub(crate) fn choices_at<T: FromStr>(row: &PgRow, index: usize, column: &'static str) -> sqlx::Result<Vec<T>> {
    let texts: Vec<String> = row.try_get(index)?;
    texts.into_iter().map(|text| parse_choice(column, text)).collect()
}

/// Where named columns are in a result: looked up once, then each row is read by position.
pub(crate) struct Positions<const N: usize>([usize; N]);

impl<const N: usize> Positions<N> {
    /// The positions of `names` in `row`'s result; a missing column is an error.
    pub(crate) fn of(row: &PgRow, names: &[&'static str; N]) -> sqlx::Result<Self> {
        let mut at = [0; N];
        for (slot, name) in at.iter_mut().zip(names) {
            *slot = row.try_column(*name)?.ordinal();
        }
        Ok(Self(at))
    }

    /// The position of the `i`-th name.
    pub(crate) fn at(&self, i: usize) -> usize {
        self.0[i]
    }
}

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
    text.parse::<T>().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(UnknownChoice { value: text }),
    })
}
