//! A real SMTP server for the alert tests: aiosmtpd (`smtp_server.py`
//! beside this file; scripts/test.sh installs the package) on a free
//! 127.0.0.1 port, in plain, STARTTLS (required) or implicit-TLS mode with
//! a leaf certificate signed by a throw-away CA, optionally with AUTH.
//! Every accepted message lands as one file in a Maildir `new/`. `stop`
//! takes the server away (connections refused), `start_again` brings it
//! back on the same port; dropped, it is stopped.

use super::dovecot::{make_certs, wait_until};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SERVER: &str = include_str!("smtp_server.py");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Starttls,
    Implicit,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Starttls => "starttls",
            Mode::Implicit => "implicit",
        }
    }

    /// The `tls` value of an `[[alert]]` section for this mode.
    pub fn toml(self) -> &'static str {
        match self {
            Mode::Plain => "none",
            Mode::Starttls => "starttls",
            Mode::Implicit => "implicit",
        }
    }
}

pub struct Smtp {
    dir: tempfile::TempDir,
    pub port: u16,
    pub mode: Mode,
    auth: Option<(String, String)>,
    child: Option<Child>,
}

impl Smtp {
    pub fn start(mode: Mode) -> Smtp {
        Smtp::start_with_auth(mode, None)
    }

    /// With `auth`, only that user and password may send.
    pub fn start_with_auth(mode: Mode, auth: Option<(&str, &str)>) -> Smtp {
        let dir = tempfile::Builder::new()
            .prefix("dmarcwatch-smtp.")
            .tempdir()
            .expect("temp dir");
        std::fs::write(dir.path().join("smtp_server.py"), SERVER).expect("write server");
        if mode != Mode::Plain {
            make_certs(dir.path());
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let port = listener.local_addr().expect("port").port();
        drop(listener);
        let mut smtp = Smtp {
            dir,
            port,
            mode,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            child: None,
        };
        smtp.launch();
        smtp
    }

    /// The CA certificate that signed the server's leaf (for `ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    fn launch(&mut self) {
        let d = self.dir.path();
        let mut cmd = Command::new("python3");
        cmd.arg(d.join("smtp_server.py"))
            .arg(self.port.to_string())
            .arg(self.maildir())
            .arg(self.mode.arg());
        if self.mode != Mode::Plain {
            cmd.arg(d.join("cert.pem")).arg(d.join("key.pem"));
        }
        if let Some((user, password)) = &self.auth {
            cmd.arg(user).arg(password);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("server.log")).expect("log file"),
            ))
            .spawn()
            .expect("run python3 (scripts/test.sh installs python3 and aiosmtpd)");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(
            line.trim(),
            "ready",
            "aiosmtpd did not start (is it installed? pip install aiosmtpd): {}",
            self.log()
        );
        self.child = Some(child);
        assert!(
            wait_until(Duration::from_secs(10), || TcpStream::connect((
                "127.0.0.1",
                self.port
            ))
            .is_ok()),
            "SMTP server not accepting on port {}",
            self.port
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Stop it: the port refuses connections until [`Smtp::start_again`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            if !wait_until(Duration::from_secs(10), || {
                child.try_wait().ok().flatten().is_some()
            }) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    pub fn start_again(&mut self) {
        self.launch();
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir().join("new");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&new)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| {
                        let t = e
                            .metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (t, e.path())
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files.into_iter().map(|(_, p)| read(&p)).collect()
    }

    /// Poll until `n` messages arrived (or 10 s passed); returns them.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        wait_until(Duration::from_secs(10), || self.messages().len() >= n);
        self.messages()
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .expect("read message");
    text
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}
