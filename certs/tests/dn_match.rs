//! Distinguished-name matching: each normalisation rule, the errors, and
//! properties over generated names — an RFC 4514 string and the
//! certificate it came from are the same name, and so is any other
//! spelling of it.

mod dn_support;

use std::collections::HashMap;

use dn_support::*;
use mtls_certs::dn::rfc4514;
use mtls_certs::{DnError, NormalizedDn};
use proptest::prelude::*;

fn dn(s: &str) -> NormalizedDn {
    NormalizedDn::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn same(a: &str, b: &str) {
    assert_eq!(dn(a), dn(b), "{a:?} vs {b:?}");
}

fn differ(a: &str, b: &str) {
    assert_ne!(dn(a), dn(b), "{a:?} vs {b:?}");
}

fn err(s: &str) -> DnError {
    match NormalizedDn::parse(s) {
        Ok(n) => panic!("{s:?} parsed as {n:?}"),
        Err(e) => e,
    }
}

#[test]
fn whitespace_around_separators_and_equals_is_ignored() {
    let canonical = "CN=ledger,O=Example Corp";
    for s in [
        "CN=ledger, O=Example Corp",
        " CN = ledger ,  O = Example Corp ",
        "CN=ledger,\tO=Example Corp",
    ] {
        same(canonical, s);
    }
    same("CN=a+UID=b", "CN = a + UID = b");
}

#[test]
fn attribute_types_are_case_insensitive_and_oids_are_one_type() {
    let canonical = "CN=ledger,O=Example Corp";
    for s in [
        "cn=ledger,o=Example Corp",
        "commonName=ledger,organizationName=Example Corp",
        "2.5.4.3=ledger,2.5.4.10=Example Corp",
        "2.5.4.03=ledger,2.5.4.010=Example Corp",
    ] {
        same(canonical, s);
    }
    same("emailAddress=ops@example.com", "E=ops@example.com");
    same(
        "emailAddress=ops@example.com",
        "1.2.840.113549.1.9.1=ops@example.com",
    );
    same("serialNumber=42", "2.5.4.5=42");
    same("SERIALNUMBER=42", "serialnumber=42");
    same(
        "DC=example,DC=com",
        "0.9.2342.19200300.100.1.25=example,dc=com",
    );
    same("ST=Bavaria", "S=Bavaria");
    differ("CN=x", "OU=x");
    differ("CN=x", "SN=x");
}

#[test]
fn inner_whitespace_collapses_and_ends_are_trimmed() {
    same("O=Example Corp", "O=Example  Corp");
    same("O=Example Corp", "O=Example\tCorp");
    same("O=Example Corp", r"O=\ Example Corp\ ");
    same("O=Example Corp", r"O=Example\0A\0DCorp");
    same("O=Example Corp", "O=Example\u{a0}\u{3000}Corp");
    differ("O=Example Corp", "O=ExampleCorp");
}

#[test]
fn case_folds_for_case_ignoring_types_only() {
    same("CN=ledger", "CN=Ledger");
    same("CN=ledger,O=Example Corp", "CN=LEDGER,O=EXAMPLE CORP");
    same("C=de", "C=DE");
    same("emailAddress=Ops@Example.COM", "E=ops@example.com");
    same("DC=Example", "dc=example");
    same("CN=grüße", "CN=GRÜßE");
    same("CN=élan", "CN=ÉLAN");
    // Lower-casing, not full case folding (documented).
    differ("CN=straße", "CN=STRASSE");
    // A type known only by OID may compare case exactly; whitespace rules still apply.
    differ("1.3.6.1.4.1.99999.1=Abc", "1.3.6.1.4.1.99999.1=abc");
    same("1.3.6.1.4.1.99999.1=A  b", "1.3.6.1.4.1.99999.1= A b ");
}

#[test]
fn rdn_order_matters_and_multi_valued_rdns_are_sets() {
    differ("CN=ledger,O=Example Corp", "O=Example Corp,CN=ledger");
    same("CN=a+UID=b,O=c", "UID=b+CN=a,O=c");
    same("CN=a+UID=b", "uid=B + cn=A");
    same("CN=a+CN=a", "CN=a");
    differ("CN=a+UID=b", "CN=a,UID=b");
    differ("CN=a+UID=b", "CN=a");
    differ("CN=ledger,O=Example Corp", "CN=ledger");
    differ("CN=ledger", "CN=ledger2");
}

#[test]
fn escapes_are_decoded() {
    same(r"CN=a\,b", r"CN=a\2Cb");
    same(r"CN=a\+b\;c", "CN=a\\2bb\\3Bc");
    same(r#"CN=\"q\"\\"#, "CN=\\22q\\22\\5c");
    same(r"CN=\C3\BC", "CN=ü");
    same(r"CN=\#1", r"CN=\231");
    same(r"CN=a\/b", "CN=a/b");
    same("CN=a=b<c>", r"CN=a\=b\<c\>");
    differ(r"CN=a\,b", "CN=a,O=b");
}

#[test]
fn hex_values_are_decoded() {
    // UTF8String "Ledger", PrintableString "Ledger", BMPString "Le".
    same("CN=ledger", "CN=#0c064c6564676572");
    same("CN=ledger", "CN=#13064C6564676572");
    same("CN=le", "CN = #1e04004c0065 ");
    // Not a string: compared by its encoding.
    same("1.2.3.4=#020105", "1.2.3.4=#020105");
    differ("1.2.3.4=#020105", "1.2.3.4=#020106");
    differ("1.2.3.4=#020105", r"1.2.3.4=\02\01\05");
}

#[test]
fn empty_names_and_values() {
    assert!(dn("").is_empty());
    assert!(dn("   ").is_empty());
    assert_eq!(dn("CN=a,O=b").len(), 2);
    same("CN=", "CN= ");
    differ("CN=", "CN=a");
}

#[test]
fn malformed_strings_are_errors_with_positions() {
    assert_eq!(err("CN=a,"), DnError::MissingType { at: 6 });
    assert_eq!(err("CN=a,,O=b"), DnError::MissingType { at: 6 });
    assert_eq!(err("CN=a+"), DnError::MissingType { at: 6 });
    assert_eq!(err("=a"), DnError::MissingType { at: 1 });
    assert_eq!(err("CN a"), DnError::MissingEquals { at: 4 });
    assert_eq!(err("CN"), DnError::MissingEquals { at: 3 });
    assert_eq!(
        err("CNN=a"),
        DnError::UnknownType {
            name: "CNN".into(),
            at: 1
        }
    );
    assert_eq!(
        err("CN=a,OID.2.5.4.3=b"),
        DnError::UnknownType {
            name: "OID.2.5.4.3".into(),
            at: 6
        }
    );
    assert_eq!(
        err("2.5..4=a"),
        DnError::BadOid {
            oid: "2.5..4".into(),
            at: 1
        }
    );
    assert_eq!(err("CN=a;O=b"), DnError::Unescaped { ch: ';', at: 5 });
    assert_eq!(err("CN=\"a,b\""), DnError::Unescaped { ch: '"', at: 4 });
    assert_eq!(err(r"CN=a\"), DnError::BadEscape { at: 5 });
    assert_eq!(err(r"CN=a\4"), DnError::BadEscape { at: 5 });
    assert_eq!(err(r"CN=a\4x"), DnError::BadEscape { at: 5 });
    assert_eq!(err(r"CN=\ff"), DnError::NotUtf8 { at: 4 });
    for s in [
        "CN=#",
        "CN=#0c0",
        "CN=#0c05ab",
        "CN=#020105ff",
        "CN=#0c00x",
        "CN=#zz",
    ] {
        assert!(
            matches!(err(s), DnError::BadHexValue { at: 4, .. }),
            "{s}: {:?}",
            err(s)
        );
    }
    let message = err("CN=ledger, Organisation=Example").to_string();
    assert!(message.contains("`Organisation`"), "{message}");
    assert!(message.contains("character 12"), "{message}");
}

#[test]
fn certificate_names_match_their_spellings() {
    let name = der_name(&[
        vec![attr(&C, Enc::Printable, "DE")],
        vec![attr(&O, Enc::Utf8, "Example  Corp")],
        vec![attr(&CN, Enc::Bmp, "Ledger"), attr(&UID, Enc::Ia5, "l-1")],
    ]);
    let parsed = from_der(&name);
    assert_eq!(rfc4514(&parsed), "CN=Ledger+UID=l-1,O=Example  Corp,C=DE");
    let key = NormalizedDn::from_x509(&parsed);
    for s in [
        "CN=Ledger+UID=l-1,O=Example  Corp,C=DE",
        "uid=l-1 + cn=ledger, o=example corp, c=de",
        "2.5.4.3=LEDGER+0.9.2342.19200300.100.1.1=L-1,2.5.4.10=Example Corp,2.5.4.6=de",
    ] {
        assert_eq!(dn(s), key, "{s}");
    }
    for s in [
        "CN=Ledger,O=Example Corp,C=DE",
        "CN=Ledger+UID=l-1,O=Example Corp",
    ] {
        assert_ne!(dn(s), key, "{s}");
    }
    let mut registry = HashMap::new();
    registry.insert(dn("CN=ledger + UID=L-1, O=Example Corp, C=DE"), "Zx81qa");
    assert_eq!(registry.get(&key), Some(&"Zx81qa"));
}

#[test]
fn teletex_universal_and_non_string_values() {
    let name = der_name(&[vec![
        attr(&CN, Enc::Teletex, "Zoë"),
        attr(&OU, Enc::Universal, "😀 team"),
        attr(&PRIVATE, Enc::Integer, "7"),
    ]]);
    let parsed = from_der(&name);
    let key = NormalizedDn::from_x509(&parsed);
    assert_eq!(dn(&rfc4514(&parsed)), key);
    assert_eq!(dn("CN=ZOË+OU=😀 TEAM+1.3.6.1.4.1.99999.1=#020107"), key);
}

#[test]
fn rcgen_certificate_subject_and_issuer() {
    let cert = rcgen_cert(&[
        (rcgen::DnType::CountryName, Enc::Printable, "DE".into()),
        (
            rcgen::DnType::OrganizationName,
            Enc::Utf8,
            "Example Corp".into(),
        ),
        (rcgen::DnType::CommonName, Enc::Utf8, "ledger".into()),
    ]);
    let facts = mtls_certs::check_client_leaf(&cert, 1_900_000_000).unwrap();
    assert_eq!(facts.subject, "CN=ledger,O=Example Corp,C=DE");
    for s in [
        "CN=ledger, O=Example Corp, C=DE",
        "cn=Ledger,o=example  corp,c=de",
    ] {
        assert_eq!(dn(s), facts.normalized_subject, "{s}");
        assert_eq!(dn(s), facts.normalized_issuer, "{s}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// What `rfc4514` prints for a certificate rcgen wrote parses back to the
    /// certificate's own name.
    #[test]
    fn rfc4514_of_an_rcgen_subject_parses_to_the_same_name(attrs in rcgen_attrs()) {
        let der = rcgen_cert(&attrs);
        let cert = parse_cert(&der);
        let printed = rfc4514(cert.subject());
        prop_assert_eq!(
            NormalizedDn::parse(&printed),
            Ok(NormalizedDn::from_x509(cert.subject())),
            "{}", printed
        );
    }

    /// Multi-valued RDNs, every string type and non-string values: the
    /// printed form and any other spelling are the same name.
    #[test]
    fn every_spelling_of_a_name_is_that_name(rdns in names(), dice in any::<Vec<u8>>()) {
        let der = der_name(&rdns);
        let parsed = from_der(&der);
        let key = NormalizedDn::from_x509(&parsed);
        let printed = rfc4514(&parsed);
        prop_assert_eq!(NormalizedDn::parse(&printed), Ok(key.clone()), "{}", printed);
        let spelled = respell(&rdns, &mut Dice::new(dice));
        prop_assert_eq!(NormalizedDn::parse(&spelled), Ok(key), "{}", spelled);
    }

    /// Changing a value in a way normalisation does not undo gives another
    /// name.
    #[test]
    fn a_changed_value_is_another_name(rdns in names(), which in any::<prop::sample::Index>()) {
        prop_assume!(!rdns.is_empty());
        let key = NormalizedDn::from_x509(&from_der(&der_name(&rdns)));
        let mut changed = rdns.clone();
        let all: Vec<(usize, usize)> = changed
            .iter()
            .enumerate()
            .flat_map(|(i, rdn)| (0..rdn.len()).map(move |j| (i, j)))
            .collect();
        let (i, j) = all[which.index(all.len())];
        // `§` is outside the generated alphabet, so the changed attribute is
        // in no RDN of the original name.
        let a = &mut changed[i][j];
        a.enc = Enc::Utf8;
        a.text.push('§');
        let other = NormalizedDn::from_x509(&from_der(&der_name(&changed)));
        prop_assert_ne!(key, other);
    }
}
