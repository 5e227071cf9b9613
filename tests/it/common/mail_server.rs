//! A real IMAP server for the mailbox tests: Debian's Dovecot, started on 127.0.0.1 in a
//! directory of its own (its configuration, a self-signed certificate, one Maildir user),
//! with an IMAPS port and a STARTTLS port. Mail is delivered the way a mail server would,
//! into the Maildir, which works while Dovecot is down too.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const USER: &str = "shop";
pub const PASSWORD: &str = "mail secret";

pub struct MailServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// IMAPS (TLS from the first byte).
    pub tls_port: u16,
    /// Plain IMAP offering STARTTLS.
    pub starttls_port: u16,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl MailServer {
    pub fn start() -> MailServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(root.join(sub)).expect("dir");
        }
        run(Command::new("chown")
            .args(["mail:mail"])
            .arg(root.join("mail")));
        // rustls takes a leaf certificate for 127.0.0.1, not a CA.
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            ])
            .args(["-subj", "/CN=localhost", "-addext"])
            .args(["subjectAltName=DNS:localhost,IP:127.0.0.1", "-addext"])
            .args(["basicConstraints=critical,CA:FALSE", "-keyout"])
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem")));
        std::fs::write(root.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).expect("users");
        let server = MailServer {
            tls_port: super::free_port(),
            starttls_port: super::free_port(),
            dir,
            child: None,
        };
        std::fs::write(server.conf(), server.config_text()).expect("config");
        let mut server = server;
        server.launch();
        server
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// The certificate a client must trust (`HUNDI_MAIL_CA_FILE`).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn config_text(&self) -> String {
        let root = self.dir.path().display();
        let name = root.to_string().replace('/', "_");
        format!(
            "instance_name = hundi{name}\n\
             base_dir = {root}/run\nstate_dir = {root}/state\n\
             log_path = {root}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n\
             ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem\n\
             disable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             auth_failure_delay = 0\n\
             first_valid_uid = 8\nmail_uid = mail\nmail_gid = mail\n\
             mail_location = maildir:{root}/mail/%n/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = {root}/users\n}}\n\
             userdb {{\n  driver = static\n  args = home={root}/mail/%n\n}}\n\
             service imap-login {{\n\
               inet_listener imap {{\n    port = {}\n  }}\n\
               inet_listener imaps {{\n    port = {}\n    ssl = yes\n  }}\n\
             }}\n",
            self.starttls_port, self.tls_port
        )
    }

    fn launch(&mut self) {
        use std::os::unix::process::CommandExt;
        let child = Command::new("dovecot")
            .process_group(0)
            .arg("-c")
            .arg(self.conf())
            .arg("-F")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("dovecot.err")).expect("file"))
            .spawn()
            .expect("dovecot starts (apt-get install dovecot-imapd)");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", self.starttls_port)).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let status = self.child.as_mut().map(|c| c.try_wait());
        panic!("dovecot did not listen ({status:?}): {}", self.log());
    }

    /// Dovecot's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Kills the server at once (connections drop without a goodbye).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The master and every process it started (logins, imap sessions, anvil) are one
            // process group: all die at once, as in a crash. Lock files stay behind.
            if let Ok(group) = i32::try_from(child.id()) {
                // SAFETY: kill(2) with a negative pid signals a process group; no memory.
                unsafe { libc::kill(-group, libc::SIGKILL) };
            }
            let _ = child.wait();
        }
        for stale in ["state/instances.lock", "run/master.pid"] {
            let _ = std::fs::remove_file(self.dir.path().join(stale));
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Delivers a message into the user's INBOX as a mail server does (written into the
    /// Maildir's `tmp`, then renamed into `new`), so it works while Dovecot is down too.
    pub fn deliver(&self, message: &str) {
        let maildir = self.dir.path().join("mail").join(USER).join("Maildir");
        for sub in ["tmp", "new", "cur"] {
            if !maildir.join(sub).exists() {
                std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
                run(Command::new("chown")
                    .args(["-R", "mail:mail"])
                    .arg(self.dir.path().join("mail")));
            }
        }
        let name = format!(
            "{}.M{}.hundi-test",
            chrono::Utc::now().timestamp(),
            uuid::Uuid::new_v4().simple()
        );
        let tmp = maildir.join("tmp").join(&name);
        std::fs::write(&tmp, message.replace('\n', "\r\n")).expect("message written");
        std::fs::rename(&tmp, maildir.join("new").join(&name)).expect("message delivered");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A bank's alert e-mail as it arrives: headers, then the text.
pub fn alert_mail(from: &str, subject: &str, text: &str) -> String {
    format!(
        "From: {from}\nTo: shop@example.com\nSubject: {subject}\n\
         Date: {}\nMessage-ID: <{}@bank.example>\n\
         Content-Type: text/plain; charset=utf-8\n\n{text}\n",
        chrono::Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4()
    )
}
