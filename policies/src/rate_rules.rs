//! Which rate limits apply to a request, and under which key.
//!
//! A rule names the routes it guards, the hosts (custom domain, mTLS alias or
//! both), what identifies a client (address, certificate, `client_id`, or a
//! combination) and the quota. Several rules usually apply at once — a
//! generous per-address flood limit and a strict per-`client_id` credential
//! stuffing limit on `/oauth/token` — and the strictest answer wins
//! ([`combine`]).
//!
//! Keys are built from a closed alphabet and bounded length, whatever the
//! client sends: they become map keys here and Redis keys later, so a client
//! must neither collide with another rule's key by injecting a separator nor
//! make a single key arbitrarily large.

use std::net::IpAddr;

use thiserror::Error;

use crate::gcra::{Decision, Gcra, Quota};
use crate::route::{RouteError, RouteList};

/// Longest `client_id` keyed on as itself. The provider's client ids are 32
/// characters; anything much longer is not one.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// Longest rule name: names end up in metric labels and Redis keys.
pub const MAX_RULE_NAME_LEN: usize = 64;

/// The key part every `client_id` that is not a plausible client id maps to.
/// `!` is outside the accepted alphabet, so no real client id can share it;
/// the junk ids all share one bucket, so inventing them buys nothing.
const INVALID_CLIENT_ID: &str = "!invalid";

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

/// One thing that identifies a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPart {
    /// The client address: IPv4 per address, IPv6 per /64.
    ClientIp,
    /// SHA-256 of the client certificate presented on the alias.
    CertThumbprint,
    /// The OAuth `client_id` the request names.
    ClientId,
}

impl KeyPart {
    fn label(self) -> &'static str {
        match self {
            KeyPart::ClientIp => "ip",
            KeyPart::CertThumbprint => "cert",
            KeyPart::ClientId => "cid",
        }
    }
}

/// What a rule counts requests by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleKey {
    /// Per client address.
    ClientIp,
    /// Per client certificate.
    CertThumbprint,
    /// Per `client_id`.
    ClientId,
    /// Per combination, e.g. (`ClientId`, `ClientIp`): one client id from one
    /// network. Held sorted and without duplicates.
    Combination(Vec<KeyPart>),
}

impl RuleKey {
    /// The parts, sorted, without duplicates.
    pub fn parts(&self) -> &[KeyPart] {
        match self {
            RuleKey::ClientIp => &[KeyPart::ClientIp],
            RuleKey::CertThumbprint => &[KeyPart::CertThumbprint],
            RuleKey::ClientId => &[KeyPart::ClientId],
            RuleKey::Combination(parts) => parts,
        }
    }

    /// Whether every request yields this key. Only the client address is
    /// always known; a rule keyed on anything else can be sidestepped by
    /// leaving that thing out.
    pub fn always_present(&self) -> bool {
        self.parts() == [KeyPart::ClientIp]
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

/// What the edge knows about a request that a key can be built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// The client address, as the edge saw it.
    pub client_ip: IpAddr,
    /// SHA-256 of the client certificate, when one was presented.
    pub cert_thumbprint: Option<[u8; 32]>,
    /// The `client_id` the request names, when it names one.
    pub client_id: Option<&'a str>,
}

/// A rate-limit key: printable ASCII, at most a few hundred bytes, built only
/// by [`key_for`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateKey(String);

impl RateKey {
    /// The key text, e.g. `ip=2001:db8:1:2::/64|cid=abc`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key `rule` counts this request under, or `None` when a part it needs
/// is missing — then the rule does not apply to the request.
///
/// Skipping is the only workable reading (a `client_id` rule cannot count a
/// request that names none), but it means a client can sidestep a rule by
/// leaving its part out. So every guarded route should also carry a rule
/// keyed on the client address alone, which every request has: see
/// [`RateRules::routes_without_ip_rule`]. Leaving the part out rarely helps
/// an attacker anyway: the provider refuses a token request without client
/// authentication, and a request without a certificate does not pass the
/// alias.
///
/// Parts are joined with `|` as `label=value`, in a fixed order. Values come
/// from closed alphabets (IP text, lowercase hex, client ids limited to
/// RFC 3986 unreserved characters), so no value can contain `|` or `=` and
/// forge another key.
pub fn key_for(rule: &RateRule, facts: &RequestFacts<'_>) -> Option<RateKey> {
    let mut key = String::with_capacity(64);
    for (index, part) in rule.key.parts().iter().enumerate() {
        if index > 0 {
            key.push('|');
        }
        key.push_str(part.label());
        key.push('=');
        match part {
            KeyPart::ClientIp => key.push_str(&ip_key(facts.client_ip)),
            KeyPart::CertThumbprint => push_hex(&mut key, &facts.cert_thumbprint?),
            KeyPart::ClientId => key.push_str(client_id_key(facts.client_id?)),
        }
    }
    Some(RateKey(key))
}

/// IPv4 per address; IPv6 per /64.
///
/// An IPv6 host is normally given a whole /64 and can pick any of its 2^64
/// addresses for every request (privacy addresses do so by design), so
/// counting per address would give one host unlimited fresh buckets and
/// fill the limiter with them. A /64 is the smallest unit a network hands
/// out, so it is the smallest that means "one client". IPv4-mapped IPv6
/// addresses (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4
/// clients) are keyed as IPv4: as a /64 they would put every IPv4 client in
/// one bucket.
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

/// The client id as itself when it could be one, else the shared
/// [`INVALID_CLIENT_ID`] part.
fn client_id_key(client_id: &str) -> &str {
    let plausible = !client_id.is_empty()
        && client_id.len() <= MAX_CLIENT_ID_LEN
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if plausible {
        client_id
    } else {
        INVALID_CLIENT_ID
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
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
