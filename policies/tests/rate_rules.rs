//! Rule matching, key extraction and the strictest-wins combination.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use mtls_policies::{
    combine, ip_key, key_for, Decision, HostFilter, HostKind, KeyPart, Quota, RateRule, RateRules,
    RequestFacts, RouteError, RuleError, RuleId, RuleKey,
};

const THUMB: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0xff,
];
const THUMB_HEX: &str = "000102030405060708090a0b0c0d0e0ff0e1d2c3b4a5968778695a4b3c2d1eff";

fn quota() -> Quota {
    Quota::per_second(10, 20).unwrap()
}

fn rule(name: &str, hosts: HostFilter, key: RuleKey) -> RateRule {
    RateRule::new(name, ["/oauth/token", "/oauth/par"], hosts, key, quota()).unwrap()
}

fn facts<'a>(ip: &str, cert: Option<[u8; 32]>, client_id: Option<&'a str>) -> RequestFacts<'a> {
    RequestFacts {
        client_ip: ip.parse().unwrap(),
        cert_thumbprint: cert,
        client_id,
    }
}

fn key(rule: &RateRule, facts: &RequestFacts<'_>) -> Option<String> {
    key_for(rule, facts).map(|key| key.as_str().to_owned())
}

#[test]
fn key_per_type() {
    let full = facts("203.0.113.7", Some(THUMB), Some("AbC123_-.~"));
    let ip = rule("ip", HostFilter::Both, RuleKey::ClientIp);
    let cert = rule("cert", HostFilter::Alias, RuleKey::CertThumbprint);
    let cid = rule("cid", HostFilter::Both, RuleKey::ClientId);
    assert_eq!(key(&ip, &full).as_deref(), Some("ip=203.0.113.7"));
    assert_eq!(key(&cert, &full), Some(format!("cert={THUMB_HEX}")));
    assert_eq!(key(&cid, &full).as_deref(), Some("cid=AbC123_-.~"));
}

#[test]
fn a_missing_part_skips_the_rule_but_the_ip_rule_still_applies() {
    let bare = facts("203.0.113.7", None, None);
    let ip = rule("ip", HostFilter::Both, RuleKey::ClientIp);
    let cert = rule("cert", HostFilter::Alias, RuleKey::CertThumbprint);
    let cid = rule("cid", HostFilter::Both, RuleKey::ClientId);
    let both = rule(
        "cid-ip",
        HostFilter::Both,
        RuleKey::Combination(vec![KeyPart::ClientId, KeyPart::ClientIp]),
    );
    assert_eq!(key(&cert, &bare), None);
    assert_eq!(key(&cid, &bare), None);
    assert_eq!(key(&both, &bare), None);
    assert!(key(&ip, &bare).is_some());
}

#[test]
fn ipv6_is_grouped_by_64() {
    let a = ip_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap());
    let b = ip_key("2001:db8:1:2::1".parse().unwrap());
    let other = ip_key("2001:db8:1:3::1".parse().unwrap());
    assert_eq!(a, "2001:db8:1:2::/64");
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert_eq!(ip_key(IpAddr::V6(Ipv6Addr::LOCALHOST)), "::/64");
}

#[test]
fn ipv4_is_per_address_even_when_mapped_into_ipv6() {
    let plain = ip_key(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)));
    let mapped = ip_key("::ffff:198.51.100.1".parse().unwrap());
    let neighbour = ip_key("::ffff:198.51.100.2".parse().unwrap());
    assert_eq!(plain, "198.51.100.1");
    assert_eq!(mapped, plain);
    assert_ne!(mapped, neighbour);
}

#[test]
fn combination_is_ordered_and_deduplicated() {
    let f = facts("2001:db8::5", Some(THUMB), Some("client1"));
    let forward = rule(
        "a",
        HostFilter::Both,
        RuleKey::Combination(vec![
            KeyPart::ClientId,
            KeyPart::ClientIp,
            KeyPart::ClientId,
        ]),
    );
    let backward = rule(
        "b",
        HostFilter::Both,
        RuleKey::Combination(vec![KeyPart::ClientIp, KeyPart::ClientId]),
    );
    assert_eq!(
        key(&forward, &f).as_deref(),
        Some("ip=2001:db8::/64|cid=client1")
    );
    assert_eq!(key(&forward, &f), key(&backward, &f));
    let all = rule(
        "c",
        HostFilter::Alias,
        RuleKey::Combination(vec![
            KeyPart::CertThumbprint,
            KeyPart::ClientId,
            KeyPart::ClientIp,
        ]),
    );
    assert_eq!(
        key(&all, &f),
        Some(format!("ip=2001:db8::/64|cert={THUMB_HEX}|cid=client1"))
    );
    // A one-part combination is that part.
    let single = rule(
        "d",
        HostFilter::Both,
        RuleKey::Combination(vec![KeyPart::ClientId]),
    );
    assert_eq!(single.key(), &RuleKey::ClientId);
}

#[test]
fn client_ids_cannot_forge_separators_or_grow_keys() {
    let cid = rule("cid", HostFilter::Both, RuleKey::ClientId);
    let combo = rule(
        "combo",
        HostFilter::Both,
        RuleKey::Combination(vec![KeyPart::ClientIp, KeyPart::ClientId]),
    );
    let long = "a".repeat(10_000);
    for junk in [
        "x|ip=1.2.3.4",
        "a=b",
        "",
        "caf\u{e9}",
        "with space",
        "nul\0",
        long.as_str(),
    ] {
        let f = facts("192.0.2.1", None, Some(junk));
        assert_eq!(key(&cid, &f).as_deref(), Some("cid=!invalid"), "{junk:?}");
        assert_eq!(
            key(&combo, &f).as_deref(),
            Some("ip=192.0.2.1|cid=!invalid"),
            "{junk:?}"
        );
    }
    let longest_ok = "b".repeat(128);
    let f = facts("192.0.2.1", None, Some(&longest_ok));
    assert_eq!(key(&cid, &f), Some(format!("cid={longest_ok}")));
}

#[test]
fn rules_match_routes_exactly_and_filter_hosts() {
    let rules = RateRules::new(vec![
        rule("ip", HostFilter::Both, RuleKey::ClientIp),
        rule("alias-cert", HostFilter::Alias, RuleKey::CertThumbprint),
        RateRule::new(
            "userinfo",
            ["/userinfo"],
            HostFilter::Domain,
            RuleKey::ClientIp,
            quota(),
        )
        .unwrap(),
    ])
    .unwrap();
    let names = |host, path| -> Vec<(RuleId, String)> {
        rules
            .matching(host, path)
            .map(|(id, rule)| (id, rule.name().to_owned()))
            .collect()
    };
    assert_eq!(
        names(HostKind::Alias, "/oauth/token"),
        [(RuleId(0), "ip".into()), (RuleId(1), "alias-cert".into())]
    );
    assert_eq!(
        names(HostKind::Domain, "/oauth/token"),
        [(RuleId(0), "ip".into())]
    );
    assert_eq!(
        names(HostKind::Domain, "/userinfo"),
        [(RuleId(2), "userinfo".into())]
    );
    assert!(names(HostKind::Alias, "/userinfo").is_empty());
    assert!(names(HostKind::Alias, "/oauth/token/").is_empty());
    assert!(names(HostKind::Alias, "/OAUTH/TOKEN").is_empty());
    assert_eq!(rules.get(RuleId(1)).unwrap().name(), "alias-cert");
    assert!(rules.get(RuleId(3)).is_none());
    assert_eq!(rules.len(), 3);
}

#[test]
fn invalid_rules_are_refused() {
    let bad_name = RateRule::new(
        "Bad Name",
        ["/x"],
        HostFilter::Both,
        RuleKey::ClientIp,
        quota(),
    );
    assert!(matches!(bad_name, Err(RuleError::BadName { .. })));
    let long_name = "a".repeat(65);
    assert!(matches!(
        RateRule::new(
            &long_name,
            ["/x"],
            HostFilter::Both,
            RuleKey::ClientIp,
            quota()
        ),
        Err(RuleError::BadName { .. })
    ));
    let no_routes = RateRule::new(
        "r",
        Vec::<&str>::new(),
        HostFilter::Both,
        RuleKey::ClientIp,
        quota(),
    );
    assert!(matches!(no_routes, Err(RuleError::NoRoutes { .. })));
    let bad_route = RateRule::new("r", ["/a//b"], HostFilter::Both, RuleKey::ClientIp, quota());
    assert!(matches!(
        bad_route,
        Err(RuleError::Route {
            source: RouteError::EmptySegment { .. },
            ..
        })
    ));
    let empty = RateRule::new(
        "r",
        ["/x"],
        HostFilter::Both,
        RuleKey::Combination(vec![]),
        quota(),
    );
    assert!(matches!(empty, Err(RuleError::EmptyCombination { .. })));
    let duplicate = RateRules::new(vec![
        rule("same", HostFilter::Both, RuleKey::ClientIp),
        rule("same", HostFilter::Alias, RuleKey::ClientId),
    ]);
    assert!(matches!(duplicate, Err(RuleError::DuplicateName { .. })));
}

#[test]
fn routes_without_an_ip_rule_are_reported() {
    let rules = RateRules::new(vec![
        rule("cid", HostFilter::Both, RuleKey::ClientId),
        RateRule::new(
            "ip-token",
            ["/oauth/token"],
            HostFilter::Domain,
            RuleKey::ClientIp,
            quota(),
        )
        .unwrap(),
    ])
    .unwrap();
    assert_eq!(
        rules.routes_without_ip_rule(),
        [
            (HostKind::Domain, "/oauth/par".to_owned()),
            (HostKind::Alias, "/oauth/token".to_owned()),
            (HostKind::Alias, "/oauth/par".to_owned()),
        ]
    );
    let covered = RateRules::new(vec![
        rule("cid", HostFilter::Both, RuleKey::ClientId),
        rule("ip", HostFilter::Both, RuleKey::ClientIp),
    ])
    .unwrap();
    assert!(covered.routes_without_ip_rule().is_empty());
}

fn allowed(limit: u32, remaining: u32, reset_ms: u64) -> Decision {
    Decision {
        allowed: true,
        limit,
        remaining,
        reset_after: Duration::from_millis(reset_ms),
        retry_after: None,
    }
}

fn refused(limit: u32, reset_ms: u64, retry_ms: u64) -> Decision {
    Decision {
        allowed: false,
        limit,
        remaining: 0,
        reset_after: Duration::from_millis(reset_ms),
        retry_after: Some(Duration::from_millis(retry_ms)),
    }
}

#[test]
fn strictest_wins() {
    assert_eq!(combine([]), None);
    let one = allowed(100, 40, 3_000);
    assert_eq!(combine([one]), Some(one));

    // All allowed: fewest remaining, with that bucket's limit; longest reset.
    assert_eq!(
        combine([
            allowed(100, 40, 3_000),
            allowed(5, 2, 9_000),
            allowed(20, 10, 1_000)
        ]),
        Some(allowed(5, 2, 9_000))
    );
    // Tie on remaining: the smaller limit.
    assert_eq!(
        combine([allowed(100, 2, 1_000), allowed(5, 2, 1_000)]),
        Some(allowed(5, 2, 1_000))
    );
    // Any refusal refuses; the longest wait among refusals; the longest reset.
    let combined = combine([
        allowed(100, 40, 60_000),
        refused(5, 2_000, 500),
        refused(10, 1_500, 1_200),
    ])
    .unwrap();
    assert!(!combined.allowed);
    assert_eq!(combined.remaining, 0);
    assert_eq!(combined.limit, 5);
    assert_eq!(combined.retry_after, Some(Duration::from_millis(1_200)));
    assert_eq!(combined.reset_after, Duration::from_millis(60_000));
    assert_eq!(combined.retry_after_secs(), Some(2));
    // Order does not matter.
    assert_eq!(
        combine([
            refused(10, 1_500, 1_200),
            refused(5, 2_000, 500),
            allowed(100, 40, 60_000),
        ]),
        Some(combined)
    );
}
