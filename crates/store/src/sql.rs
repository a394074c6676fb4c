//! A small SQL text builder: bound values only, identifiers checked, placeholders per dialect.
//!
//! Every statement Sable runs is built here, so this is the one place where text and
//! values meet. Values are never pasted into the text; identifiers come from metadata
//! and are checked against `[a-z][a-z0-9_]*` before they are written.

use sable_core::Stored;

/// Which SQL dialect a statement is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A value bound to a placeholder. Nulls carry their column class because PostgreSQL
/// types every parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    NullInt,
    NullText,
}

impl Arg {
    /// A stored value as an argument, with `int` deciding the class of a null.
    pub fn from_stored(s: &Stored, int: bool) -> Arg {
        match s {
            Stored::Int(i) => Arg::Int(*i),
            Stored::Text(t) => Arg::Text(t.clone()),
            Stored::Null if int => Arg::NullInt,
            Stored::Null => Arg::NullText,
        }
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Arg {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        v.map_or(Arg::NullText, Arg::Text)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Int(i64::from(v))
    }
}

/// A statement being built.
#[derive(Clone, Debug)]
pub struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
    dialect: Dialect,
    /// Whether the connection may keep the prepared statement for reuse.
    pub(crate) persistent: bool,
}

/// True for identifiers the builder will write: lowercase letters, digits, underscores.
pub fn is_safe_ident(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Sql {
    /// An empty statement for a dialect.
    pub fn new(dialect: Dialect) -> Sql {
        Sql {
            text: String::with_capacity(256),
            args: Vec::new(),
            dialect,
            persistent: true,
        }
    }

    /// Marks a statement whose text varies with its data (multi-row inserts, `IN` lists of
    /// any length): connections would otherwise keep a prepared copy of every variant.
    pub fn one_off(&mut self) -> &mut Sql {
        self.persistent = false;
        self
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends fixed SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to a value.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Sql {
        self.args.push(arg.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.args.len().to_string());
            }
        }
        self
    }

    /// Appends a quoted identifier. Names come from metadata; an unsafe one is a bug,
    /// so it is refused loudly rather than written.
    pub fn ident(&mut self, name: &str) -> &mut Sql {
        assert!(is_safe_ident(name), "refusing unsafe SQL identifier {name:?}");
        self.text.push('"');
        self.text.push_str(name);
        self.text.push('"');
        self
    }

    /// Appends `prefix."name"`.
    pub fn col(&mut self, prefix: &str, name: &str) -> &mut Sql {
        self.push(prefix).push(".").ident(name)
    }

    /// Appends a comma-separated list of placeholders.
    pub fn bind_list(&mut self, args: impl IntoIterator<Item = Arg>) -> &mut Sql {
        self.one_off();
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(a);
        }
        self
    }

    /// The SQL text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        let mut s = Sql::new(Dialect::Postgres);
        s.push("SELECT 1 WHERE a = ").bind(1).push(" AND b = ").bind("x");
        assert_eq!(s.text(), "SELECT 1 WHERE a = $1 AND b = $2");
        let mut s = Sql::new(Dialect::Sqlite);
        s.push("SELECT 1 WHERE a = ")
            .bind(1)
            .push(" AND ")
            .ident("b_2")
            .push(" = ")
            .bind("x");
        assert_eq!(s.text(), "SELECT 1 WHERE a = ? AND \"b_2\" = ?");
    }

    #[test]
    #[should_panic(expected = "unsafe SQL identifier")]
    fn unsafe_identifiers_are_refused() {
        Sql::new(Dialect::Sqlite).ident("a\"; DROP TABLE x; --");
    }
}
