//! Rate limit: every rule of the domain matching this host and route is decided (locally or on
//! Redis, see [`crate::limiter`]); the strictest decision wins, its figures go in the response
//! headers, and a refusal is 429.

use mtls_policies::{combine, key_for, Decision, KeyPart, Refusal, RequestFacts};

use crate::connection::Connection;
use crate::limiter::RateLimiter;
use crate::metrics::{Metrics, RateLabels, RateOutcome, RuleName};

/// Whether a rule on this route keys on `client_id`, so the body must be read to find it.
pub fn needs_client_id(conn: &Connection, parts: &http::request::Parts) -> bool {
    let domain = &conn.host.domain.config;
    domain.rate_needs_client_id
        && domain
            .rate_rules
            .matching(conn.host.kind, parts.uri.path())
            .any(|(_, r)| r.key().parts().contains(&KeyPart::ClientId))
}

/// Decides every matching rule; the strictest decision is kept in `rate`.
pub async fn apply(
    conn: &Connection,
    limiter: &RateLimiter,
    metrics: &Metrics,
    parts: &http::request::Parts,
    client_id: Option<&str>,
    rate: &mut Option<Decision>,
) -> Result<(), Refusal> {
    let domain = &conn.host.domain.config;
    let path = parts.uri.path();
    let mut rules = domain.rate_rules.matching(conn.host.kind, path).peekable();
    if rules.peek().is_none() {
        return Ok(());
    }
    let facts = RequestFacts {
        client_ip: conn.peer.ip().to_canonical(),
        cert_thumbprint: conn.identity.as_ref().map(|id| id.thumbprint.0),
        client_id,
    };
    let mut decisions = Vec::new();
    for (id, rule) in rules {
        let Some(key) = key_for(rule, &facts) else {
            continue;
        };
        // Unique across domains and rules, for the shared Redis keyspace and the local table.
        let key = format!("mtls-gw:{}:{}:{}", domain.name, rule.name(), key.as_str());
        let (decision, source) = limiter.check(id, &key, rule.gcra(), metrics).await;
        let rule_label = domain.rate_rule_labels.get(id.0 as usize).copied();
        metrics
            .ratelimit_decisions
            .get_or_create(&RateLabels {
                rule: RuleName(rule_label.unwrap_or("unknown")),
                outcome: if decision.allowed {
                    RateOutcome::Allowed
                } else {
                    RateOutcome::Refused
                },
                source,
            })
            .inc();
        decisions.push(decision);
    }
    *rate = combine(decisions);
    match rate {
        Some(d) if !d.allowed => Err(Refusal::TooManyRequests {
            retry_after_secs: d.retry_after_secs().unwrap_or(1),
        }),
        _ => Ok(()),
    }
}
