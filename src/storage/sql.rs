//! SQL text plus its arguments, written once with `$N` placeholders for both backends.

use chrono::{DateTime, Utc};

/// One bound value. A closed set, so the same statement binds identically on SQLite and
/// PostgreSQL without generic bounds leaking into every storage function.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    Bool(bool),
    /// A column of values, for `unnest(…)`: PostgreSQL only. A statement that reads its rows
    /// from arrays has one shape (one prepared statement, planned once per connection) for
    /// any number of rows, where `VALUES` lists have one per count.
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<String>>),
    Times(Vec<Option<DateTime<Utc>>>),
    Bools(Vec<bool>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}
impl From<Option<DateTime<Utc>>> for Arg {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Arg::OptTime(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// A statement under construction. `bind` appends a `$N` placeholder and remembers the value,
/// so placeholders and arguments can never drift apart.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// The text with SQLite's anonymous `?` placeholders. SQLite looks up numbered (`?N`,
    /// `$N`) parameters by a linear search per parameter, which makes a 16,000-parameter
    /// multi-row insert twenty times slower; the builder only ever numbers placeholders in
    /// order, each used once, so plain `?` binds identically.
    pub(crate) fn sqlite_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut chars = self.text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                out.push('?');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Appends raw SQL text. Never pass user input here; use [`Sql::bind`].
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `(v1, v2, …)` with one placeholder per value.
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.push("(");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// Appends one `(…)` tuple per row, comma separated, for multi-row `VALUES`.
    pub fn bind_rows<R, F>(&mut self, rows: impl IntoIterator<Item = R>, mut row: F) -> &mut Self
    where
        F: FnMut(&mut RowBinder<'_>, R),
    {
        for (i, r) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            let mut binder = RowBinder {
                sink: Sink::Sql(self),
                first: true,
            };
            row(&mut binder, r);
            self.push(")");
        }
        self
    }
}

/// Where [`RowBinder`] puts a row: straight into the statement (`VALUES`), or aside, to be
/// turned into columns (`unnest`, see `table.rs`).
pub(super) enum Sink<'a> {
    Sql(&'a mut Sql),
    Items(&'a mut Vec<Item>),
}

/// One value of a row set aside: bound, or a literal SQL expression.
pub(super) enum Item {
    Bind(Arg),
    Raw(String),
}

/// Binds the values of one row inside [`Sql::bind_rows`] (or `Sql::bind_table`).
pub struct RowBinder<'a> {
    pub(super) sink: Sink<'a>,
    pub(super) first: bool,
}

impl RowBinder<'_> {
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.put(Item::Bind(value.into()))
    }

    /// A literal SQL expression inside the row (a constant, never user input).
    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.put(Item::Raw(text.to_owned()))
    }

    fn put(&mut self, item: Item) -> &mut Self {
        match &mut self.sink {
            Sink::Sql(sql) => {
                if !self.first {
                    sql.push(", ");
                }
                match item {
                    Item::Bind(value) => sql.bind(value),
                    Item::Raw(text) => sql.push(&text),
                };
            }
            Sink::Items(items) => items.push(item),
        }
        self.first = false;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_arguments() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.bind(1_i64).push(" AND b IN ").bind_list(["x", "y"]);
        assert_eq!(sql.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.args.len(), 3);
        assert_eq!(sql.sqlite_text(), "SELECT 1 WHERE a = ? AND b IN (?, ?)");
    }

    #[test]
    fn rows_bind_in_order() {
        let mut sql = Sql::new("VALUES ");
        sql.bind_rows([(1_i64, "a"), (2, "b")], |r, (n, s)| {
            r.bind(n).raw("'k'").bind(s);
        });
        assert_eq!(sql.text, "VALUES ($1, 'k', $2), ($3, 'k', $4)");
    }
}
