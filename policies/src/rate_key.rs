//! What a rate limit counts a request under: the parts a rule keys on
//! ([`KeyPart`], [`RuleKey`]), what the edge knows about the request
//! ([`RequestFacts`]), and the key built from both ([`key_for`]).
//!
//! Keys are built from a closed alphabet and bounded length, whatever the
//! client sends: they become map keys here and Redis keys later, so a client
//! must neither collide with another rule's key by injecting a separator nor
//! make a single key arbitrarily large.

use std::net::IpAddr;

use crate::rate_rules::RateRule;

/// Longest `client_id` keyed on as itself. The provider's client ids are 32
/// characters; anything much longer is not one.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// The key part every `client_id` that is not a plausible client id maps to.
/// `!` is outside the accepted alphabet, so no real client id can share it;
/// the junk ids all share one bucket, so inventing them buys nothing.
const INVALID_CLIENT_ID: &str = "!invalid";

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
/// [`RateRules::routes_without_ip_rule`](crate::RateRules::routes_without_ip_rule).
/// Leaving the part out rarely helps an attacker anyway: the provider refuses
/// a token request without client authentication, and a request without a
/// certificate does not pass the alias.
///
/// Parts are joined with `|` as `label=value`, in a fixed order. Values come
/// from closed alphabets (IP text, lowercase hex, client ids limited to
/// RFC 3986 unreserved characters), so no value can contain `|` or `=` and
/// forge another key.
pub fn key_for(rule: &RateRule, facts: &RequestFacts<'_>) -> Option<RateKey> {
    let mut key = String::with_capacity(64);
    for (index, part) in rule.key().parts().iter().enumerate() {
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
