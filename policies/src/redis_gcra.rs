//! The cluster-wide limiter's algorithm: GCRA as a Redis Lua script.
//!
//! Replicas share one bucket per key only if the read-decide-write happens
//! atomically where the state lives, so the whole [`decide`](crate::gcra::decide)
//! step runs inside Redis. The script is kept here, beside the pure version it
//! must agree with, so that both change together; the connection handling
//! lives with the rest of the gateway's I/O.
//!
//! Units are microseconds, not the local limiter's nanoseconds: Lua numbers
//! are doubles, exact only up to 2^53, and nanoseconds since 1970 are past
//! that while microseconds stay below it until the year 2255. [`Gcra`] keeps
//! its emission interval a whole number of microseconds, so both sides
//! enforce the same interval.
//!
//! [`Gcra`]: crate::gcra::Gcra

use std::time::Duration;

use thiserror::Error;

use crate::gcra::Decision;

/// GCRA for one key, atomically.
///
/// - `KEYS[1]`: the bucket. Its value is the theoretical arrival time (TAT),
///   microseconds since the Unix epoch, as a decimal integer.
/// - `ARGV[1]`: emission interval `T`, microseconds, ≥ 1
///   ([`Gcra::script_args`](crate::gcra::Gcra::script_args)`[0]`).
/// - `ARGV[2]`: delay tolerance `τ`, microseconds, ≥ 0 (`[1]`).
/// - `ARGV[3]`, optional: "now" in microseconds. Leave it out in production:
///   the script then reads Redis `TIME`, one clock shared by every replica,
///   so replicas whose clocks disagree cannot hand out extra requests or
///   refuse early. Tests pass it to replay a simulated timeline.
///
/// Returns `{allowed (1|0), remaining, reset_after_us, retry_after_us}`, the
/// last being `-1` when allowed; parse it with [`decision_from_reply`].
/// Microseconds rather than milliseconds, so the reply is exactly what the
/// pure [`decide`](crate::gcra::decide) computes.
///
/// An admitted request stores the new TAT with `PX` set to when the bucket is
/// full again: from then on the key carries no state, and Redis drops it, so
/// memory holds only clients that currently owe something. A refusal writes
/// nothing. `TIME` before a write needs effect replication, the only mode
/// from Redis 7 on; `redis.replicate_commands()` asks for it on 3.2 to 6.x.
pub const GCRA_LUA: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
if not interval or interval < 1 or not tolerance or tolerance < 0 then
  return redis.error_reply('gcra: ARGV[1] must be >= 1 and ARGV[2] >= 0')
end
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local debt = tat - now
if debt > tolerance then
  return {0, 0, debt, debt - tolerance}
end
local new_debt = debt + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval),
  'PX', string.format('%.0f', math.ceil(new_debt / 1000)))
return {1, math.floor((tolerance - debt) / interval), new_debt, -1}
"#;

/// A script reply that is not what [`GCRA_LUA`] returns: a different or
/// tampered script under the same name, or a version mismatch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptReplyError {
    /// Not four integers.
    #[error("expected 4 integers, got {0}")]
    Length(usize),
    /// One field is out of its range.
    #[error("reply field {field} has impossible value {value}")]
    Field { field: &'static str, value: i64 },
}

/// Turns the script's reply into a [`Decision`]. `limit` is the burst of the
/// quota the script was called with (the script does not echo it).
pub fn decision_from_reply(reply: &[i64], limit: u32) -> Result<Decision, ScriptReplyError> {
    let &[allowed, remaining, reset_after, retry_after] = reply else {
        return Err(ScriptReplyError::Length(reply.len()));
    };
    let allowed = match allowed {
        0 => false,
        1 => true,
        value => {
            return Err(ScriptReplyError::Field {
                field: "allowed",
                value,
            })
        }
    };
    let remaining = u32::try_from(remaining)
        .ok()
        .filter(|remaining| *remaining <= limit && (allowed || *remaining == 0))
        .ok_or(ScriptReplyError::Field {
            field: "remaining",
            value: remaining,
        })?;
    let reset_after = micros(reset_after).ok_or(ScriptReplyError::Field {
        field: "reset_after_us",
        value: reset_after,
    })?;
    let retry_after = match (allowed, retry_after) {
        (true, -1) => None,
        (false, value) if value >= 0 => micros(value),
        (_, value) => {
            return Err(ScriptReplyError::Field {
                field: "retry_after_us",
                value,
            })
        }
    };
    Ok(Decision {
        allowed,
        limit,
        remaining,
        reset_after,
        retry_after,
    })
}

fn micros(value: i64) -> Option<Duration> {
    u64::try_from(value).ok().map(Duration::from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_allowed_and_refused() {
        assert_eq!(
            decision_from_reply(&[1, 2, 300, -1], 3),
            Ok(Decision {
                allowed: true,
                limit: 3,
                remaining: 2,
                reset_after: Duration::from_micros(300),
                retry_after: None,
            })
        );
        assert_eq!(
            decision_from_reply(&[0, 0, 900, 100], 3),
            Ok(Decision {
                allowed: false,
                limit: 3,
                remaining: 0,
                reset_after: Duration::from_micros(900),
                retry_after: Some(Duration::from_micros(100)),
            })
        );
    }

    #[test]
    fn rejects_impossible_replies() {
        assert_eq!(
            decision_from_reply(&[1, 2, 3], 3),
            Err(ScriptReplyError::Length(3))
        );
        for reply in [
            [2, 0, 0, -1],
            [1, 4, 0, -1],
            [1, -1, 0, -1],
            [0, 1, 0, 0],
            [1, 0, -5, -1],
            [1, 0, 0, 0],
            [0, 0, 0, -1],
        ] {
            assert!(decision_from_reply(&reply, 3).is_err(), "{reply:?}");
        }
    }

    #[test]
    fn script_names_every_argument_it_documents() {
        for needle in ["KEYS[1]", "ARGV[1]", "ARGV[2]", "ARGV[3]", "'TIME'", "'PX'"] {
            assert!(GCRA_LUA.contains(needle), "{needle}");
        }
    }
}
