//! End-to-end: real gateway on port 0, real echo upstream, real rustls/hyper clients over
//! HTTP/1.1 and HTTP/2. Each test states the contract it holds the gateway to.

mod support;

use http::StatusCode;
use support::*;

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The committed nginx vectors: same certificates through nginx (`$ssl_client_escaped_cert`,
/// `$ssl_client_verify`) and through the gateway must give byte-identical header values.
#[tokio::test]
async fn headers_match_nginx_vectors_byte_for_byte() {
    let fx = fixtures();
    let h = Harness::start(Options {
        server_cert: fx.join("server.pem").display().to_string(),
        server_key: fx.join("server.key").display().to_string(),
        client_ca: Some(fx.join("root.pem")),
        ..Options::default()
    })
    .await;
    let root = {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_file(fx.join("root.pem")).unwrap()
    };
    let cases = [
        ("client", "client.pem"),
        ("client-rsa", "client-rsa.pem"),
        (
            "client-via-intermediate",
            "client-via-intermediate-chain.pem",
        ),
        ("self-signed", "self-signed.pem"),
        ("same-name-other-ca", "same-name-other-ca.pem"),
    ];
    for proto in BOTH {
        for (name, presented) in cases {
            let cert = ClientCert::from_files(&fx.join(presented), &fx.join(format!("{name}.key")));
            let mut client = Client::new(ALIAS, Some(cert), proto);
            client.roots = vec![root.clone()];
            let resp = client
                .request(
                    h.addr,
                    Req::post(ALIAS, "/oauth/token", "grant_type=client_credentials"),
                )
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::OK, "{name} {proto:?}");
            assert_eq!(
                resp.upstream_header("client-certificate"),
                vec![read(&format!("{name}.escaped"))],
                "{name} {proto:?}"
            );
            assert_eq!(
                resp.upstream_header("client-certificate-ca-verified"),
                vec![read(&format!("{name}.verify"))],
                "{name} {proto:?}"
            );
        }
    }
}

#[tokio::test]
async fn verdicts_for_generated_certificates() {
    let h = Harness::start(Options::default()).await;
    let p = pki();
    let cases = [
        (
            "CA-signed leaf",
            ClientCert::leaf(&p.client),
            "SUCCESS",
            &p.client,
        ),
        (
            "leaf with its intermediate",
            ClientCert::with_chain(&p.client_via_intermediate),
            "SUCCESS",
            &p.client_via_intermediate,
        ),
        (
            "intermediate-signed leaf without its intermediate",
            ClientCert::leaf(&p.client_via_intermediate),
            "FAILED:unable to verify the first certificate",
            &p.client_via_intermediate,
        ),
        (
            "self-signed CA:TRUE",
            ClientCert::leaf(&p.self_signed_ca),
            "FAILED:self-signed certificate",
            &p.self_signed_ca,
        ),
        (
            "self-signed CA:FALSE",
            ClientCert::leaf(&p.self_signed_leaf),
            "FAILED:self-signed certificate",
            &p.self_signed_leaf,
        ),
        (
            "same name, different CA",
            ClientCert::leaf(&p.same_name_other_ca),
            "FAILED:unable to verify the first certificate",
            &p.same_name_other_ca,
        ),
    ];
    for proto in BOTH {
        for (what, cert, verdict, issued) in &cases {
            let client = Client::new(ALIAS, Some(cert.clone()), proto);
            let resp = client
                .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::OK, "{what} {proto:?}");
            assert_eq!(
                resp.upstream_header("client-certificate-ca-verified"),
                vec![verdict.to_string()],
                "{what} {proto:?}"
            );
            // Only the leaf is ever forwarded, even when the chain was sent.
            assert_eq!(
                resp.upstream_header("client-certificate"),
                vec![mtls_certs::escaped_pem(&issued.cert_der)],
                "{what} {proto:?}"
            );
        }
    }
}

/// Expired, not-yet-valid and wrong-EKU certificates are refused in the TLS layer (in TLS 1.3 the
/// client learns it on its first read); nothing reaches the upstream.
#[tokio::test]
async fn bad_certificates_are_refused_in_tls() {
    let h = Harness::start(Options::default()).await;
    let p = pki();
    for (what, issued) in [
        ("expired", &p.expired),
        ("not yet valid", &p.not_yet_valid),
        ("wrong EKU", &p.wrong_eku),
    ] {
        for versions in [vec![&rustls::version::TLS13], vec![&rustls::version::TLS12]] {
            for proto in BOTH {
                let mut client = Client::new(ALIAS, Some(ClientCert::leaf(issued)), proto);
                client.versions = versions.clone();
                let result = client
                    .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
                    .await;
                assert!(
                    result.is_err(),
                    "{what} {proto:?} {:?} was accepted",
                    versions[0].version
                );
            }
        }
    }
    assert_eq!(h.upstream_requests(), 0);
    let metrics = h.metrics().await;
    for outcome in ["cert_expired", "cert_not_yet_valid", "cert_wrong_eku"] {
        assert!(
            metrics.contains(&format!("outcome=\"{outcome}\"")),
            "{outcome} not counted:\n{metrics}"
        );
    }
}

#[tokio::test]
async fn self_signed_can_be_refused_by_policy() {
    let h = Harness::start(Options {
        mtls_extra: "self_signed = \"reject\"".into(),
        ..Options::default()
    })
    .await;
    let client = Client::new(
        ALIAS,
        Some(ClientCert::leaf(&pki().self_signed_leaf)),
        Proto::H1,
    );
    assert!(client
        .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
        .await
        .is_err());
    // A CA-signed client still passes.
    let client = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), Proto::H1);
    let resp = client
        .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
        .await
        .unwrap();
    assert_eq!(
        resp.upstream_header("client-certificate-ca-verified"),
        vec!["SUCCESS"]
    );
    assert_eq!(h.upstream_requests(), 1);
}

/// Client-sent copies of the injected headers never reach the provider, on either host, in any
/// spelling, however many times they are sent, even when named in `Connection`.
#[tokio::test]
async fn spoofed_identity_headers_are_stripped() {
    let h = Harness::start(Options::default()).await;
    for proto in BOTH {
        for (host, cert) in [
            (ALIAS, Some(ClientCert::leaf(&pki().self_signed_leaf))),
            (DOMAIN, None),
        ] {
            let path = if host == ALIAS {
                "/oauth/token"
            } else {
                "/authorize"
            };
            let mut req = Req::post(host, path, "x=1")
                .header("cname-api-key", "stolen")
                .header("CNAME_API_KEY", "stolen")
                .header("client-certificate", "-----BEGIN%20CERTIFICATE-----forged")
                .header("Client_Certificate", "forged")
                .header("client-certificate-ca-verified", "SUCCESS")
                .header("CLIENT_CERTIFICATE_CA_VERIFIED", "SUCCESS")
                .header("true-client-ip", "203.0.113.7")
                .header("True_Client_IP", "203.0.113.8")
                .header("x-forwarded-for", "203.0.113.9")
                .header("x-real-ip", "203.0.113.10")
                .header("forwarded", "for=203.0.113.11");
            if proto == Proto::H1 {
                // A hop-by-hop trick: asking the proxy to drop the headers it injects.
                req = req.header(
                    "connection",
                    "cname-api-key, client-certificate, true-client-ip",
                );
            }
            let client = Client::new(host, cert, proto);
            let resp = client.request(h.addr, req).await.unwrap();
            assert_eq!(resp.status, StatusCode::OK, "{host} {proto:?}");
            assert_eq!(
                resp.upstream_header("cname-api-key"),
                vec![API_KEY],
                "{host} {proto:?}"
            );
            assert_eq!(
                resp.upstream_header("true-client-ip"),
                vec!["127.0.0.1"],
                "{host} {proto:?}"
            );
            let names = resp.upstream_header_names();
            for spoof in [
                "cname_api_key",
                "client_certificate",
                "client_certificate_ca_verified",
                "true_client_ip",
                "x-forwarded-for",
                "x-real-ip",
                "forwarded",
            ] {
                assert!(
                    !names.iter().any(|n| n.eq_ignore_ascii_case(spoof)),
                    "{spoof} reached upstream via {host} {proto:?}"
                );
            }
            if host == ALIAS {
                assert_eq!(
                    resp.upstream_header("client-certificate-ca-verified"),
                    vec!["FAILED:self-signed certificate"]
                );
                assert_eq!(
                    resp.upstream_header("client-certificate"),
                    vec![mtls_certs::escaped_pem(&pki().self_signed_leaf.cert_der)]
                );
            } else {
                assert!(resp.upstream_header("client-certificate").is_empty());
                assert!(resp
                    .upstream_header("client-certificate-ca-verified")
                    .is_empty());
            }
        }
    }
}

#[tokio::test]
async fn alias_forwards_only_listed_paths() {
    let h = Harness::start(Options::default()).await;
    let tricks = [
        "/authorize",
        "//oauth/token",
        "/oauth//token",
        "/oauth%2Ftoken",
        "/oauth%2ftoken",
        "/oauth/%74oken",
        "/%2e/oauth/token",
        "/oauth/./token",
        "/oauth/x/../token",
        "/oauth/%2e%2e/oauth/token",
        "/oauth/token;jsessionid=1",
        "/oauth/token.",
        "/oauth/token/",
        "/OAUTH/TOKEN",
        "/Userinfo",
        "/userinfo%00",
        "/oauth/token%20",
    ];
    for proto in BOTH {
        let client = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), proto);
        let before = h.upstream_requests();
        for path in tricks {
            let resp = client
                .request(h.addr, Req::post(ALIAS, path, "x=1"))
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::NOT_FOUND, "{path} {proto:?}");
            assert_eq!(resp.json()["error"], "not_found", "{path}");
            assert!(resp.json()["error_description"].is_string());
        }
        assert_eq!(
            h.upstream_requests(),
            before,
            "a refused path reached upstream"
        );
        for path in [
            "/oauth/token",
            "/oauth/par",
            "/userinfo",
            "/userinfo?schema=openid",
        ] {
            let resp = client
                .request(h.addr, Req::post(ALIAS, path, "x=1"))
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::OK, "{path} {proto:?}");
            assert_eq!(
                resp.json()["path"],
                path,
                "path must be forwarded exactly as received"
            );
        }
    }
}

#[tokio::test]
async fn plain_domain_forwards_everything_without_asking_for_a_certificate() {
    let h = Harness::start(Options::default()).await;
    for proto in BOTH {
        // The plain domain must not send a CertificateRequest: a client cert offered is never used.
        let client = Client::new(DOMAIN, Some(ClientCert::leaf(&pki().client)), proto);
        for path in [
            "/authorize?client_id=a&state=b",
            "/co/authenticate",
            "/oauth/token",
            "/.well-known/openid-configuration",
            "/u/login",
        ] {
            let resp = client
                .request(h.addr, Req::get(DOMAIN, path))
                .await
                .unwrap();
            assert_eq!(resp.status, StatusCode::OK, "{path}");
            assert_eq!(resp.json()["path"], path);
            assert_eq!(resp.upstream_header("host"), vec![UPSTREAM_HOST]);
            assert!(resp.upstream_header("client-certificate").is_empty());
        }
        let tls = client.connect(h.addr).await.unwrap();
        assert!(tls.get_ref().1.peer_certificates().is_some());
    }
}

#[tokio::test]
async fn host_must_match_sni() {
    let h = Harness::start(Options::default()).await;
    let cert = Some(ClientCert::leaf(&pki().client));
    for proto in BOTH {
        // Alias connection, request for the plain domain, and the reverse.
        let c = Client::new(ALIAS, cert.clone(), proto);
        let r = c
            .request(h.addr, Req::post(DOMAIN, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{proto:?}");
        assert_eq!(r.json()["error"], "misdirected_request");
        let c = Client::new(DOMAIN, None, proto);
        let r = c
            .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{proto:?}");
        let r = c
            .request(h.addr, Req::get("evil.example.net", "/"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{proto:?}");
        // Case and port do not matter.
        let r = c
            .request(h.addr, Req::get("AUTH.Example.com:443", "/x"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK, "{proto:?}");
    }
    // HTTP/2: one connection to the plain domain carrying a request for the alias, next to a good one.
    let c = Client::new(DOMAIN, None, Proto::H2);
    let tls = c.connect(h.addr).await.unwrap();
    let io = hyper_util::rt::TokioIo::new(tls);
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
            .await
            .unwrap();
    tokio::spawn(conn);
    for (authority, want) in [
        (DOMAIN, StatusCode::OK),
        (ALIAS, StatusCode::MISDIRECTED_REQUEST),
        (DOMAIN, StatusCode::OK),
    ] {
        let req = http::Request::post(format!("https://{authority}/oauth/token"))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"x=1")))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), want, "{authority}");
    }
    // One accepted request per protocol in the loop, two on the shared HTTP/2 connection.
    assert_eq!(h.upstream_requests(), 2 + 2);
}

#[tokio::test]
async fn oversized_certificate_is_refused_with_400_and_counted() {
    let h = Harness::start(Options::default()).await;
    for proto in BOTH {
        let client = Client::new(ALIAS, Some(ClientCert::leaf(&pki().oversized)), proto);
        let r = client
            .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["error"], "invalid_request");
        assert!(r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("4096"));
    }
    assert_eq!(h.upstream_requests(), 0);
    let m = h.metrics().await;
    assert!(
        m.lines()
            .any(|l| l.starts_with("mtls_gateway_client_cert_too_large_total 2")),
        "{m}"
    );
}

#[tokio::test]
async fn missing_certificate_on_alias_rejected_by_default() {
    let h = Harness::start(Options::default()).await;
    for proto in BOTH {
        let client = Client::new(ALIAS, None, proto);
        let r = client
            .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["error"], "invalid_client");
    }
    assert_eq!(h.upstream_requests(), 0);
}

#[tokio::test]
async fn missing_certificate_can_be_forwarded() {
    let h = Harness::start(Options {
        mtls_extra: "no_certificate = \"forward\"".into(),
        ..Options::default()
    })
    .await;
    let client = Client::new(ALIAS, None, Proto::H2);
    let r = client
        .request(
            h.addr,
            Req::post(ALIAS, "/oauth/token", "x=1")
                .header("client-certificate-ca-verified", "SUCCESS"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.upstream_header("client-certificate").is_empty());
    assert!(r
        .upstream_header("client-certificate-ca-verified")
        .is_empty());
}

#[tokio::test]
async fn upstream_refused_is_502() {
    let h = Harness::start(Options {
        upstream: Upstream::Refused,
        ..Options::default()
    })
    .await;
    for proto in BOTH {
        let r = Client::new(DOMAIN, None, proto)
            .request(h.addr, Req::get(DOMAIN, "/authorize"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{proto:?}");
        assert_eq!(r.json()["error"], "temporarily_unavailable");
    }
}

#[tokio::test]
async fn upstream_silent_is_504() {
    let h = Harness::start(Options {
        upstream: Upstream::Silent,
        upstream_extra: "response_timeout = \"500ms\"".into(),
        ..Options::default()
    })
    .await;
    for proto in BOTH {
        let cert = Some(ClientCert::leaf(&pki().client));
        let r = Client::new(ALIAS, cert, proto)
            .request(h.addr, Req::post(ALIAS, "/userinfo", ""))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT, "{proto:?}");
        assert_eq!(r.json()["error"], "temporarily_unavailable");
    }
    let m = h.metrics().await;
    assert!(
        m.contains("mtls_gateway_upstream_errors_total{kind=\"timeout\"} 2"),
        "{m}"
    );
}

/// Request and response bodies pass through unchanged, including large ones.
#[tokio::test]
async fn bodies_stream_through() {
    let h = Harness::start(Options::default()).await;
    let body: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for proto in BOTH {
        let client = Client::new(DOMAIN, None, proto);
        let r = client
            .request(h.addr, Req::post(DOMAIN, "/oauth/token", &body))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["body"].as_str().unwrap(), body);
    }
}

#[tokio::test]
async fn unknown_server_name_gets_a_tls_alert() {
    let h = Harness::start(Options::default()).await;
    let c = Client::new("other.example.org", None, Proto::H1);
    let e = c.connect(h.addr).await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("alert"), "{e}");
}
