//! The gateways' own client examples (tests/clients/), run by the language they are written
//! in: one-shot scripts, and webhook receivers that keep running and print what they accept.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn path(script: &str) -> String {
    format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter for a script: `.php` php-cli, `.js` node, `.sh` bash, `.py` python3.
pub fn interpreter(script: &str) -> &'static str {
    match script.rsplit('.').next() {
        Some("php") => "php",
        Some("js") => "node",
        Some("sh") => "bash",
        _ => "python3",
    }
}

/// Runs a script to its end with these environment variables; returns what it printed.
pub fn run(script: &str, env: &[(&str, &str)]) -> String {
    let interpreter = interpreter(script);
    let out = Command::new(interpreter)
        .arg(path(script))
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{interpreter} (the test script installs it): {e}"));
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A receiver script (an Express app, a PHP built-in server…) that prints one line per
/// webhook it accepted.
pub struct ClientServer {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub url: String,
}

impl ClientServer {
    /// Starts `script`, which prints `listening <port>` first.
    pub fn start(script: &str, env: &[(&str, &str)]) -> ClientServer {
        let interpreter = interpreter(script);
        let mut child = Command::new(interpreter)
            .arg(path(script))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{interpreter} (the test script installs it): {e}"));
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let first = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{script} did not start"));
        let port = first
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{script} printed {first}"));
        ClientServer {
            child,
            lines,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Serves a PHP script with PHP's built-in server on `port`; the script prints one line per webhook
    /// it accepted to `php://stdout`.
    pub fn start_php_on(port: u16, script: &str, env: &[(&str, &str)]) -> ClientServer {
        let mut child = Command::new("php")
            .args(["-S", &format!("127.0.0.1:{port}"), &path(script)])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("php (the test script installs it): {e}"));
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "php -S did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        ClientServer {
            child,
            lines,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The next line the receiver printed, waiting up to `secs`.
    pub fn next_line(&self, secs: u64) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(secs)).ok()
    }

    /// The next line as JSON.
    pub fn next_json(&self, secs: u64) -> serde_json::Value {
        let line = self
            .next_line(secs)
            .expect("the receiver accepted a webhook in time");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
    }
}

/// A child's output, line by line, as it comes.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

impl Drop for ClientServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
