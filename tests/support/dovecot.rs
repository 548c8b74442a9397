//! A real Dovecot for the IMAP tests: started in a temp directory on two
//! free 127.0.0.1 ports (plain/STARTTLS and implicit TLS) with a leaf
//! certificate signed by a throw-away CA (openssl CLI), stopped on drop. As
//! root it runs as `nobody` (Dovecot's login processes refuse root). Any
//! user name logs in with the password [`PASSWORD`]. [`MailClient`] is a
//! small blocking IMAP client for putting messages in and counting them.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "secret";
pub const USER: &str = "dmarc";
const TEMPLATE: &str = include_str!("dovecot.conf.in");

/// How the server presents itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Replaces the capabilities announced after login (`imap_capability`),
    /// e.g. to hide MOVE or IDLE from the client.
    pub capabilities: Option<String>,
}

pub struct Dovecot {
    dir: tempfile::TempDir,
    pub plain_port: u16,
    pub tls_port: u16,
    child: Option<Child>,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("dmarcwatch-dovecot.")
            .tempdir()
            .expect("temp dir");
        let (user, group) = run_as();
        make_certs(dir.path());
        let extra = options
            .capabilities
            .map(|c| format!("imap_capability = {c}"))
            .unwrap_or_default();
        let (plain_port, tls_port) = (free_port(), free_port());
        let conf = TEMPLATE
            .replace("@DIR@", &dir.path().display().to_string())
            .replace("@USER@", &user)
            .replace("@GROUP@", &group)
            .replace("@PLAIN_PORT@", &plain_port.to_string())
            .replace("@TLS_PORT@", &tls_port.to_string())
            .replace("@EXTRA@", &extra);
        std::fs::write(dir.path().join("dovecot.conf"), conf).expect("write dovecot.conf");
        for sub in ["mail", "home", "run", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        if is_root() {
            let owner = format!("{user}:{group}");
            let status = Command::new("chown")
                .args(["-R", &owner])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown {owner} failed");
            let status = Command::new("chmod")
                .arg("755")
                .arg(dir.path())
                .status()
                .expect("chmod");
            assert!(status.success());
        }
        let mut dovecot = Dovecot {
            dir,
            plain_port,
            tls_port,
            child: None,
        };
        dovecot.launch();
        dovecot
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA that signed the server's certificate (for `ca_file`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn launch(&mut self) {
        let conf = self.dir.path().join("dovecot.conf");
        let log = std::fs::File::create(self.dir.path().join("dovecot.out")).expect("log file");
        let mut cmd = if is_root() {
            let (user, group) = run_as();
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={user}"),
                &format!("--regid={group}"),
                "--clear-groups",
                "dovecot",
            ]);
            c
        } else {
            Command::new("dovecot")
        };
        // Its own process group, so that stop() ends the sessions too (the
        // imap processes outlive a master that merely gets SIGTERM).
        cmd.arg("-F").arg("-c").arg(&conf).process_group(0);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start dovecot (Debian: apt-get install dovecot-imapd; scripts/test.sh does)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if greets(self.plain_port) && TcpStream::connect(("127.0.0.1", self.tls_port)).is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dovecot exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("dovecot did not answer within 20 s:\n{}", self.log());
    }

    /// Stop the server and every session, as a restart of the host would.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                // The listeners close with the master; wait until they have.
                while Instant::now() < deadline
                    && TcpStream::connect(("127.0.0.1", self.plain_port)).is_ok()
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = child.wait();
    }

    /// Start again after [`stop`](Self::stop), on the same ports and mail.
    pub fn start_again(&mut self) {
        self.launch();
    }

    /// Dovecot's own log, for failure messages.
    pub fn log(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("dovecot.out"), read("dovecot.log"))
    }

    /// A `[[mailbox]]` section for this server (`tls` = implicit, starttls
    /// or none), reading the password from `password_file`.
    pub fn mailbox_toml(&self, name: &str, tls: &str, password_file: &Path) -> String {
        let port = if tls == "implicit" {
            self.tls_port
        } else {
            self.plain_port
        };
        let host = if tls == "none" {
            "127.0.0.1"
        } else {
            "localhost"
        };
        format!(
            "[[mailbox]]\nname = \"{name}\"\nhost = \"{host}\"\nport = {port}\ntls = \"{tls}\"\n\
             ca_file = \"{}\"\nusername = \"{USER}\"\npassword_file = \"{}\"\n\
             folder = \"INBOX\"\nprocessed_folder = \"DMARC/Processed\"\n\
             invalid_folder = \"DMARC/Invalid\"\n",
            self.ca_file().display(),
            password_file.display()
        )
    }

    pub fn client(&self) -> MailClient {
        MailClient::connect(self.plain_port)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A blocking IMAP client for test set-up and checks (plain LOGIN on loopback).
pub struct MailClient {
    runtime: tokio::runtime::Runtime,
    session: async_imap::Session<tokio::net::TcpStream>,
}

impl MailClient {
    pub fn connect(port: u16) -> MailClient {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let session = runtime.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect to dovecot");
            let mut client = async_imap::Client::new(tcp);
            client
                .read_response()
                .await
                .expect("greeting")
                .expect("greeting");
            client
                .login(USER, PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .expect("login")
        });
        MailClient { runtime, session }
    }

    pub fn append(&mut self, folder: &str, message: &[u8]) {
        let session = &mut self.session;
        self.runtime
            .block_on(session.append(folder, None, None, message))
            .expect("APPEND");
    }

    pub fn create(&mut self, folder: &str) {
        let session = &mut self.session;
        self.runtime
            .block_on(session.create(folder))
            .expect("CREATE");
    }

    pub fn delete(&mut self, folder: &str) {
        let session = &mut self.session;
        self.runtime
            .block_on(session.delete(folder))
            .expect("DELETE");
    }

    /// Messages in `folder`; 0 when it does not exist.
    pub fn count(&mut self, folder: &str) -> u32 {
        let session = &mut self.session;
        self.runtime
            .block_on(session.status(folder, "(MESSAGES)"))
            .map(|m| m.exists)
            .unwrap_or(0)
    }

    /// The UIDVALIDITY of `folder`.
    pub fn uid_validity(&mut self, folder: &str) -> u32 {
        let session = &mut self.session;
        self.runtime
            .block_on(session.status(folder, "(UIDVALIDITY)"))
            .expect("STATUS")
            .uid_validity
            .expect("UIDVALIDITY")
    }

    /// Every message of `folder`, whole.
    pub fn bodies(&mut self, folder: &str) -> Vec<Vec<u8>> {
        use futures::TryStreamExt;
        let session = &mut self.session;
        self.runtime.block_on(async {
            let selected = session.examine(folder).await.expect("EXAMINE");
            if selected.exists == 0 {
                return Vec::new();
            }
            let fetches: Vec<_> = session
                .fetch("1:*", "BODY.PEEK[]")
                .await
                .expect("FETCH")
                .try_collect()
                .await
                .expect("FETCH");
            fetches
                .iter()
                .filter_map(|f| f.body().map(<[u8]>::to_vec))
                .collect()
        })
    }
}

/// Poll `check` until it is true or `limit` passes; returns whether it became true.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    tcp.read_exact(&mut buf).is_ok() && &buf == b"* OK"
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The user and group the server runs as.
fn run_as() -> (String, String) {
    if is_root() {
        let group = if Command::new("getent")
            .args(["group", "nogroup"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            "nogroup"
        } else {
            "nobody"
        };
        return ("nobody".into(), group.into());
    }
    let id = |flag: &str| {
        let out = Command::new("id").arg(flag).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    (id("-un"), id("-gn"))
}

/// A throw-away CA (`ca.pem`) and a leaf for localhost/127.0.0.1 signed by
/// it (`cert.pem`, `key.pem`), as rustls wants them (the leaf is no CA).
pub fn make_certs(dir: &Path) {
    make_ca(dir, "ca");
    openssl(
        dir,
        &format!("req {NEW_KEY} -keyout key.pem -out leaf.csr -subj /CN=localhost"),
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write leaf.ext");
    openssl(
        dir,
        "x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -out cert.pem -extfile leaf.ext",
    );
}

/// A self-signed CA certificate `NAME.pem` with its key `NAME.key`.
pub fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &format!(
            "req -x509 {NEW_KEY} -keyout {name}.key -out {name}.pem -days 2 \
             -subj /CN=dmarcwatch-test-{name} -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign"
        ),
    );
}

/// A new P-256 key, unencrypted.
const NEW_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

/// Run openssl with `args` (split at spaces) in `dir`.
fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("run openssl (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
