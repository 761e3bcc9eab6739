//! Rows of a multi-row statement in the form each backend handles best: `VALUES (…), (…)` on
//! SQLite, and on PostgreSQL one array per column read back as rows by `unnest`, so that a
//! statement has one shape (one prepared statement, planned once per connection) for any
//! number of rows, where each count of `VALUES` rows is a statement of its own.

use super::sql::{Item, RowBinder, Sink};
use super::{Arg, Backend, Sql};

impl Sql {
    /// Appends the rows as a row source for `INSERT INTO t (…) ` or `WITH k(…) AS (…)`:
    /// `VALUES …` on SQLite, `SELECT … FROM unnest(…)` on PostgreSQL. Literal values
    /// ([`RowBinder::raw`]) must be the same in every row; rows must not be empty.
    pub fn bind_table<R, F>(
        &mut self,
        backend: Backend,
        rows: impl IntoIterator<Item = R>,
        mut row: F,
    ) -> &mut Self
    where
        F: FnMut(&mut RowBinder<'_>, R),
    {
        if backend == Backend::Sqlite {
            return self.push("VALUES ").bind_rows(rows, row);
        }
        let mut table: Vec<Vec<Item>> = Vec::new();
        for r in rows {
            let mut items = Vec::new();
            let mut binder = RowBinder {
                sink: Sink::Items(&mut items),
                first: true,
            };
            row(&mut binder, r);
            table.push(items);
        }
        let width = table.first().map_or(0, Vec::len);
        let row_count = table.len();
        let mut columns: Vec<Vec<Arg>> = vec![Vec::with_capacity(table.len()); width];
        let mut literals: Vec<Option<String>> = vec![None; width];
        for items in table {
            assert_eq!(items.len(), width, "every row binds the same columns");
            for (at, item) in items.into_iter().enumerate() {
                match item {
                    Item::Bind(arg) => columns[at].push(arg),
                    Item::Raw(text) => {
                        let same = literals[at].as_ref().is_none_or(|was| *was == text);
                        assert!(same, "a literal column has one value in every row");
                        literals[at] = Some(text);
                    }
                }
            }
        }
        for (values, literal) in columns.iter().zip(&literals) {
            let rows = if literal.is_some() { 0 } else { row_count };
            assert_eq!(
                values.len(),
                rows,
                "a column is bound in every row or in none"
            );
        }
        self.push("SELECT ");
        let mut arrays = Vec::new();
        for (at, literal) in literals.iter().enumerate() {
            if at > 0 {
                self.push(", ");
            }
            match literal {
                Some(text) => {
                    self.push(text);
                }
                None => {
                    self.push(&format!("u.c{at}"));
                    arrays.push(at);
                }
            }
        }
        self.push(" FROM unnest(");
        for (i, &at) in arrays.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            let (array, kind) = column(std::mem::take(&mut columns[at]));
            self.push("CAST(")
                .bind(array)
                .push(" AS ")
                .push(kind)
                .push("[])");
        }
        let names: Vec<String> = arrays.iter().map(|at| format!("c{at}")).collect();
        self.push(") AS u(").push(&names.join(", ")).push(")")
    }

    /// Appends the right side of `x IN …` for `ids` (at least one): `(v1, v2, …)` on SQLite;
    /// on PostgreSQL the ids read from one array, so that the statement has one shape for any
    /// number of them (a list has one per count, each planned on each connection the first
    /// time a batch of that size comes: a burst's first groups planned their reads afresh).
    pub fn bind_ids(&mut self, backend: Backend, ids: impl IntoIterator<Item = i64>) -> &mut Self {
        if backend == Backend::Sqlite {
            return self.bind_list(ids);
        }
        self.push("(")
            .bind_table(backend, ids, |r, id| {
                r.bind(id);
            })
            .push(")")
    }
}

/// One column's values as one array argument, with its SQL type.
fn column(values: Vec<Arg>) -> (Arg, &'static str) {
    match values.first() {
        Some(Arg::Int(_) | Arg::OptInt(_)) => {
            let ints = cells(values, |a| match a {
                Arg::Int(v) => Ok(Some(v)),
                Arg::OptInt(v) => Ok(v),
                other => Err(other),
            });
            (Arg::Ints(ints), "bigint")
        }
        Some(Arg::Text(_) | Arg::OptText(_)) => {
            let texts = cells(values, |a| match a {
                Arg::Text(v) => Ok(Some(v)),
                Arg::OptText(v) => Ok(v),
                other => Err(other),
            });
            (Arg::Texts(texts), "text")
        }
        Some(Arg::Time(_) | Arg::OptTime(_)) => {
            let times = cells(values, |a| match a {
                Arg::Time(v) => Ok(Some(v)),
                Arg::OptTime(v) => Ok(v),
                other => Err(other),
            });
            (Arg::Times(times), "timestamptz")
        }
        Some(Arg::Bool(_)) => {
            let bools = cells(values, |a| match a {
                Arg::Bool(v) => Ok(v),
                other => Err(other),
            });
            (Arg::Bools(bools), "boolean")
        }
        Some(other) => panic!("an array cannot be a column's value: {other:?}"),
        None => panic!("a table needs at least one row"),
    }
}

/// Each value of a column through `cell`; a value of another kind is a bug in the caller.
fn cells<T>(values: Vec<Arg>, cell: fn(Arg) -> Result<T, Arg>) -> Vec<T> {
    values
        .into_iter()
        .map(|a| cell(a).unwrap_or_else(|a| panic!("a column mixes kinds of values: {a:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_columns_on_postgres_and_stay_rows_on_sqlite() {
        let rows = [(1_i64, Some("a")), (2, None)];
        let bind = |r: &mut RowBinder<'_>, (n, s): (i64, Option<&str>)| {
            r.bind(n).raw("'open'").bind(s);
        };
        let mut sql = Sql::new("INSERT INTO t (n, state, s) ");
        sql.bind_table(Backend::Sqlite, rows, bind);
        assert_eq!(
            sql.text,
            "INSERT INTO t (n, state, s) VALUES ($1, 'open', $2), ($3, 'open', $4)"
        );
        let mut sql = Sql::new("INSERT INTO t (n, state, s) ");
        sql.bind_table(Backend::Postgres, rows, bind);
        assert_eq!(
            sql.text,
            "INSERT INTO t (n, state, s) SELECT u.c0, 'open', u.c2 FROM unnest(CAST($1 AS bigint[]), \
             CAST($2 AS text[])) AS u(c0, c2)"
        );
        assert!(matches!(&sql.args[..], [Arg::Ints(n), Arg::Texts(s)]
            if n == &[Some(1), Some(2)] && s == &[Some("a".to_owned()), None]));
    }

    #[test]
    #[should_panic(expected = "bound in every row or in none")]
    fn a_column_bound_in_some_rows_and_literal_in_others_is_refused() {
        let mut sql = Sql::new("INSERT INTO t (n) ");
        sql.bind_table(Backend::Postgres, [1_i64, 2], |r, n| {
            if n == 1 {
                r.bind(n);
            } else {
                r.raw("0");
            }
        });
    }

    #[test]
    #[should_panic(expected = "one value in every row")]
    fn a_literal_column_with_two_values_is_refused() {
        let mut sql = Sql::new("INSERT INTO t (state) ");
        sql.bind_table(Backend::Postgres, ["'open'", "'done'"], |r, state| {
            r.raw(state);
        });
    }
}
