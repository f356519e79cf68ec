//! Whether a request on the `mtls.` alias may be forwarded, from its path and the client
//! certificate the connection presented.
//!
//! The alias exists for the token, PAR and userinfo calls of certificate-bound clients; every other
//! path is 404 there. What happens without a certificate, or with one the registry does not know,
//! is the operator's choice; a certificate too large for the provider's header limit is refused
//! here, because the provider would refuse it with a less useful error.

use crate::{Refusal, RouteList};

/// The operator's alias settings that admission depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasPolicy {
    /// Forward requests without a client certificate (the provider decides) instead of 401.
    pub forward_without_certificate: bool,
    /// Refuse (401) certificates that match no registry entry.
    pub registered_only: bool,
    /// The provider's limit on the encoded `client-certificate` header.
    pub max_encoded_certificate: usize,
}

/// What admission needs to know of the connection's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentedCertificate {
    /// It matches an entry of the credential registry.
    pub registered: bool,
    /// Size of its `client-certificate` header value.
    pub encoded_len: usize,
}

/// How an admitted alias request is forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// With the `client-certificate` headers.
    WithCertificate,
    /// Without them: no certificate, and policy forwards such requests.
    WithoutCertificate,
}

/// The decision for one alias request. `path` is the raw request path, compared byte for byte.
pub fn admit_alias(
    policy: &AliasPolicy,
    routes: &RouteList,
    path: &str,
    certificate: Option<PresentedCertificate>,
) -> Result<Admitted, Refusal> {
    if !routes.allows(path) {
        return Err(Refusal::NotFound);
    }
    let Some(cert) = certificate else {
        return if policy.forward_without_certificate {
            Ok(Admitted::WithoutCertificate)
        } else {
            Err(Refusal::ClientCertificateRequired)
        };
    };
    if policy.registered_only && !cert.registered {
        return Err(Refusal::ClientCertificateNotRegistered);
    }
    if cert.encoded_len > policy.max_encoded_certificate {
        return Err(Refusal::ClientCertificateTooLarge {
            encoded_len: cert.encoded_len,
            limit: policy.max_encoded_certificate,
        });
    }
    Ok(Admitted::WithCertificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: AliasPolicy = AliasPolicy {
        forward_without_certificate: false,
        registered_only: true,
        max_encoded_certificate: 4096,
    };

    fn routes() -> RouteList {
        RouteList::new(["/oauth/token"]).unwrap()
    }

    fn cert(registered: bool, encoded_len: usize) -> Option<PresentedCertificate> {
        Some(PresentedCertificate {
            registered,
            encoded_len,
        })
    }

    #[test]
    fn route_is_checked_before_the_certificate() {
        let r = admit_alias(&STRICT, &routes(), "/authorize", None);
        assert_eq!(r, Err(Refusal::NotFound));
        let r = admit_alias(&STRICT, &routes(), "/oauth/token/", cert(true, 10));
        assert_eq!(r, Err(Refusal::NotFound));
    }

    #[test]
    fn missing_certificate_follows_policy() {
        let r = admit_alias(&STRICT, &routes(), "/oauth/token", None);
        assert_eq!(r, Err(Refusal::ClientCertificateRequired));
        let lenient = AliasPolicy {
            forward_without_certificate: true,
            ..STRICT
        };
        let r = admit_alias(&lenient, &routes(), "/oauth/token", None);
        assert_eq!(r, Ok(Admitted::WithoutCertificate));
    }

    #[test]
    fn registration_and_size() {
        let r = admit_alias(&STRICT, &routes(), "/oauth/token", cert(false, 10));
        assert_eq!(r, Err(Refusal::ClientCertificateNotRegistered));
        let open = AliasPolicy {
            registered_only: false,
            ..STRICT
        };
        let r = admit_alias(&open, &routes(), "/oauth/token", cert(false, 10));
        assert_eq!(r, Ok(Admitted::WithCertificate));
        // The limit itself is allowed; one byte more is not.
        let r = admit_alias(&STRICT, &routes(), "/oauth/token", cert(true, 4096));
        assert_eq!(r, Ok(Admitted::WithCertificate));
        let r = admit_alias(&STRICT, &routes(), "/oauth/token", cert(true, 4097));
        assert_eq!(
            r,
            Err(Refusal::ClientCertificateTooLarge {
                encoded_len: 4097,
                limit: 4096
            })
        );
    }
}
