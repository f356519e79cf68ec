//! Admit: the checks on the request head, before any body byte is read or anything is sent
//! upstream. The host must be the TLS server name (421); on the alias the path must be a listed
//! route (404) and the certificate acceptable to the alias policy (401, 400).

use http::Request;
use mtls_policies::{admit_alias, check_authority, Admitted, AliasPolicy, HostKind};
use mtls_policies::{PresentedCertificate, Refusal};

use super::context::CertHeaders;
use crate::config::{EdgePolicy, MtlsConfig, NoCertificatePolicy};
use crate::connection::Connection;
use crate::metrics::Metrics;

/// On success, the certificate headers to inject (alias requests with a certificate).
pub fn admit<B>(
    conn: &Connection,
    req: &Request<B>,
    metrics: &Metrics,
) -> Result<Option<CertHeaders>, Refusal> {
    check_authority(req.uri(), req.headers(), &conn.host.name)?;
    if conn.host.kind != HostKind::Alias {
        return Ok(None);
    }
    let mtls = &conn.host.domain.config.mtls;
    let presented = conn.identity.as_ref().map(|id| PresentedCertificate {
        registered: id.registered.is_some(),
        encoded_len: id.encoded_len,
    });
    match admit_alias(
        &alias_policy(mtls),
        &mtls.routes,
        req.uri().path(),
        presented,
    ) {
        Ok(Admitted::WithoutCertificate) => Ok(None),
        Ok(Admitted::WithCertificate) => conn
            .identity
            .as_ref()
            .and_then(|id| {
                Some(CertHeaders {
                    certificate: id.cert_header.clone()?,
                    verified: id.verdict_header.clone(),
                })
            })
            .map(Some)
            // Admission checked the size, so the header exists; never forward without it.
            .ok_or(Refusal::BadRequest(
                "The client certificate cannot be forwarded.",
            )),
        Err(refusal) => {
            if let Refusal::ClientCertificateTooLarge { .. } = refusal {
                metrics.cert_too_large.inc();
            }
            Err(refusal)
        }
    }
}

fn alias_policy(mtls: &MtlsConfig) -> AliasPolicy {
    AliasPolicy {
        forward_without_certificate: mtls.no_certificate == NoCertificatePolicy::Forward,
        registered_only: mtls.edge_policy == EdgePolicy::Registered,
        max_encoded_certificate: mtls_certs::CLIENT_CERT_HEADER_LIMIT,
    }
}
