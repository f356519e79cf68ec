//! A client that stops reading its responses must not stall other clients. It opens HTTP/2
//! connections with 100 streams of large responses each and reads none of the bodies; another
//! client's request is still answered at once. (With one multiplexed HTTP/2 connection to the
//! provider, the unread bodies once used up its shared flow-control window and every other
//! client waited until the reader left.)

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::*;

#[tokio::test]
async fn a_slow_reader_does_not_delay_other_clients() {
    let g = Harness::start(Options::default()).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let io = Client::new(DOMAIN, None, Proto::H2)
            .connect(g.addr)
            .await
            .unwrap();
        let (sender, conn) = hyper::client::conn::http2::handshake::<_, _, Full<Bytes>>(
            TokioExecutor::new(),
            TokioIo::new(io),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let mut streams = Vec::new();
        for _ in 0..100 {
            let mut sender = sender.clone();
            streams.push(tokio::spawn(async move {
                let req = Request::get(format!("https://{DOMAIN}/big"))
                    .header(mtls_testkit::echo::PAD_HEADER, "61440")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                // The head only: the body is never read.
                sender.send_request(req).await.ok()
            }));
        }
        for s in streams {
            held.push(s.await.unwrap());
        }
        held.push(None);
    }
    let answered = held.iter().filter(|r| r.is_some()).count();
    assert!(
        answered >= 100,
        "the reader got only {answered} response heads"
    );
    // Another client, with the reader still connected and not reading.
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        Client::new(DOMAIN, None, Proto::H2).request(g.addr, Req::get(DOMAIN, "/small")),
    )
    .await
    .expect("another client's request was stalled by the slow reader")
    .unwrap();
    assert_eq!(r.status, StatusCode::OK);
    eprintln!("other client answered in {:?}", started.elapsed());
    assert_eq!(
        r.json()["version"],
        "HTTP/1.1",
        "one request, one upstream connection"
    );
    assert_eq!(
        r.upstream_header("host").len(),
        1,
        "exactly one Host upstream"
    );
    drop(held);
}
