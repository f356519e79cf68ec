//! Properties of the origin matcher, checked against a small independent
//! model of what an origin is (scheme, lower-case labels, effective port).

use mtls_policies::{Origin, OriginPattern};
use proptest::prelude::*;

/// The model: two origins are the same when these are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    https: bool,
    labels: Vec<String>,
    port: u16,
}

/// How a model is written down; none of it changes which origin it is.
#[derive(Debug, Clone)]
struct Cosmetics {
    upper: Vec<bool>,
    explicit_default_port: bool,
    trailing_slash: bool,
}

fn render(model: &Model, cosmetics: &Cosmetics) -> String {
    let scheme = if model.https { "https" } else { "http" };
    let default = if model.https { 443 } else { 80 };
    let mut text = format!("{scheme}://{}", model.labels.join("."));
    if model.port != default || cosmetics.explicit_default_port {
        text.push_str(&format!(":{}", model.port));
    }
    if cosmetics.trailing_slash {
        text.push('/');
    }
    text.chars()
        .zip(cosmetics.upper.iter().chain(std::iter::repeat(&false)))
        .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
        .collect()
}

/// A small space, so that two independent draws are often equal.
fn small_model() -> impl Strategy<Value = Model> {
    (
        any::<bool>(),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "app", "com"]), 1..=3),
        prop::sample::select(vec![80u16, 443, 8080]),
    )
        .prop_map(|(https, labels, port)| Model {
            https,
            labels: labels.into_iter().map(str::to_owned).collect(),
            port,
        })
}

/// A large space: hosts of letters, digits and `-`, any port.
fn large_model() -> impl Strategy<Value = Model> {
    (
        any::<bool>(),
        prop::collection::vec("[a-z][a-z0-9-]{0,10}", 1..=5),
        1u16..=65535,
    )
        .prop_map(|(https, labels, port)| Model {
            https,
            labels,
            port,
        })
}

fn cosmetics() -> impl Strategy<Value = Cosmetics> {
    (
        prop::collection::vec(any::<bool>(), 0..40),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(upper, explicit_default_port, trailing_slash)| Cosmetics {
            upper,
            explicit_default_port,
            trailing_slash,
        })
}

/// One change that makes a different origin.
fn mutate(model: &Model, which: u8, label: &str) -> Model {
    let mut other = model.clone();
    match which % 5 {
        0 => other.https = !other.https,
        1 => {
            other.port = if other.port == 65535 {
                1
            } else {
                other.port + 1
            }
        }
        2 => other.labels.insert(0, label.to_owned()),
        3 => {
            if other.labels.len() > 1 {
                other.labels.remove(0);
            } else {
                other.labels[0].push('x');
            }
        }
        _ => other.labels[0].push_str(label),
    }
    other
}

proptest! {
    /// A pattern without `*` matches exactly the origins the model says are
    /// the same, however either is written.
    #[test]
    fn exact_pattern_matches_only_itself(
        a in small_model(), b in small_model(), ca in cosmetics(), cb in cosmetics()
    ) {
        let pattern = OriginPattern::parse(&render(&a, &ca)).unwrap();
        prop_assert!(!pattern.is_wildcard());
        let origin = Origin::parse(&render(&b, &cb)).unwrap();
        prop_assert_eq!(pattern.matches(&origin), a == b);
    }

    /// The same over a large space, where the other origin is always one
    /// change away: a cosmetic rewrite still matches, any real change does
    /// not.
    #[test]
    fn exact_pattern_rejects_every_near_miss(
        a in large_model(), ca in cosmetics(), cb in cosmetics(),
        which in any::<u8>(), label in "[a-z0-9]{1,5}"
    ) {
        let pattern = OriginPattern::parse(&render(&a, &ca)).unwrap();
        let same = Origin::parse(&render(&a, &cb)).unwrap();
        prop_assert!(pattern.matches(&same));
        let b = mutate(&a, which, &label);
        prop_assert_ne!(&a, &b);
        let other = Origin::parse(&render(&b, &cb)).unwrap();
        prop_assert!(!pattern.matches(&other));
    }

    /// Serialising and parsing again gives the same origin, and the text is
    /// already normalised.
    #[test]
    fn origin_round_trips(a in large_model(), c in cosmetics()) {
        let origin = Origin::parse(&render(&a, &c)).unwrap();
        let text = origin.to_string();
        prop_assert_eq!(&text, &text.to_ascii_lowercase());
        prop_assert!(!text.ends_with('/'));
        prop_assert_eq!(Origin::parse(&text), Some(origin));
    }

    /// `*.parent` matches one more label, never zero, never two.
    #[test]
    fn wildcard_matches_exactly_one_label(
        parent in prop::collection::vec("[a-z][a-z0-9]{0,6}", 2..=4),
        first in "[a-z0-9][a-z0-9-]{0,8}",
        second in "[a-z0-9]{1,8}",
    ) {
        let parent = parent.join(".");
        let pattern = OriginPattern::parse(&format!("https://*.{parent}")).unwrap();
        let one = Origin::parse(&format!("https://{first}.{parent}")).unwrap();
        let two = Origin::parse(&format!("https://{second}.{first}.{parent}")).unwrap();
        let zero = Origin::parse(&format!("https://{parent}")).unwrap();
        prop_assert!(pattern.matches(&one));
        prop_assert!(!pattern.matches(&two));
        prop_assert!(!pattern.matches(&zero));
    }

    /// Parsing arbitrary text never panics, and whatever parses prints as
    /// something that parses to the same thing.
    #[test]
    fn arbitrary_text_is_handled(text in "\\PC{0,60}") {
        if let Some(origin) = Origin::parse(&text) {
            prop_assert_eq!(Origin::parse(&origin.to_string()), Some(origin));
        }
        if let Ok(pattern) = OriginPattern::parse(&text) {
            prop_assert_eq!(OriginPattern::parse(&pattern.to_string()), Ok(pattern));
        }
    }
}
