//! Certificate trust management end to end: registry and edge policy, deny list, CRLs (revoked
//! leaf and intermediate, per-CA depth, stale lists), live reload under load, and resumed sessions
//! of a certificate revoked meanwhile.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use mtls_certs::{forge_crl, sign_crl, Issued};
use rustls::pki_types::ServerName;
use support::*;
use time::OffsetDateTime;

fn subject(i: &Issued) -> String {
    mtls_certs::check_client_leaf(&i.cert_der, OffsetDateTime::now_utc().unix_timestamp())
        .unwrap()
        .subject
}

fn crl_pem(revoked: &[&Issued], next_update_in: time::Duration) -> String {
    let now = OffsetDateTime::now_utc();
    sign_crl(
        &pki().root,
        revoked,
        now - time::Duration::days(2),
        now + next_update_in,
        1,
    )
    .unwrap()
    .pem
}

/// A CRL under the root's exact name, signed by another key.
fn forged_crl(revoked: &[&Issued]) -> String {
    let now = OffsetDateTime::now_utc();
    forge_crl(
        &pki().root,
        revoked,
        now - time::Duration::minutes(1),
        now + time::Duration::days(7),
        2,
    )
    .unwrap()
    .pem
}

fn crl_by(ca: &Issued, revoked: &[&Issued]) -> String {
    let now = OffsetDateTime::now_utc();
    sign_crl(
        ca,
        revoked,
        now - time::Duration::minutes(1),
        now + time::Duration::days(7),
        1,
    )
    .unwrap()
    .pem
}

/// One request on a new connection; the verdict header the upstream saw, or the status when the
/// gateway answered itself, or `Err` when TLS refused.
async fn verdict(h: &Harness, cert: ClientCert) -> Result<(StatusCode, Option<String>), String> {
    let r = Client::new(ALIAS, Some(cert), Proto::H1)
        .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
        .await?;
    let v = if r.status == StatusCode::OK {
        r.upstream_header("client-certificate-ca-verified").pop()
    } else {
        None
    };
    Ok((r.status, v))
}

fn ok(v: &str) -> Result<(StatusCode, Option<String>), String> {
    Ok((StatusCode::OK, Some(v.to_owned())))
}

#[tokio::test]
async fn registered_policy_refuses_unregistered_certificates_at_the_edge() {
    let p = pki();
    let registry = format!(
        "[[client]]\nclient_id = \"self\"\nself_signed_sha256 = [\"{}\"]\n\
         [[client]]\nclient_id = \"ca\"\nsubject_dn = \"{}\"\n\
         [[client]]\nclient_id = \"impostor\"\nsubject_dn = \"{}\"\n",
        p.self_signed_leaf.thumbprint().hex(),
        subject(&p.client),
        subject(&p.same_name_other_ca),
    );
    let h = Harness::start(Options {
        files: vec![("registry.toml".into(), registry)],
        mtls_extra: "registry = \"registry.toml\"\nedge_policy = \"registered\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.self_signed_leaf)).await,
        ok("FAILED:self-signed certificate")
    );
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS")
    );
    assert_eq!(h.upstream_requests(), 2);
    for (what, cert) in [
        (
            "unregistered self-signed",
            ClientCert::leaf(&p.self_signed_ca),
        ),
        (
            "another DN under the same CA",
            ClientCert::with_chain(&p.client_via_intermediate),
        ),
        (
            "a registered DN under an untrusted CA",
            ClientCert::leaf(&p.same_name_other_ca),
        ),
    ] {
        let r = Client::new(ALIAS, Some(cert), Proto::H2)
            .request(h.addr, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(r.json()["error"], "invalid_client", "{what}");
    }
    assert_eq!(
        h.upstream_requests(),
        2,
        "a refused certificate reached the upstream"
    );
}

#[tokio::test]
async fn deny_list_beats_a_valid_chain() {
    let p = pki();
    let facts = mtls_certs::check_client_leaf(
        &p.client_via_intermediate.cert_der,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .unwrap();
    let deny = format!(
        "sha256 = [\"{}\"]\n[[issuer_serial]]\nissuer = \"{}\"\nserial = \"{}\"\n",
        p.client.thumbprint().hex(),
        facts.issuer,
        facts.serial_hex.to_uppercase(),
    );
    let h = Harness::start(Options {
        files: vec![("deny.toml".into(), deny)],
        mtls_extra: "deny_list = \"deny.toml\"".into(),
        ..Options::default()
    })
    .await;
    assert!(
        verdict(&h, ClientCert::leaf(&p.client)).await.is_err(),
        "denied by thumbprint"
    );
    assert!(
        verdict(&h, ClientCert::with_chain(&p.client_via_intermediate))
            .await
            .is_err(),
        "denied by issuer + serial"
    );
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await,
        ok("SUCCESS")
    );
    assert_eq!(h.upstream_requests(), 1);
}

#[tokio::test]
async fn registry_and_deny_list_match_a_dn_however_it_is_spelled() {
    let p = pki();
    let denied = mtls_certs::check_client_leaf(
        &p.client_via_intermediate.cert_der,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .unwrap();
    // `certs inspect` prints these names as `CN=client-1` and `CN=Example Intermediate CA`;
    // the files spell them as people and other tools do.
    assert_eq!(subject(&p.client), "CN=client-1");
    assert_eq!(denied.issuer, "CN=Example Intermediate CA");
    let registry = "[[client]]\nclient_id = \"ca\"\nsubject_dn = \" cn = Client-1 \"\n\
                    [[client]]\nclient_id = \"denied\"\nsubject_dn = \"2.5.4.3=CLIENT-VIA-INTERMEDIATE\"\n";
    let deny = format!(
        "[[issuer_serial]]\nissuer = \"commonName = example  intermediate CA\"\nserial = \"{}\"\n",
        denied.serial_hex,
    );
    let h = Harness::start(Options {
        files: vec![
            ("registry.toml".into(), registry.into()),
            ("deny.toml".into(), deny),
        ],
        mtls_extra: "registry = \"registry.toml\"\nedge_policy = \"registered\"\n\
                     deny_list = \"deny.toml\""
            .into(),
        ..Options::default()
    })
    .await;
    let registered = verdict(&h, ClientCert::leaf(&p.client)).await;
    let denied = verdict(&h, ClientCert::with_chain(&p.client_via_intermediate)).await;
    assert!(
        denied.is_err(),
        "not denied by issuer + serial under another spelling of the issuer: {denied:?}"
    );
    assert_eq!(
        registered,
        ok("SUCCESS"),
        "registered under another spelling of its subject"
    );
    assert_eq!(h.upstream_requests(), 1);
}

#[tokio::test]
async fn revoked_certificates_are_never_success() {
    let p = pki();
    let intermediate_revoked = crl_by(&p.root, &[&p.intermediate]);
    let files = || {
        vec![
            ("root-crl-revoked.pem".to_owned(), p.root_crl_pem.clone()),
            (
                "intermediate-revoked.pem".to_owned(),
                intermediate_revoked.clone(),
            ),
        ]
    };
    // Default: revoked is refused in the handshake.
    let h = Harness::start(Options {
        files: files(),
        mtls_extra: "crl = [\"root-crl-revoked.pem\"]".into(),
        ..Options::default()
    })
    .await;
    assert!(verdict(&h, ClientCert::leaf(&p.revoked)).await.is_err());
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS")
    );
    // Self-signed certificates have no CRL and are not failed for it.
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.self_signed_leaf)).await,
        ok("FAILED:self-signed certificate")
    );

    // revoked = "flag": forwarded, never SUCCESS.
    let h = Harness::start(Options {
        files: files(),
        mtls_extra: "crl = [\"root-crl-revoked.pem\"]\nrevoked = \"flag\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await,
        ok("FAILED:certificate revoked")
    );

    // A revoked intermediate: refused when the whole chain is checked...
    let h = Harness::start(Options {
        files: files(),
        mtls_extra: "crl = [\"intermediate-revoked.pem\"]\nrevoked = \"flag\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&h, ClientCert::with_chain(&p.client_via_intermediate)).await,
        ok("FAILED:certificate revoked")
    );
    // ...and not looked at when this CA is configured for leaf-only checks.
    let prepared = Prepared::new(Options {
        files: files(),
        ..Options::default()
    })
    .await;
    let text = std::fs::read_to_string(&prepared.config_path).unwrap();
    let root = prepared.dir.path().join("root.pem");
    let text = text.replace(
        &format!("client_ca = [\"{}\"]", root.display()),
        &format!("client_ca = [{{ file = \"{}\", revocation = \"leaf\" }}]\ncrl = [\"intermediate-revoked.pem\"]", root.display()),
    );
    std::fs::write(&prepared.config_path, text).unwrap();
    let gw = mtls_gateway::start(mtls_gateway::config::load(&prepared.config_path).unwrap())
        .await
        .unwrap();
    let r = Client::new(
        ALIAS,
        Some(ClientCert::with_chain(&p.client_via_intermediate)),
        Proto::H1,
    )
    .request(gw.addrs[0], Req::post(ALIAS, "/oauth/token", "x=1"))
    .await
    .unwrap();
    assert_eq!(
        r.upstream_header("client-certificate-ca-verified"),
        vec!["SUCCESS"]
    );
    gw.shutdown().await;
}

#[tokio::test]
async fn stale_crl_fails_closed_under_enforce() {
    let p = pki();
    let stale = crl_pem(&[], -time::Duration::days(1));
    let enforce = Harness::start(Options {
        files: vec![("stale.pem".into(), stale.clone())],
        mtls_extra: "crl = [\"stale.pem\"]".into(),
        ..Options::default()
    })
    .await;
    assert!(
        verdict(&enforce, ClientCert::leaf(&p.client))
            .await
            .is_err(),
        "a stale CRL must fail closed"
    );
    let flag = Harness::start(Options {
        files: vec![("stale.pem".into(), stale.clone())],
        mtls_extra: "crl = [\"stale.pem\"]\nrevoked = \"flag\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&flag, ClientCert::leaf(&p.client)).await,
        ok("FAILED:CRL has expired")
    );
    let warn = Harness::start(Options {
        files: vec![("stale.pem".into(), stale)],
        mtls_extra: "crl = [\"stale.pem\"]\nstale_crl = \"warn\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&warn, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS")
    );
    let m = warn.metrics().await;
    assert!(m.contains("mtls_gateway_crl_next_update_timestamp_seconds{domain=\"auth.example.com\",issuer=\"CN=Example Root CA\"}"), "{m}");
}

#[tokio::test]
async fn a_crl_signed_by_another_key_under_the_roots_name_is_refused_at_load() {
    let p = pki();
    let files = vec![
        (
            "root-crl.pem".to_owned(),
            crl_pem(&[], time::Duration::days(7)),
        ),
        ("forged.pem".to_owned(), forged_crl(&[])),
        (
            "intermediate-crl.pem".to_owned(),
            crl_by(&p.intermediate, &[]),
        ),
    ];
    // The root's own CRL and an intermediate's (no client CA has its name) load.
    let genuine = Prepared::new(Options {
        files: files.clone(),
        mtls_extra: "crl = [\"root-crl.pem\", \"intermediate-crl.pem\"]".into(),
        ..Options::default()
    })
    .await;
    if let Err(e) = mtls_gateway::config::load(&genuine.config_path) {
        panic!("genuine CRLs refused: {e}");
    }

    let forged = Prepared::new(Options {
        files,
        mtls_extra: "crl = [\"root-crl.pem\", \"forged.pem\", \"intermediate-crl.pem\"]".into(),
        ..Options::default()
    })
    .await;
    let errors = match mtls_gateway::config::load(&forged.config_path) {
        Ok(_) => panic!("a forged CRL was loaded"),
        Err(e) => e.0,
    };
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.key, "domain[0].mtls.crl[1]");
    let file = forged.dir.path().join("forged.pem");
    assert!(
        e.problem.contains(&file.display().to_string()),
        "the file is not named: {e}"
    );
    assert!(
        e.problem.contains(
            "the CRL's signature does not verify with the client CA `CN=Example Root CA`"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_forged_crl_is_refused_on_reload_and_the_previous_one_keeps_serving() {
    let p = pki();
    let h = Harness::start(Options {
        files: vec![("crl.pem".into(), p.root_crl_pem.clone())],
        mtls_extra: "crl = [\"crl.pem\"]\nrevoked = \"flag\"".into(),
        tables: "[reload]\ndebounce = \"50ms\"".into(),
        ..Options::default()
    })
    .await;
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS")
    );
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await,
        ok("FAILED:certificate revoked")
    );

    // The forgery un-revokes nobody and would fail every root-signed client if it were loaded.
    std::fs::write(h.dir.path().join("crl.pem"), forged_crl(&[])).unwrap();
    within_one_second(|| async {
        h.metrics()
            .await
            .contains("mtls_gateway_config_reloads_total{kind=\"failure\"} 1")
    })
    .await;
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS"),
        "the forged CRL reached the verifier"
    );
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await,
        ok("FAILED:certificate revoked"),
        "the previous CRL must still apply"
    );
    let m = h.metrics().await;
    assert!(
        !m.contains("mtls_gateway_config_reloads_total{kind=\"success\"} 1"),
        "{m}"
    );
}

/// Polls `probe` until it returns true or one second passes; returns how long it took.
async fn within_one_second<F, Fut>(mut probe: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if probe().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the change did not take effect within one second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_drops_nothing_and_applies_within_a_second() {
    let p = pki();
    let registry = |extra: &str| {
        format!(
            "[[client]]\nclient_id = \"load\"\nsubject_dn = \"{}\"\n[[client]]\nclient_id = \"probe\"\nsubject_dn = \"{}\"\n\
             [[client]]\nclient_id = \"newcomer\"\nsubject_dn = \"{}\"\n{extra}",
            subject(&p.client),
            subject(&p.revoked),
            subject(&p.client_via_intermediate),
        )
    };
    let h =
        Harness::start(Options {
            files: vec![
                ("ca.pem".into(), p.root.cert_pem.clone()),
                ("crl.pem".into(), crl_pem(&[], time::Duration::days(7))),
                ("registry.toml".into(), registry("")),
            ],
            client_ca: Some("ca.pem".into()),
            mtls_extra:
                "crl = [\"crl.pem\"]\nregistry = \"registry.toml\"\nedge_policy = \"registered\""
                    .into(),
            tables: "[reload]\ndebounce = \"100ms\"".into(),
            ..Options::default()
        })
        .await;
    let dir = h.dir.path().to_owned();

    // Steady load: new connections (which see each new state) and one long-lived HTTP/2 connection
    // (which must survive every reload).
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let addr = h.addr;
    let load = {
        let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
        tokio::spawn(async move {
            let tls = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), Proto::H2)
                .connect(addr)
                .await
                .unwrap();
            let (mut h2, conn) = hyper::client::conn::http2::handshake(
                hyper_util::rt::TokioExecutor::new(),
                hyper_util::rt::TokioIo::new(tls),
            )
            .await
            .unwrap();
            tokio::spawn(conn);
            let client = Client::new(ALIAS, Some(ClientCert::leaf(&pki().client)), Proto::H1);
            while !stop.load(Ordering::SeqCst) {
                let fresh = client
                    .request(addr, Req::post(ALIAS, "/oauth/token", "x=1"))
                    .await;
                let req = http::Request::post(format!("https://{ALIAS}/oauth/token"))
                    .body(http_body_util::Full::new(bytes::Bytes::from_static(b"x=1")))
                    .unwrap();
                let kept = h2.send_request(req).await;
                sent.fetch_add(2, Ordering::SeqCst);
                if !matches!(&fresh, Ok(r) if r.status == StatusCode::OK) {
                    failed.fetch_add(1, Ordering::SeqCst);
                    eprintln!("fresh connection failed: {:?}", fresh.map(|r| r.status));
                }
                if !matches!(&kept, Ok(r) if r.status() == StatusCode::OK) {
                    failed.fetch_add(1, Ordering::SeqCst);
                    eprintln!("kept connection failed: {:?}", kept.map(|r| r.status()));
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    // 1. A new client CA: the intermediate becomes a trust anchor of its own, so its leaf
    //    verifies without the chain.
    let newcomer = ClientCert::leaf(&p.client_via_intermediate);
    assert_eq!(
        verdict(&h, newcomer.clone()).await.unwrap().0,
        StatusCode::UNAUTHORIZED
    );
    std::fs::write(
        dir.join("ca.pem"),
        format!("{}{}", p.root.cert_pem, p.intermediate.cert_pem),
    )
    .unwrap();
    let took = within_one_second(|| {
        let c = newcomer.clone();
        let h = &h;
        async move { verdict(h, c).await == ok("SUCCESS") }
    })
    .await;
    eprintln!("CA change applied after {took:?}");

    // 2. A CRL revoking the probe certificate.
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await,
        ok("SUCCESS")
    );
    std::fs::write(dir.join("crl.pem"), p.root_crl_pem.clone()).unwrap();
    let took =
        within_one_second(|| async { verdict(&h, ClientCert::leaf(&p.revoked)).await.is_err() })
            .await;
    eprintln!("CRL change applied after {took:?}");

    // 3. An invalid change: refused, counted, the previous state keeps serving.
    std::fs::write(
        dir.join("crl.pem"),
        "-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n",
    )
    .unwrap();
    within_one_second(|| async {
        h.metrics()
            .await
            .contains("mtls_gateway_config_reloads_total{kind=\"failure\"} 1")
    })
    .await;
    assert!(
        verdict(&h, ClientCert::leaf(&p.revoked)).await.is_err(),
        "the old CRL must still apply"
    );
    assert_eq!(
        verdict(&h, ClientCert::leaf(&p.client)).await,
        ok("SUCCESS")
    );

    // 4. Repair the CRL and register a self-signed client in one rotation.
    let selfie = ClientCert::leaf(&p.self_signed_leaf);
    assert_eq!(
        verdict(&h, selfie.clone()).await.unwrap().0,
        StatusCode::UNAUTHORIZED
    );
    std::fs::write(dir.join("crl.pem"), p.root_crl_pem.clone()).unwrap();
    let extra = format!(
        "[[client]]\nclient_id = \"selfie\"\nself_signed_sha256 = [\"{}\"]\n",
        p.self_signed_leaf.thumbprint().hex()
    );
    std::fs::write(dir.join("registry.toml"), registry(&extra)).unwrap();
    let took = within_one_second(|| {
        let c = selfie.clone();
        let h = &h;
        async move { verdict(h, c).await == ok("FAILED:self-signed certificate") }
    })
    .await;
    eprintln!("registry change applied after {took:?}");

    // Let the load reach a meaningful count across the new state before stopping it.
    while sent.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let (sent, failed) = (sent.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    eprintln!("load: {sent} requests, {failed} failed");
    assert!(sent >= 40);
    assert_eq!(failed, 0);
    let m = h.metrics().await;
    let ok_reloads: f64 = m
        .lines()
        .find(|l| l.starts_with("mtls_gateway_config_reloads_total{kind=\"success\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    assert!(ok_reloads >= 3.0, "{m}");
}

#[tokio::test]
async fn a_revoked_certificate_cannot_keep_resuming() {
    let p = pki();
    let h = Harness::start(Options {
        files: vec![("crl.pem".into(), crl_pem(&[], time::Duration::days(7)))],
        mtls_extra: "crl = [\"crl.pem\"]".into(),
        tables: "[reload]\ndebounce = \"50ms\"".into(),
        ..Options::default()
    })
    .await;
    let mut client = Client::new(ALIAS, Some(ClientCert::leaf(&p.revoked)), Proto::H1);
    client.versions = vec![&rustls::version::TLS13];
    let mut config = client.config();
    config.resumption = rustls::client::Resumption::in_memory_sessions(32);
    let config = Arc::new(config);
    let connect = || {
        let config = config.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
            tokio_rustls::TlsConnector::from(config)
                .connect(ServerName::try_from(ALIAS).unwrap(), tcp)
                .await
        }
    };
    // A full handshake, then a resumed one: both forwarded.
    for _ in 0..2 {
        let tls = connect().await.unwrap();
        let r = send(tls, Proto::H1, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .unwrap();
        assert_eq!(
            r.upstream_header("client-certificate-ca-verified"),
            vec!["SUCCESS"]
        );
    }
    let tls = connect().await.unwrap();
    assert_eq!(
        tls.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed)
    );
    drop(tls);

    // Revoke it and reload.
    std::fs::write(h.dir.path().join("crl.pem"), p.root_crl_pem.clone()).unwrap();
    within_one_second(|| async { verdict(&h, ClientCert::leaf(&p.revoked)).await.is_err() }).await;

    // Session tickets survive the reload, so the client still resumes; the re-check refuses it.
    let before = h.upstream_requests();
    let tls = connect().await.unwrap();
    assert_eq!(
        tls.get_ref().1.handshake_kind(),
        Some(rustls::HandshakeKind::Resumed),
        "tickets should survive a reload"
    );
    assert!(
        send(tls, Proto::H1, Req::post(ALIAS, "/oauth/token", "x=1"))
            .await
            .is_err()
    );
    assert_eq!(h.upstream_requests(), before);
    let m = h.metrics().await;
    assert!(m.contains("outcome=\"cert_rechecked\""), "{m}");
    assert!(m.contains("outcome=\"cert_revoked\""), "{m}");
}

/// `certs init` writes what the tests use; a configuration over its output passes `check`, and
/// `certs inspect` agrees with the generator on the thumbprint.
#[test]
fn certs_init_output_passes_check_and_inspect_agrees() {
    let bin = env!("CARGO_BIN_EXE_mtls-gateway");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin)
        .args(["certs", "init"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "root.pem",
        "server.pem",
        "server.key",
        "client.pem",
        "client.key",
        "self-signed-leaf.pem",
        "revoked.pem",
        "root-crl.pem",
        "client-via-intermediate-chain.pem",
    ] {
        assert!(dir.path().join(name).exists(), "{name} missing");
    }
    std::fs::write(dir.path().join("api-key"), "k").unwrap();
    std::fs::write(
        dir.path().join("gw.toml"),
        "[[domain]]\nname = \"auth.example.com\"\ncert = \"server.pem\"\nkey = \"server.key\"\napi_key_file = \"api-key\"\n\
         [domain.upstream]\nhost = \"idp.example.internal\"\nca_file = \"root.pem\"\n\
         [domain.mtls]\nclient_ca = [\"root.pem\"]\ncrl = [\"root-crl.pem\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["check", "--config"])
        .arg(dir.path().join("gw.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin)
        .args(["certs", "inspect", "--json"])
        .arg(dir.path().join("client.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pem = std::fs::read_to_string(dir.path().join("client.pem")).unwrap();
    let der = {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    };
    let text = json.to_string();
    assert!(
        text.contains(&mtls_certs::Thumbprint::of(&der).hex()),
        "{text}"
    );
    assert!(text.contains(&mtls_certs::escaped_pem(&der)), "{text}");
}
