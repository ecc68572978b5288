//! `chatctl conv prune --older-than 30d` (`DELETE /users/{id}/conversations?before=`):
//! the user's conversations whose last message (or creation) is older than that go,
//! with their messages. Conversations with a reply in flight are kept by the server.

use std::time::Duration;

use crate::client::unsupported_or;
use crate::context::Ctx;
use crate::error::Coded;

pub const EXAMPLES: &str = "\
Examples:
  chatctl conv prune --older-than 30d
  chatctl --json conv prune --older-than 2w | jq .deleted";

/// Exits 0 (also when nothing was old enough), 2 for a duration it cannot read, 3 when
/// the user does not exist or the server does not support pruning.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How long a conversation must have been idle: a number and a unit, s, m, h, d or w
    /// (e.g. 30d, 12h, 2w).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Duration,
}

impl Args {
    pub async fn run(self, ctx: &mut Ctx) -> anyhow::Result<()> {
        let user = ctx.user().await?;
        let age = chrono::TimeDelta::from_std(self.older_than)
            .ok()
            .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
            .ok_or_else(|| Coded::usage("--older-than reaches before any date chatd can hold"))?;
        let before = age.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let pruned = ctx
            .client
            .prune_conversations(user.id, &before)
            .await
            .map_err(|err| unsupported_or(err, ctx.client.server(), "pruning conversations"))
            .map_err(|err| {
                err.context(format!("could not prune {}'s conversations", user.username))
            })?;
        if ctx.out.json {
            ctx.out.json(&pruned)?;
        } else {
            let plural = if pruned.deleted == 1 { "" } else { "s" };
            ctx.out.line(&format!(
                "deleted {} conversation{plural} of {} idle since before {before}",
                pruned.deleted, user.username
            ))?;
        }
        Ok(())
    }
}

/// `30d`, `12h`, `90m`, `2w`, `45s`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit; add one of s, m, h, d, w (e.g. 30d)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a number (e.g. 30d)"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?}; use s, m, h, d or w (e.g. 30d)"
            ));
        }
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long ago"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_number_and_a_unit() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_age("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        for bad in ["30", "d", "30 days", "-1d", "1.5d", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }
}
