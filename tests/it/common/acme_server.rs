//! A real ACME server for the HTTPS tests: Debian's `pebble` (Let's Encrypt's test server) on
//! 127.0.0.1, with `pebble-challtestsrv` as its DNS server answering 127.0.0.1 for every name,
//! so the server validates a test name's HTTP-01 challenge against Hundi on this machine.
//! Pebble's own HTTPS uses a CA made here (`ca.pem`); the certificates it issues chain to a
//! root it makes at start, read from its management port.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct AcmeServer {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    acme_port: u16,
    management_port: u16,
}

impl AcmeServer {
    /// Pebble, validating HTTP-01 challenges on `http_port` of whatever a name resolves to.
    pub fn start(http_port: u16) -> AcmeServer {
        for tool in ["pebble", "pebble-challtestsrv"] {
            assert!(
                Command::new("which")
                    .arg(tool)
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false),
                "{tool} is missing: scripts/test.sh installs Debian's pebble"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        write_listener_certificate(dir.path());
        let dns_port = super::free_port();
        let mut server = AcmeServer {
            dir,
            children: Vec::new(),
            acme_port: super::free_port(),
            management_port: super::free_port(),
        };
        let dns = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns_port}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", super::free_port())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv starts");
        server.children.push(dns);
        let config = server.dir.path().join("pebble.json");
        std::fs::write(&config, server.config_text(http_port)).expect("config");
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config)
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            // No random waits before validating, no nonces refused at random, and every order
            // validated again (a renewal really answers a challenge).
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble starts");
        server.children.push(pebble);
        server.wait_listening();
        server
    }

    fn config_text(&self, http_port: u16) -> String {
        let dir = self.dir.path();
        serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{}", self.acme_port),
            "managementListenAddress": format!("127.0.0.1:{}", self.management_port),
            "certificate": dir.join("cert.pem"),
            "privateKey": dir.join("key.pem"),
            "httpPort": http_port,
            "tlsPort": super::free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }})
        .to_string()
    }

    fn wait_listening(&self) {
        for _ in 0..200 {
            let up = [self.acme_port, self.management_port]
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pebble did not start listening");
    }

    pub fn directory_url(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.acme_port)
    }

    /// The CA of pebble's own HTTPS (for the ACME client to trust).
    pub fn listener_ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The root the certificates pebble issues chain to (PEM).
    pub async fn issuing_root(&self) -> String {
        let ca = std::fs::read(self.listener_ca()).expect("ca");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("ca pem"))
            .build()
            .expect("client");
        client
            .get(format!(
                "https://127.0.0.1:{}/roots/0",
                self.management_port
            ))
            .send()
            .await
            .expect("pebble's management port answers")
            .text()
            .await
            .expect("root")
    }
}

/// A CA and a leaf for 127.0.0.1 signed by it, for pebble's listener.
fn write_listener_certificate(dir: &std::path::Path) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("params")
        .signed_by(&key, &Issuer::new(ca, ca_key))
        .expect("leaf");
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("ca");
    std::fs::write(dir.join("cert.pem"), leaf.pem()).expect("cert");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("key");
}

impl Drop for AcmeServer {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
