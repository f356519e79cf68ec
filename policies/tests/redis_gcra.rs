//! `GCRA_LUA` on a real `redis-server`, step for step against the pure
//! `decide`.
//!
//! Each test starts its own throwaway server on a free loopback port, with
//! persistence off. Without `redis-server` on the PATH the tests say so
//! loudly and pass, except under `CI=true`, where they fail: CI installs it.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mtls_policies::{decide, decision_from_reply, Decision, Gcra, Quota, GCRA_LUA};

/// A `redis-server` child, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A running server and a connection to it, or `None` (after saying why)
/// when the machine has no `redis-server` and this is not CI.
fn start() -> Option<(RedisServer, redis::Connection)> {
    if !redis_server_available() {
        let message = "redis-server not found on PATH: the GCRA_LUA tests against a real \
                       Redis did NOT run (apt-get install redis-server)";
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("{message}");
        }
        // Straight to stderr, past the test harness's capture, so the skip
        // shows in a normal `cargo test` run.
        let _ = writeln!(std::io::stderr(), "\n!!!!!!!! {message} !!!!!!!!\n");
        return None;
    }
    // Another process may take the port between the drop and the bind: retry.
    for _ in 0..5 {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
            listener.local_addr().expect("local address").port()
        };
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let mut server = RedisServer { child, port };
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).expect("url");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.child.try_wait() {
                break; // exited: most likely the port was taken
            }
            if let Ok(mut connection) = client.get_connection() {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query(&mut connection);
                if pong.is_ok() {
                    return Some((server, connection));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("redis-server did not start on a free loopback port");
}

/// One script call; `now_us` replaces the server's TIME when given.
fn eval(
    connection: &mut redis::Connection,
    key: &str,
    gcra: &Gcra,
    now_us: Option<u64>,
) -> Vec<i64> {
    let [interval, tolerance] = gcra.script_args();
    let mut command = redis::cmd("EVAL");
    command
        .arg(GCRA_LUA)
        .arg(1)
        .arg(key)
        .arg(interval)
        .arg(tolerance);
    if let Some(now) = now_us {
        command.arg(now);
    }
    command.query(connection).expect("EVAL GCRA_LUA")
}

fn script_decision(
    connection: &mut redis::Connection,
    key: &str,
    gcra: &Gcra,
    now_us: Option<u64>,
) -> Decision {
    let reply = eval(connection, key, gcra, now_us);
    decision_from_reply(&reply, gcra.limit()).expect("a reply GCRA_LUA can give")
}

/// Deterministic pseudo-random steps.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn script_matches_decide_step_for_step() {
    let Some((_server, mut connection)) = start() else {
        return;
    };
    // Intervals of seconds, so no key expires in real time while the test
    // replays simulated time; one with an interval of an odd microsecond
    // count (3 per second), one with burst 1, one with a larger burst.
    let quotas = [
        Quota::per_minute(6, 4).unwrap(),
        Quota::new(3, Duration::from_secs(10), 1).unwrap(),
        Quota::new(7, Duration::from_secs(20), 1).unwrap(),
        Quota::new(60, Duration::from_secs(3_600), 20).unwrap(),
    ];
    // Start near today's Unix time in microseconds, as TIME would give.
    let start_us: u64 = 1_760_000_000_000_000;
    for (index, quota) in quotas.iter().enumerate() {
        let gcra = Gcra::new(*quota);
        let key = format!("test:gcra:{index}");
        let mut random = SplitMix(index as u64 + 1);
        let (mut now_us, mut tat, mut allowed, mut refused) = (start_us, None, 0, 0);
        for step in 0..2_000 {
            // Bursts of simultaneous requests, short gaps and long idles.
            now_us += match random.next() % 10 {
                0..=3 => 0,
                4..=7 => random.next() % 2_000_000,
                8 => random.next() % 20_000_000,
                _ => random.next() % 400_000_000,
            };
            let expected = decide(tat, now_us * 1_000, &gcra);
            tat = Some(expected.new_tat);
            let actual = script_decision(&mut connection, &key, &gcra, Some(now_us));
            assert_eq!(actual, expected.decision, "quota {quota:?}, step {step}");
            if actual.allowed {
                allowed += 1;
                // The key lives exactly until its bucket is full again.
                let ttl_ms: i64 = redis::cmd("PTTL")
                    .arg(&key)
                    .query(&mut connection)
                    .expect("PTTL");
                let reset_ms = actual.reset_after.as_micros().div_ceil(1_000) as i64;
                assert!(
                    ttl_ms > 0 && ttl_ms <= reset_ms && reset_ms - ttl_ms < 1_000,
                    "pttl {ttl_ms} ms for a bucket full in {reset_ms} ms"
                );
            } else {
                refused += 1;
            }
        }
        assert!(
            allowed > 100 && refused > 100,
            "{quota:?}: {allowed} allowed, {refused} refused"
        );
    }
}

#[test]
fn script_uses_the_server_clock_by_default() {
    let Some((_server, mut connection)) = start() else {
        return;
    };
    let gcra = Gcra::new(Quota::per_minute(1, 3).unwrap());
    for remaining in [2, 1, 0] {
        let decision = script_decision(&mut connection, "test:time", &gcra, None);
        assert!(decision.allowed);
        assert_eq!(decision.remaining, remaining);
    }
    let refused = script_decision(&mut connection, "test:time", &gcra, None);
    assert!(!refused.allowed);
    let retry = refused.retry_after.expect("a refusal says when to retry");
    // Loose below: real time passes between the calls on a loaded machine.
    assert!(retry > Duration::from_secs(50) && retry <= Duration::from_secs(60));
    assert!(refused
        .retry_after_secs()
        .is_some_and(|secs| (51..=60).contains(&secs)));
    // The stored TAT is microseconds on the server's Unix clock.
    let tat: u64 = redis::cmd("GET")
        .arg("test:time")
        .query(&mut connection)
        .expect("GET");
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query(&mut connection).expect("TIME");
    let server_now = seconds * 1_000_000 + micros;
    assert!(tat > server_now + 170_000_000 && tat <= server_now + 180_000_000);
}

#[test]
fn refusals_write_nothing_and_full_buckets_expire() {
    let Some((_server, mut connection)) = start() else {
        return;
    };
    let gcra = Gcra::new(Quota::new(1, Duration::from_millis(50), 1).unwrap());
    let now = 1_760_000_000_000_000;
    assert!(script_decision(&mut connection, "test:expire", &gcra, Some(now)).allowed);
    let before: String = redis::cmd("GET")
        .arg("test:expire")
        .query(&mut connection)
        .expect("GET");
    assert_eq!(
        before,
        (now + 50_000).to_string(),
        "stored as a plain integer"
    );
    assert!(!script_decision(&mut connection, "test:expire", &gcra, Some(now + 10)).allowed);
    let after: String = redis::cmd("GET")
        .arg("test:expire")
        .query(&mut connection)
        .expect("GET");
    assert_eq!(before, after);
    // 50 ms of real time later the bucket is full and Redis has dropped it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let exists: i64 = redis::cmd("EXISTS")
            .arg("test:expire")
            .query(&mut connection)
            .expect("EXISTS");
        if exists == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "key outlived its state");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn bad_arguments_are_an_error_not_a_decision() {
    let Some((_server, mut connection)) = start() else {
        return;
    };
    for args in [["0", "0"], ["x", "0"], ["1", "-1"]] {
        let result: redis::RedisResult<Vec<i64>> = redis::cmd("EVAL")
            .arg(GCRA_LUA)
            .arg(1)
            .arg("test:bad")
            .arg(&args[..])
            .query(&mut connection);
        assert!(result.is_err(), "{args:?}");
    }
}
