//! Cost of one rate-limit decision through the gateway's limiter, local and Redis.
//!
//! `cargo bench -p mtls-gateway --bench ratelimit` (starts its own redis-server on a free loopback
//! port; the Redis half is skipped with a message when redis-server is not installed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mtls_gateway::config::{RateBackend, RateLimitConfig, RedisFailMode};
use mtls_gateway::limiter::RateLimiter;
use mtls_gateway::metrics::Metrics;
use mtls_gateway::metrics::RateSource as Source;
use mtls_policies::{Gcra, Quota, RuleId};

const DECISIONS: usize = 20_000;

fn config(backend: RateBackend, url: Option<String>) -> RateLimitConfig {
    RateLimitConfig {
        backend,
        max_keys: 200_000,
        redis_url: url,
        redis_timeout: Duration::from_millis(200),
        on_redis_error: RedisFailMode::FailOpen,
    }
}

async fn run(
    name: &str,
    limiter: Arc<RateLimiter>,
    gcra: Gcra,
    concurrency: usize,
    keys: usize,
    want: Source,
) {
    let metrics = Arc::new(Metrics::new());
    let started = Instant::now();
    let per_task = DECISIONS / concurrency;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (limiter, metrics, gcra) = (limiter.clone(), metrics.clone(), gcra);
        tasks.push(tokio::spawn(async move {
            let mut off = 0;
            for i in 0..per_task {
                let key = format!("bench:{}", (t * per_task + i) % keys);
                let (_, source) = limiter.check(RuleId(0), &key, &gcra, &metrics).await;
                if source != want {
                    off += 1;
                }
            }
            off
        }));
    }
    let mut off = 0;
    for t in tasks {
        off += t.await.unwrap_or(0);
    }
    let elapsed = started.elapsed();
    println!(
        "{name:<40} {:>9.0} ns/decision wall  {:>9.0} decisions/s  ({} decisions, {concurrency} concurrent, {keys} keys{})",
        elapsed.as_nanos() as f64 / (per_task * concurrency) as f64,
        (per_task * concurrency) as f64 / elapsed.as_secs_f64(),
        per_task * concurrency,
        if off > 0 { format!(", {off} decided elsewhere!") } else { String::new() }
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let gcra =
            Gcra::new(Quota::new(1_000_000, Duration::from_secs(1), 1_000_000).expect("quota"));
        let local = Arc::new(RateLimiter::new(&config(RateBackend::Local, None)).expect("local"));
        for (c, k) in [(1, 1), (1, 100_000), (16, 100_000)] {
            run("local", local.clone(), gcra, c, k, Source::Local).await;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port());
        let Ok(port) = port else { return };
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            println!("redis-server not installed: Redis figures skipped");
            return;
        };
        let url = format!("redis://127.0.0.1:{port}/");
        let redis =
            Arc::new(RateLimiter::new(&config(RateBackend::Redis, Some(url))).expect("redis"));
        // Wait for the background connection.
        let metrics = Metrics::new();
        for _ in 0..200 {
            if redis.check(RuleId(0), "warmup", &gcra, &metrics).await.1 == Source::Redis {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for (c, k) in [(1, 1), (1, 100_000), (16, 100_000), (64, 100_000)] {
            run(
                "redis (one Lua script per decision)",
                redis.clone(),
                gcra,
                c,
                k,
                Source::Redis,
            )
            .await;
        }
        let _ = child.kill();
        let _ = child.wait();
    });
}
