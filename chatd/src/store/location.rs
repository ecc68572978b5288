//! Where the data lives, from `--database`: a SQLite file or a PostgreSQL URL, shown in
//! logs and `/status` without its password.

use std::path::PathBuf;

/// Which database, from `--database`: a SQLite path (or `sqlite://` URL), or a
/// `postgres://` / `postgresql://` URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(value: &str) -> Result<Location, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(Location::Postgres(value.to_string()));
        }
        if let Some(rest) = value.strip_prefix("sqlite://") {
            return Ok(Location::Sqlite(PathBuf::from(rest)));
        }
        if let Some(rest) = value.strip_prefix("sqlite:") {
            return Ok(Location::Sqlite(PathBuf::from(rest)));
        }
        if value.contains("://") {
            let scheme = value.split("://").next().unwrap_or_default();
            return Err(format!(
                "database URL scheme {scheme:?} is not supported by this build; use a SQLite \
                 file path, a sqlite:// URL or a postgres:// URL"
            ));
        }
        if value.is_empty() {
            return Err("--database must not be empty".into());
        }
        Ok(Location::Sqlite(PathBuf::from(value)))
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "sqlite",
            Location::Postgres(_) => "postgres",
        }
    }
}

/// Shown in logs and `/status`: the path, or the URL without its password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({self})", self.backend())
    }
}

/// The URL with its password, if it has one, replaced by `***`.
pub(super) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        let location = Location::parse("postgres://chat:s3cret@db.internal:5432/chat").unwrap();
        assert_eq!(
            location.to_string(),
            "postgres://chat:***@db.internal:5432/chat"
        );
        assert_eq!(
            Location::parse("postgresql://chat@db/chat")
                .unwrap()
                .to_string(),
            "postgresql://chat@db/chat"
        );
        assert_eq!(
            format!("{location:?}"),
            "postgres(postgres://chat:***@db.internal:5432/chat)"
        );
    }

    #[test]
    fn paths_and_sqlite_urls_name_a_file() {
        for value in ["chat.db", "sqlite://chat.db", "sqlite:chat.db"] {
            assert_eq!(
                Location::parse(value),
                Ok(Location::Sqlite(PathBuf::from("chat.db"))),
                "{value}"
            );
        }
        assert!(
            Location::parse("mysql://x/y")
                .unwrap_err()
                .contains("\"mysql\"")
        );
        assert!(Location::parse("").is_err());
    }
}
