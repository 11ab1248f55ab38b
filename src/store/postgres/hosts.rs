//! The statements of politeness shared by the nodes (migration 0004): host turns through
//! `newsvault_take_host_slot` (one round trip per request start), slots given back,
//! Retry-After, and robots.txt fetched once for all. Every time is taken from the
//! database's clock (`clock_timestamp()`), so the nodes' clocks never enter.

use std::time::Duration;

use super::Db;
use crate::fetch::cluster::{HostTurn, RobotsTurn, SharedRobots, SlotToken, TurnLimits};
use crate::store::StoreError;

/// Microseconds, as the statements take and give durations.
fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

fn from_micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

impl Db {
    pub(in crate::store) async fn take_host_turn(
        &self,
        host: &str,
        limits: TurnLimits,
        slot_ttl: Duration,
    ) -> Result<HostTurn, StoreError> {
        let in_flight = i32::try_from(limits.in_flight.max(1)).unwrap_or(i32::MAX);
        let pid = i32::try_from(std::process::id()).unwrap_or(0);
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT slot_id, wait_us FROM newsvault_take_host_slot($1, $2, $3, $4, $5)",
                &[
                    &host,
                    &in_flight,
                    &micros(limits.delay),
                    &micros(slot_ttl),
                    &pid,
                ],
            )
            .await
            .map_err(self.failed("take a host turn"))?;
        let turn = (|| {
            let slot: Option<i64> = row.try_get(0)?;
            let wait: Option<i64> = row.try_get(1)?;
            // Neither a slot nor a wait: the function found every slot held (`slots_full`).
            Ok::<_, tokio_postgres::Error>(match (slot, wait) {
                (Some(id), _) => HostTurn::Granted(SlotToken(id)),
                (None, Some(wait)) => HostTurn::NotBefore(from_micros(wait)),
                (None, None) => HostTurn::Full,
            })
        })()
        .map_err(self.failed("take a host turn"))?;
        Ok(turn)
    }

    pub(in crate::store) async fn release_host_slot(
        &self,
        token: SlotToken,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM host_slots WHERE id = $1", &[&token.0])
            .await
            .map_err(self.failed("give back a host slot"))?;
        Ok(())
    }

    pub(in crate::store) async fn defer_host(
        &self,
        host: &str,
        wait: Duration,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO hosts (host, retry_after_until)
                 VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
                 ON CONFLICT (host) DO UPDATE SET retry_after_until =
                     greatest(hosts.retry_after_until, EXCLUDED.retry_after_until)",
                &[&host, &micros(wait)],
            )
            .await
            .map_err(self.failed("defer a host"))?;
        Ok(())
    }

    pub(in crate::store) async fn robots_turn(
        &self,
        origin: &str,
        fetch_within: Duration,
    ) -> Result<RobotsTurn, StoreError> {
        let client = self.client().await?;
        let fresh = client
            .query_opt(
                "SELECT outcome, body, unavailable_reason,
                        ceil(extract(epoch FROM expires_at - clock_timestamp()) * 1000000)::bigint
                 FROM robots_txt
                 WHERE origin = $1 AND outcome IS NOT NULL AND expires_at > clock_timestamp()",
                &[&origin],
            )
            .await
            .map_err(self.failed("read a shared robots.txt"))?;
        if let Some(row) = fresh {
            let (outcome, body, reason, left) = (|| {
                Ok::<_, tokio_postgres::Error>((
                    row.try_get::<_, String>(0)?,
                    row.try_get::<_, Option<Vec<u8>>>(1)?,
                    row.try_get::<_, Option<String>>(2)?,
                    row.try_get::<_, i64>(3)?,
                ))
            })()
            .map_err(self.failed("read a shared robots.txt"))?;
            let robots = match outcome.as_str() {
                "rules" => SharedRobots::Rules(body.unwrap_or_default()),
                "allow_all" => SharedRobots::AllowAll,
                _ => SharedRobots::Unavailable(reason.unwrap_or_default()),
            };
            return Ok(RobotsTurn::Fresh {
                robots,
                fresh_for: from_micros(left),
            });
        }
        // Absent or stale: claim the fetch unless another node holds a claim that stands.
        let claimed = client
            .query_opt(
                "INSERT INTO robots_txt (origin, fetching_until)
                 VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond')
                 ON CONFLICT (origin) DO UPDATE SET fetching_until = EXCLUDED.fetching_until
                 WHERE (robots_txt.fetching_until IS NULL
                        OR robots_txt.fetching_until <= clock_timestamp())
                   AND (robots_txt.expires_at IS NULL
                        OR robots_txt.expires_at <= clock_timestamp())
                 RETURNING origin",
                &[&origin, &micros(fetch_within)],
            )
            .await
            .map_err(self.failed("claim a robots.txt fetch"))?;
        // Not claimed: being fetched, or shared just now (the next ask finds it fresh).
        Ok(match claimed {
            Some(_) => RobotsTurn::YoursToFetch,
            None => RobotsTurn::BeingFetched,
        })
    }

    pub(in crate::store) async fn share_robots(
        &self,
        origin: &str,
        robots: &SharedRobots,
        fresh_for: Duration,
    ) -> Result<(), StoreError> {
        let (outcome, body, reason): (&str, Option<&[u8]>, Option<&str>) = match robots {
            SharedRobots::Rules(body) => ("rules", Some(body), None),
            SharedRobots::AllowAll => ("allow_all", None, None),
            SharedRobots::Unavailable(why) => ("unavailable", None, Some(why)),
        };
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO robots_txt
                     (origin, outcome, body, unavailable_reason, fetched_at, expires_at)
                 VALUES ($1, $2, $3, $4, clock_timestamp(),
                         clock_timestamp() + $5::bigint * interval '1 microsecond')
                 ON CONFLICT (origin) DO UPDATE SET
                     outcome = EXCLUDED.outcome, body = EXCLUDED.body,
                     unavailable_reason = EXCLUDED.unavailable_reason,
                     fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at,
                     fetching_until = NULL",
                &[&origin, &outcome, &body, &reason, &micros(fresh_for)],
            )
            .await
            .map_err(self.failed("share a robots.txt"))?;
        Ok(())
    }
}
