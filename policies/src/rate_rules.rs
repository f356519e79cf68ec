//! Which rate limits apply to a request.
//!
//! A rule names the routes it guards, the hosts (custom domain, mTLS alias or
//! both), what identifies a client (address, certificate, `client_id`, or a
//! combination) and the quota. Several rules usually apply at once — a
//! generous per-address flood limit and a strict per-`client_id` credential
//! stuffing limit on `/oauth/token` — and the strictest answer wins
//! ([`combine`]). The key a rule counts a request under is built in
//! [`rate_key`](crate::rate_key).

use thiserror::Error;

use crate::gcra::{Decision, Gcra, Quota};
use crate::route::{RouteError, RouteList};

// The key types lived here before they got a file of their own; re-exported so
// that `rate_rules::…` paths keep working.
pub use crate::rate_key::{
    ip_key, key_for, KeyPart, RateKey, RequestFacts, RuleKey, MAX_CLIENT_ID_LEN,
};

/// Longest rule name: names end up in metric labels and Redis keys.
pub const MAX_RULE_NAME_LEN: usize = 64;

/// Which of the edge's two hosts a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostKind {
    /// The provider's custom domain, without client certificates.
    Domain,
    /// The `mtls.` alias, with client certificates.
    Alias,
}

/// Which hosts a rule applies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostFilter {
    /// Only the custom domain.
    Domain,
    /// Only the mTLS alias.
    Alias,
    /// Both hosts.
    Both,
}

impl HostFilter {
    /// Whether a request on `host` is covered.
    pub fn matches(self, host: HostKind) -> bool {
        matches!(
            (self, host),
            (HostFilter::Both, _)
                | (HostFilter::Domain, HostKind::Domain)
                | (HostFilter::Alias, HostKind::Alias)
        )
    }
}

/// A rule that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// The name is empty, too long or outside `[a-z0-9_-]`.
    #[error(
        "rule name {name:?} must be 1 to {MAX_RULE_NAME_LEN} characters of a-z, 0-9, '_' or '-'"
    )]
    BadName { name: String },
    /// Two rules share a name.
    #[error("rule name {name:?} is used twice")]
    DuplicateName { name: String },
    /// The rule lists no route, so it would never apply.
    #[error("rule {name:?} lists no route")]
    NoRoutes { name: String },
    /// A route does not follow the route grammar.
    #[error("rule {name:?}: {source}")]
    Route {
        name: String,
        #[source]
        source: RouteError,
    },
    /// A combination with no part.
    #[error("rule {name:?} combines no key part")]
    EmptyCombination { name: String },
    /// More rules than a [`RuleId`] counts.
    #[error("too many rules")]
    TooMany,
}

/// One rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRule {
    name: String,
    routes: RouteList,
    hosts: HostFilter,
    key: RuleKey,
    quota: Quota,
    gcra: Gcra,
}

impl RateRule {
    /// Validates the rule. Routes follow the alias route grammar and match
    /// exactly, like [`RouteList`]; a combination is sorted and deduplicated,
    /// so equal combinations always give equal keys.
    pub fn new<I, S>(
        name: &str,
        routes: I,
        hosts: HostFilter,
        key: RuleKey,
        quota: Quota,
    ) -> Result<RateRule, RuleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let valid_name = !name.is_empty()
            && name.len() <= MAX_RULE_NAME_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(RuleError::BadName {
                name: name.to_owned(),
            });
        }
        let routes = RouteList::new(routes).map_err(|source| RuleError::Route {
            name: name.to_owned(),
            source,
        })?;
        if routes.is_empty() {
            return Err(RuleError::NoRoutes {
                name: name.to_owned(),
            });
        }
        let key = match key {
            RuleKey::Combination(mut parts) => {
                parts.sort_unstable();
                parts.dedup();
                match parts.as_slice() {
                    [] => {
                        return Err(RuleError::EmptyCombination {
                            name: name.to_owned(),
                        })
                    }
                    [KeyPart::ClientIp] => RuleKey::ClientIp,
                    [KeyPart::CertThumbprint] => RuleKey::CertThumbprint,
                    [KeyPart::ClientId] => RuleKey::ClientId,
                    _ => RuleKey::Combination(parts),
                }
            }
            key => key,
        };
        Ok(RateRule {
            name: name.to_owned(),
            routes,
            hosts,
            key,
            quota,
            gcra: Gcra::new(quota),
        })
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The routes it guards.
    pub fn routes(&self) -> &RouteList {
        &self.routes
    }

    /// The hosts it applies on.
    pub fn hosts(&self) -> HostFilter {
        self.hosts
    }

    /// What it counts by.
    pub fn key(&self) -> &RuleKey {
        &self.key
    }

    /// Its quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Its quota, ready for [`decide`](crate::gcra::decide).
    pub fn gcra(&self) -> &Gcra {
        &self.gcra
    }

    /// Whether the rule covers `path` (raw, exact) on `host`.
    pub fn applies_to(&self, host: HostKind, path: &str) -> bool {
        self.hosts.matches(host) && self.routes.allows(path)
    }
}

/// A rule's position in its [`RateRules`]: a small, copyable name for it in
/// the limiter's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// Every configured rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateRules {
    rules: Vec<RateRule>,
}

impl RateRules {
    /// Rejects duplicate names: they label metrics and Redis keys.
    pub fn new(rules: Vec<RateRule>) -> Result<RateRules, RuleError> {
        if u32::try_from(rules.len()).is_err() {
            return Err(RuleError::TooMany);
        }
        for (index, rule) in rules.iter().enumerate() {
            if rules[..index]
                .iter()
                .any(|earlier| earlier.name == rule.name)
            {
                return Err(RuleError::DuplicateName {
                    name: rule.name.clone(),
                });
            }
        }
        Ok(RateRules { rules })
    }

    /// The rules that cover `path` on `host`, with their ids.
    pub fn matching<'a>(
        &'a self,
        host: HostKind,
        path: &'a str,
    ) -> impl Iterator<Item = (RuleId, &'a RateRule)> + 'a {
        self.iter()
            .filter(move |(_, rule)| rule.applies_to(host, path))
    }

    /// Every rule with its id, in configuration order.
    pub fn iter(&self) -> impl Iterator<Item = (RuleId, &RateRule)> {
        (0u32..)
            .zip(self.rules.iter())
            .map(|(id, rule)| (RuleId(id), rule))
    }

    /// The rule with this id.
    pub fn get(&self, id: RuleId) -> Option<&RateRule> {
        self.rules.get(usize::try_from(id.0).ok()?)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// `(host, route)` pairs that some rule guards but no rule keyed on the
    /// client address alone does: there, a request that leaves out the
    /// rule's key part is not limited at all. Configuration loading can warn
    /// or refuse.
    pub fn routes_without_ip_rule(&self) -> Vec<(HostKind, String)> {
        let mut gaps = Vec::new();
        for host in [HostKind::Domain, HostKind::Alias] {
            for (_, rule) in self.iter() {
                if !rule.hosts.matches(host) {
                    continue;
                }
                for route in rule.routes.iter() {
                    let covered = self
                        .matching(host, route)
                        .any(|(_, other)| other.key.always_present());
                    if !covered && !gaps.iter().any(|(h, r)| *h == host && r == route) {
                        gaps.push((host, route.to_owned()));
                    }
                }
            }
        }
        gaps
    }
}

/// The strictest of several decisions for one request, or `None` when there
/// are none (no rule applied: no rate-limit headers).
///
/// Refused if any refused; `retry_after` is the longest among the refusals,
/// since the request passes only once every rule admits it; `reset_after`
/// the longest; `remaining` the fewest, with the `limit` of the decision that
/// has the fewest (the smaller limit on a tie) so the two headers describe
/// the same bucket.
pub fn combine<I: IntoIterator<Item = Decision>>(decisions: I) -> Option<Decision> {
    decisions.into_iter().reduce(|a, b| {
        let tightest = if (b.remaining, b.limit) < (a.remaining, a.limit) {
            b
        } else {
            a
        };
        Decision {
            allowed: a.allowed && b.allowed,
            limit: tightest.limit,
            remaining: tightest.remaining,
            reset_after: a.reset_after.max(b.reset_after),
            retry_after: a.retry_after.max(b.retry_after),
        }
    })
}
