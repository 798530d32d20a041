//! COPY text format: one line per row, columns separated by tabs, `\N` for NULL, and `\`,
//! tab, LF and CR escaped, so no string (a hostile user agent, a tag holding `{`, `,` or `"`,
//! a JSON value with newlines) can end a field or a row early.

use std::fmt::Display;

use chrono::{DateTime, Utc};

/// Encodes rows into a COPY text buffer.
#[derive(Debug, Default)]
pub(crate) struct CopyBuf {
    buf: Vec<u8>,
    /// Whether the next field is the first of its row.
    at_row_start: bool,
}

impl CopyBuf {
    /// An empty buffer.
    pub(crate) fn new() -> Self {
        Self { buf: Vec::with_capacity(64 * 1024), at_row_start: true }
    }

    /// The encoded bytes so far.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes encoded so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Forget what was encoded (after it was sent).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.at_row_start = true;
    }

    fn sep(&mut self) {
        if !self.at_row_start {
            self.buf.push(b'\t');
        }
        self.at_row_start = false;
    }

    /// End the current row.
    pub(crate) fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.at_row_start = true;
    }

    /// A NULL field.
    pub(crate) fn null(&mut self) {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
    }

    /// A text field, escaped.
    pub(crate) fn text(&mut self, s: &str) {
        self.sep();
        escape_into(&mut self.buf, s);
    }

    /// An optional text field.
    pub(crate) fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    /// A field whose `Display` form never holds a tab, newline or backslash (numbers, uuids,
    /// addresses, timestamps).
    pub(crate) fn plain(&mut self, v: impl Display) {
        use std::io::Write;
        self.sep();
        let _ = write!(self.buf, "{v}");
    }

    /// An optional plain field.
    pub(crate) fn opt_plain(&mut self, v: Option<impl Display>) {
        match v {
            Some(v) => self.plain(v),
            None => self.null(),
        }
    }

    /// A `timestamptz` in UTC with microseconds.
    pub(crate) fn time(&mut self, t: DateTime<Utc>) {
        self.plain(t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
    }

    /// A `jsonb` value (its JSON text, escaped).
    pub(crate) fn json(&mut self, v: &serde_json::Value) {
        self.text(&v.to_string());
    }

    /// A `text[]` value: an array literal with every element quoted (so `{`, `}`, `,`, spaces
    /// and the word `NULL` stay text), `"` and `\` escaped inside, then escaped for COPY.
    pub(crate) fn text_array(&mut self, items: &[String]) {
        let mut literal = String::from("{");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push('"');
            for c in item.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        self.text(&literal);
    }
}

/// `s` escaped for a COPY text field.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: impl FnOnce(&mut CopyBuf)) -> String {
        let mut b = CopyBuf::new();
        f(&mut b);
        b.end_row();
        String::from_utf8(b.bytes().to_vec()).unwrap_or_default()
    }

    #[test]
    fn fields_are_escaped_and_separated() {
        assert_eq!(
            line(|b| {
                b.text("a\tb\nc\rd\\e");
                b.null();
                b.text("\\N");
                b.plain(42);
            }),
            "a\\tb\\nc\\rd\\\\e\t\\N\t\\\\N\t42\n"
        );
    }

    #[test]
    fn arrays_quote_every_element() {
        let tags =
            vec!["a,b".to_owned(), "{x}".to_owned(), "say \"hi\"".to_owned(), "NULL".to_owned(), "\\".to_owned()];
        assert_eq!(line(|b| b.text_array(&tags)), "{\"a,b\",\"{x}\",\"say \\\\\"hi\\\\\"\",\"NULL\",\"\\\\\\\\\"}\n");
        assert_eq!(line(|b| b.text_array(&[])), "{}\n");
    }

    #[test]
    fn times_have_microseconds_in_utc() {
        let t = DateTime::parse_from_rfc3339("1900-01-01T00:00:00.000001Z").map(|t| t.with_timezone(&Utc));
        assert_eq!(line(|b| b.time(t.unwrap_or_default())), "1900-01-01 00:00:00.000001+00\n");
    }
}
