//! Columns read the cheap way, for the reads that run per message. Timestamps skip
//! chrono's format machinery, which parses its pattern string on every call: diesel
//! reads a SQLite timestamp by trying up to 18 patterns in turn, and that showed as a
//! tenth of a conversation read in profiles; both directions here handle the one layout
//! chatd writes and hand anything else to the general code; a list's times are read
//! straight into the API's text (`ApiTime`). A message's role and status are read
//! straight into their enums instead of into a `String` each.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use common::{MessageStatus, Role};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::{Pg, PgValue};
use diesel::sql_types::{Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

/// `messages.role` as read. Anything but `assistant` is a user's, as chatd never writes
/// another value.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct StoredRole(Role);

impl From<StoredRole> for Role {
    fn from(stored: StoredRole) -> Role {
        stored.0
    }
}

fn role_of(text: &[u8]) -> StoredRole {
    StoredRole(if text == b"assistant" {
        Role::Assistant
    } else {
        Role::User
    })
}

impl FromSql<Text, Sqlite> for StoredRole {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Ok(role_of(value.read_text().as_bytes()))
    }
}

impl FromSql<Text, Pg> for StoredRole {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(role_of(value.as_bytes()))
    }
}

/// `messages.status` as read; an unknown value (a database edited by hand) reads as
/// `complete`, the status of every message written before statuses existed.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct StoredStatus(MessageStatus);

impl From<StoredStatus> for MessageStatus {
    fn from(stored: StoredStatus) -> MessageStatus {
        stored.0
    }
}

fn status_of(text: &[u8]) -> StoredStatus {
    let parsed = std::str::from_utf8(text)
        .ok()
        .and_then(MessageStatus::parse);
    StoredStatus(parsed.unwrap_or(MessageStatus::Complete))
}

impl FromSql<Text, Sqlite> for StoredStatus {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Ok(status_of(value.read_text().as_bytes()))
    }
}

impl FromSql<Text, Pg> for StoredStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(status_of(value.as_bytes()))
    }
}

/// A `created_at` column as read: a fast path for SQLite's text, PostgreSQL's binary
/// timestamps as diesel reads them.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct StoredTime(pub NaiveDateTime);

impl From<StoredTime> for NaiveDateTime {
    fn from(stored: StoredTime) -> NaiveDateTime {
        stored.0
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(at) = parse_sqlite_text(value.read_text()) {
            return Ok(StoredTime(at));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 fraction digits: what diesel
/// writes for a `NaiveDateTime` on SQLite.
fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[10] != b' ' {
        return None;
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes.get(range)?.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let nanos = match bytes.len() {
        19 => 0,
        21..=29 if bytes[19] == b'.' => {
            let fraction = digits(20..bytes.len())?;
            fraction * 10u32.pow(29 - bytes.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?.and_hms_nano_opt(
        digits(11..13)?,
        digits(14..16)?,
        digits(17..19)?,
        nanos,
    )
}

/// RFC 3339 in UTC with microseconds and a `Z` (API addendum 1), e.g.
/// `2026-11-24T05:39:12.123456Z`. Years outside 0..=9999 cannot be stored by chatd.
pub fn rfc3339_micros(at: &NaiveDateTime) -> String {
    ApiTime::of(at).as_str().to_owned()
}

/// A timestamp as the API writes it (`rfc3339_micros`), kept as its 27 ASCII bytes.
/// As a column it is a `created_at` read straight into that text, for the lists that
/// show many rows and do nothing else with the time: chatd's own layout is rearranged
/// byte by byte once it has parsed (so exactly what parses is taken, as `StoredTime`
/// does), and anything else goes through the general code. In a list read, parsing the
/// time and formatting it again was a fifth of the instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct ApiTime([u8; 27]);

impl ApiTime {
    pub fn of(at: &NaiveDateTime) -> ApiTime {
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, at.year().clamp(0, 9999) as u32);
        put(5, 2, at.month());
        put(8, 2, at.day());
        put(11, 2, at.hour());
        put(14, 2, at.minute());
        // A leap second shows as :60, as chrono's own formatting does.
        put(17, 2, at.second() + at.nanosecond() / 1_000_000_000);
        put(20, 6, at.nanosecond() % 1_000_000_000 / 1_000);
        ApiTime(out)
    }

    /// `text` in chatd's SQLite layout, which `parse_sqlite_text` has accepted: the
    /// date and the time as they are, the fraction cut or padded to six digits.
    fn of_sqlite_text(text: &[u8]) -> ApiTime {
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        out[..10].copy_from_slice(&text[..10]);
        out[11..19].copy_from_slice(&text[11..19]);
        let fraction = text.get(20..).unwrap_or_default();
        let kept = fraction.len().min(6);
        out[20..20 + kept].copy_from_slice(&fraction[..kept]);
        ApiTime(out)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromSql<Timestamp, Sqlite> for ApiTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = value.read_text();
        if parse_sqlite_text(text).is_some() {
            return Ok(ApiTime::of_sqlite_text(text.as_bytes()));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(|at| ApiTime::of(&at))
    }
}

impl FromSql<Timestamp, Pg> for ApiTime {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|at| ApiTime::of(&at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_parse(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn the_fast_parser_agrees_with_chrono_on_what_diesel_writes() {
        for text in [
            "2026-11-24 05:39:12.123456",
            "2026-11-24 05:39:12",
            "1999-01-01 00:00:00.5",
            "2026-02-28 23:59:59.999999999",
            "0001-01-01 00:00:00.000001",
        ] {
            assert_eq!(parse_sqlite_text(text), Some(chrono_parse(text)), "{text}");
        }
    }

    #[test]
    fn a_time_read_as_text_is_what_formatting_the_parsed_time_writes() {
        for text in [
            "2026-11-24 05:39:12.123456",
            "2026-11-24 05:39:12",
            "1999-01-01 00:00:00.5",
            "2026-02-28 23:59:59.999999999",
            "2024-02-29 12:00:00.1234567",
            "0001-01-01 00:00:00.000001",
            "9999-12-31 23:59:59.99",
        ] {
            let parsed = chrono_parse(text);
            assert_eq!(
                ApiTime::of_sqlite_text(text.as_bytes()),
                ApiTime::of(&parsed),
                "{text}"
            );
            assert_eq!(
                ApiTime::of(&parsed).as_str(),
                parsed.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
        }
    }

    #[test]
    fn anything_else_is_left_to_diesel() {
        for text in [
            "2026-11-24T05:39:12",
            "2026-11-24 05:39:12.",
            "2026-11-24 05:39:12.1234567890",
            "2026-13-24 05:39:12",
            "2026-11-24 05:39",
            "2026-11-24 05:39:12Z",
            "2460638.5",
            "2026-11-2x 05:39:12",
        ] {
            assert_eq!(parse_sqlite_text(text), None, "{text}");
        }
    }

    #[test]
    fn roles_and_statuses_read_as_chatd_writes_them_and_leniently_otherwise() {
        for role in [Role::User, Role::Assistant] {
            assert_eq!(role_of(role.as_str().as_bytes()).0, role);
        }
        assert_eq!(role_of(b"system").0, Role::User);
        for status in [
            MessageStatus::Complete,
            MessageStatus::Cancelled,
            MessageStatus::Failed,
            MessageStatus::Interrupted,
            MessageStatus::Truncated,
        ] {
            assert_eq!(status_of(status.as_str().as_bytes()).0, status);
        }
        assert_eq!(status_of(b"").0, MessageStatus::Complete);
        assert_eq!(status_of(b"\xff").0, MessageStatus::Complete);
    }

    #[test]
    fn output_is_utc_with_microseconds() {
        assert_eq!(
            rfc3339_micros(&chrono_parse("2026-11-24 05:39:12.123456")),
            "2026-11-24T05:39:12.123456Z"
        );
        assert_eq!(
            rfc3339_micros(&chrono_parse("2026-11-24 05:39:12")),
            "2026-11-24T05:39:12.000000Z"
        );
        assert_eq!(
            rfc3339_micros(&chrono_parse("0042-01-02 03:04:05.000007")),
            "0042-01-02T03:04:05.000007Z"
        );
    }
}
