//! HTTPS by itself (`serve --domain`), against a real ACME server (pebble) on 127.0.0.1: the
//! certificate is obtained at start, a payment's checkout is served over HTTPS with a chain
//! verified against the ACME server's root, plain HTTP is redirected, and a certificate made
//! to expire soon is renewed while the server keeps running.

use crate::common::acme_server::AcmeServer;
use crate::common::{free_port, merchant, Backend, TestDb};
use hundi::config::Config;
use hundi::tls::HttpsConfig;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const DOMAIN: &str = "pay.hundi.test";

/// A client that trusts only the ACME server's root and reaches DOMAIN at 127.0.0.1:`port`.
fn client(root_pem: &str, port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(root_pem.as_bytes()).expect("root"))
        .resolve(DOMAIN, SocketAddr::from(([127, 0, 0, 1], port)))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// The serial number of the certificate the server presents, once it presents one trusted
/// by the ACME server's root other than `not`. A new client each time: a client's resumed TLS
/// session would show the certificate of the session it resumed.
async fn presented_serial(root_pem: &str, port: u16, not: Option<&str>) -> String {
    let base = format!("https://{DOMAIN}:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    while Instant::now() < deadline {
        match client(root_pem, port)
            .get(format!("{base}/healthz"))
            .send()
            .await
        {
            Ok(res) => {
                let der = res
                    .extensions()
                    .get::<reqwest::tls::TlsInfo>()
                    .and_then(|i| i.peer_certificate())
                    .expect("a certificate")
                    .to_vec();
                let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
                let serial = cert.raw_serial_as_string();
                if Some(serial.as_str()) != not {
                    return serial;
                }
                last = "the same certificate".into();
            }
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no new trusted certificate presented within 90 s; last: {last}");
}

/// A certificate for DOMAIN that expires in two days, not from the ACME server.
fn expiring_soon() -> (String, String) {
    use chrono::Datelike;
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![DOMAIN.to_string()]).expect("params");
    let day = |d: chrono::DateTime<chrono::Utc>| {
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    params.not_before = day(chrono::Utc::now() - chrono::Duration::days(1));
    params.not_after = day(chrono::Utc::now() + chrono::Duration::days(2));
    let cert = params.self_signed(&key).expect("cert");
    (cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn https_by_acme_obtains_serves_redirects_and_renews() {
    let http_port = free_port();
    let acme = AcmeServer::start(http_port);
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let shop = merchant(&*store, "Shop").await;
    let certs = tempfile::tempdir().expect("dir");
    let mut https = HttpsConfig::new(DOMAIN, &db.url).expect("domain");
    https.https_listen = "127.0.0.1:0".into();
    https.http_listen = format!("127.0.0.1:{http_port}");
    https.directory = acme.directory_url();
    https.directory_ca = Some(acme.listener_ca());
    https.cert_dir = certs.path().to_path_buf();
    https.check_every = Duration::from_secs(1);
    let opts = Config {
        https: Some(https),
        ..Config::default()
    };
    let server = hundi::startup::start(store.clone(), opts)
        .await
        .expect("server starts");
    let port = server.addr.port();
    let base = format!("https://{DOMAIN}:{port}");
    let root = acme.issuing_root().await;
    let client = client(&root, port);

    // Obtained at start, and verified against the ACME server's root by the client.
    let first = presented_serial(&root, port, None).await;

    // A payment's checkout, over HTTPS, at the public URL the domain gave.
    let res = client
        .post(format!("{base}/v1/payments"))
        .bearer_auth(&shop.test_key)
        .json(&json!({"amount": "100.00", "currency": "PKR"}))
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let payment: Value = res.json().await.expect("json");
    let checkout = payment["checkout_url"].as_str().expect("checkout_url");
    assert!(checkout.starts_with(&format!("{base}/")), "{checkout}");
    let page = client.get(checkout).send().await.expect("checkout");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("page").contains("100.00"));

    // Plain HTTP sends everything (but the challenges) to the same path on HTTPS.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = plain
        .get(format!("http://127.0.0.1:{http_port}/pay/abc?lang=ur"))
        .send()
        .await
        .expect("http");
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], format!("{base}/pay/abc?lang=ur"));
    let unknown = plain
        .get(format!(
            "http://127.0.0.1:{http_port}/.well-known/acme-challenge/nothing"
        ))
        .send()
        .await
        .expect("http");
    assert_eq!(unknown.status(), 404);

    // A certificate two days from expiry is renewed with no restart.
    let (cert, key) = expiring_soon();
    hundi::tls::CertFiles::new(certs.path(), DOMAIN)
        .write(&cert, &key)
        .expect("write");
    let second = presented_serial(&root, port, Some(&first)).await;
    assert_ne!(second, first);
    let not_after = hundi::tls::stored_not_after(certs.path(), DOMAIN)
        .expect("readable")
        .expect("stored");
    assert!(
        not_after > chrono::Utc::now() + chrono::Duration::days(60),
        "{not_after}"
    );
    let res = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("ok");
    assert_eq!(res.status(), 200);
    server.shutdown().await.expect("stops");
}
