//! Pointing a PostgreSQL URL at another database.

/// `url` (`postgres://[user[:password]@]host[:port][/database][?query]`) with its database
/// replaced by `database`, keeping the query parameters; `None` when `url` has no scheme.
///
/// ```
/// use clientnest_testkit::pg::with_database;
///
/// let url = with_database("postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "bench");
/// assert_eq!(url.as_deref(), Some("postgres://postgres@127.0.0.1:5432/bench?sslmode=disable"));
/// ```
pub fn with_database(url: &str, database: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[end..].find('?').map_or("", |q| &rest[end + q..]);
    Some(format!("{scheme}://{}/{database}{query}", &rest[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_replaced_or_added() {
        assert_eq!(with_database("postgres://h/a", "b").as_deref(), Some("postgres://h/b"));
        assert_eq!(with_database("postgres://u:p@h:1", "b").as_deref(), Some("postgres://u:p@h:1/b"));
        assert_eq!(with_database("postgres://h?x=1", "b").as_deref(), Some("postgres://h/b?x=1"));
        assert_eq!(with_database("h/a", "b"), None);
    }
}
