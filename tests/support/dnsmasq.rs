//! A real DNS server for the tests: dnsmasq (Debian `dnsmasq-base`, which
//! scripts/test.sh installs) in the foreground on 127.0.0.1 and a free high
//! port, answering only from the records the test gives (`local=/zone/`
//! makes every other name in a zone NXDOMAIN; nothing goes upstream).
//! `restart` serves other records on the same port; `stop` takes it away.
//! Every query is logged, so a test can count what reached the server.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dnsmasq {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn binary() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
        let p = PathBuf::from(dir).join("dnsmasq");
        if p.exists() {
            return p;
        }
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v dnsmasq"])
        .output()
    {
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !path.is_empty() {
            return PathBuf::from(path);
        }
    }
    panic!("dnsmasq is not installed: run scripts/test.sh (it installs Debian's dnsmasq-base)");
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(tcp) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port on 127.0.0.1");
}

impl Dnsmasq {
    /// Start serving `records` (dnsmasq config lines).
    pub fn start(records: &str) -> Dnsmasq {
        let mut last_error = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            // dnsmasq started as root drops to `nobody`, who must write the log.
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .expect("chmod temp dir");
            let mut server = Dnsmasq {
                dir,
                port: free_port(),
                child: None,
            };
            match server.launch(records) {
                Ok(()) => return server,
                // The port was taken between probe and bind: try another.
                Err(e) => last_error = e,
            }
        }
        panic!("dnsmasq did not start on any of 5 free ports: {last_error}");
    }

    /// `127.0.0.1:PORT`, for `[dns] nameservers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Serve other records on the same port (a zone that changed).
    pub fn restart(&mut self, records: &str) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = self.launch(records) {
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not start again on port {}: {e}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Take the server away: queries now go unanswered (port closed).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// How many queries reached the server since it was first started.
    pub fn queries(&self) -> usize {
        self.log().lines().filter(|l| l.contains(" query[")).count()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dnsmasq.log")).unwrap_or_default()
    }

    /// Write the config and start; the error is what dnsmasq said.
    fn launch(&mut self, records: &str) -> Result<(), String> {
        let dir = self.dir.path();
        let conf = dir.join("dnsmasq.conf");
        let text = format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             no-poll\npid-file={pid}\nlog-facility={log}\nlog-queries\n{records}\n",
            port = self.port,
            pid = dir.join("dnsmasq.pid").display(),
            log = dir.join("dnsmasq.log").display(),
        );
        std::fs::write(&conf, text).expect("write dnsmasq.conf");
        let mut child = Command::new(binary())
            .arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", conf.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
            .spawn()
            .expect("start dnsmasq");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
                return Err(format!("dnsmasq exited ({status}): {}", said.trim()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dnsmasq not ready on port {} after 10 s: {}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        self.stop();
    }
}
