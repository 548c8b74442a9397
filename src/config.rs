//! The TOML config file → typed values with defaults. Every key is optional;
//! without a file the program runs on the built-in defaults (SQLite in the
//! current directory). Unknown keys are errors that name the key and line.

use crate::extract::ExtractLimits;
use crate::unpack::Limits;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DEFAULT_DB: &str = "dmarcwatch.db";
pub const LOCAL_CONFIG: &str = "dmarcwatch.toml";
pub const CONFIG_ENV: &str = "DMARCWATCH_CONFIG";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: Database,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default, rename = "domain")]
    pub domains: Vec<DomainConfig>,
    #[serde(default)]
    pub detect: DetectConfig,
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
    #[serde(default)]
    pub blocklist: Option<BlocklistConfig>,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<AlertConfig>,
    #[serde(default)]
    pub digest: Option<DigestConfig>,
}

/// `tls` of a mailbox or SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No TLS: refused unless the host is a loopback address.
    None,
}

/// `[[mailbox]]`: an IMAP folder that receives reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    pub name: String,
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// Extra trust anchor (PEM), besides the system trust store.
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    #[serde(default = "default_folder")]
    pub folder: String,
    #[serde(default = "default_processed_folder")]
    pub processed_folder: String,
    #[serde(default = "default_invalid_folder")]
    pub invalid_folder: String,
    #[serde(default = "default_watch")]
    pub watch: WatchMode,
    #[serde(default = "default_poll_schedule")]
    pub poll_schedule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchMode {
    Idle,
    Poll,
}

fn default_tls() -> TlsMode {
    TlsMode::Implicit
}
fn default_folder() -> String {
    "INBOX".into()
}
fn default_processed_folder() -> String {
    "DMARC/Processed".into()
}
fn default_invalid_folder() -> String {
    "DMARC/Invalid".into()
}
fn default_watch() -> WatchMode {
    WatchMode::Idle
}
fn default_poll_schedule() -> String {
    "0 */15 * * * *".into()
}

/// `[blocklist]`: DNS blocklist checks of our sending addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlocklistConfig {
    #[serde(default = "default_blocklist_schedule")]
    pub schedule: String,
    #[serde(default = "default_zones")]
    pub zones: Vec<String>,
    /// `host:port` name servers; else the system resolver.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Addresses and CIDR ranges to watch.
    #[serde(default)]
    pub ips: Vec<String>,
    /// Also watch our own sources that pass DMARC.
    #[serde(default = "yes")]
    pub from_reports: bool,
}

fn default_blocklist_schedule() -> String {
    "0 0 */6 * * *".into()
}
fn default_zones() -> Vec<String> {
    vec![
        "zen.spamhaus.org".into(),
        "b.barracudacentral.org".into(),
        "bl.spamcop.net".into(),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// `[[alert]]`: one delivery channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum AlertConfig {
    Email {
        smtp_host: String,
        smtp_port: Option<u16>,
        #[serde(default = "default_smtp_tls")]
        tls: TlsMode,
        ca_file: Option<PathBuf>,
        username: Option<String>,
        password_file: Option<PathBuf>,
        password_env: Option<String>,
        from: String,
        to: Vec<String>,
        #[serde(default = "default_min_severity")]
        min_severity: Severity,
    },
    Webhook {
        url: Option<String>,
        url_file: Option<PathBuf>,
        secret_file: Option<PathBuf>,
        #[serde(default = "default_min_severity")]
        min_severity: Severity,
    },
    Slack {
        url: Option<String>,
        url_file: Option<PathBuf>,
        #[serde(default = "default_min_severity")]
        min_severity: Severity,
    },
}

fn default_smtp_tls() -> TlsMode {
    TlsMode::Starttls
}
fn default_min_severity() -> Severity {
    Severity::Warning
}

/// `[digest]`: the periodic summary sent to every channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    #[serde(default = "default_digest_schedule")]
    pub schedule: String,
}

fn default_digest_schedule() -> String {
    "0 0 8 * * Mon".into()
}

/// `[detect]`: thresholds for calling a source failing, over a window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// DMARC fail share of a source's messages that is worth a warning.
    pub failure_warn: f64,
    /// Fail share that is critical.
    pub failure_critical: f64,
    /// Sources with fewer messages in the window are not judged.
    pub min_messages: u64,
    /// The period looked at, e.g. "7d".
    pub window: String,
    /// A reporter that reported on a domain and then goes quiet this long.
    pub silence_after: String,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            failure_warn: 0.02,
            failure_critical: 0.10,
            min_messages: 20,
            window: "7d".to_string(),
            silence_after: "3d".to_string(),
        }
    }
}

impl DetectConfig {
    /// The window in seconds (validated at load).
    pub fn window_secs(&self) -> i64 {
        parse_duration(&self.window).unwrap_or(7 * 86400)
    }
}

/// `30m`, `12h`, `7d`, `2w` → seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30m, 12h, 7d or 2w"))?;
    let unit_secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration like 30m, 12h, 7d or 2w"
            ))
        }
    };
    n.checked_mul(unit_secs)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{text:?} is out of range"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    #[serde(default = "default_db_path")]
    pub path: PathBuf,
    /// Keep each input's raw bytes (compressed) so `reprocess` can retry.
    #[serde(default = "yes")]
    pub keep_raw: bool,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            path: default_db_path(),
            keep_raw: true,
        }
    }
}

/// `[limits]`: bounds against decompression bombs and huge messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_compressed_bytes: u64,
    pub max_xml_bytes: u64,
    pub max_zip_members: usize,
    pub max_nesting: u32,
    pub max_message_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let unpack = Limits::default();
        LimitsConfig {
            max_compressed_bytes: unpack.max_compressed_bytes,
            max_xml_bytes: unpack.max_xml_bytes,
            max_zip_members: unpack.max_zip_members,
            max_nesting: unpack.max_depth,
            max_message_bytes: ExtractLimits::default().max_message_bytes,
        }
    }
}

impl LimitsConfig {
    pub fn extract_limits(&self) -> ExtractLimits {
        ExtractLimits {
            unpack: Limits {
                max_compressed_bytes: self.max_compressed_bytes,
                max_xml_bytes: self.max_xml_bytes,
                max_zip_members: self.max_zip_members,
                max_depth: self.max_nesting,
            },
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// `[[domain]]`: one of our domains and what we expect of it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    pub name: String,
    pub expected_policy: Option<String>,
    #[serde(default)]
    pub approved_sources: Vec<String>,
}

fn default_db_path() -> PathBuf {
    PathBuf::from(DEFAULT_DB)
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Which file to read: `--config`, else `$DMARCWATCH_CONFIG`, else
/// `./dmarcwatch.toml` when present, else none (built-in defaults).
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let local = PathBuf::from(LOCAL_CONFIG);
    local.exists().then_some(local)
}

pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })
}

/// Parse and check a config text; the error names the key and line.
pub fn parse(text: &str) -> Result<Config, String> {
    let config: Config = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
    config.validate()?;
    Ok(config)
}

impl Config {
    fn validate(&self) -> Result<(), String> {
        let d = &self.detect;
        parse_duration(&d.window).map_err(|e| format!("[detect] window: {e}"))?;
        parse_duration(&d.silence_after).map_err(|e| format!("[detect] silence_after: {e}"))?;
        if !(0.0..=1.0).contains(&d.failure_warn) || !(0.0..=1.0).contains(&d.failure_critical) {
            return Err(
                "[detect] failure_warn and failure_critical are shares between 0 and 1 (0.02 = 2%)"
                    .into(),
            );
        }
        if d.failure_critical < d.failure_warn {
            return Err("[detect] failure_critical must not be below failure_warn".into());
        }
        let l = &self.limits;
        if l.max_compressed_bytes == 0 || l.max_xml_bytes == 0 || l.max_message_bytes == 0 {
            return Err("[limits]: sizes must be greater than 0".into());
        }
        for d in &self.domains {
            if d.name.trim().is_empty() {
                return Err("[[domain]] name is empty".into());
            }
            if let Some(p) = &d.expected_policy {
                if !["none", "quarantine", "reject"].contains(&p.as_str()) {
                    return Err(format!(
                        "[[domain]] {}: expected_policy {p:?} is not none, quarantine or reject",
                        d.name
                    ));
                }
            }
        }
        Ok(())
    }
}

/// toml's messages span lines with a source excerpt; keep them readable on one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| "|^ ".contains(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_defaults() {
        let c = parse("").expect("empty is valid");
        assert_eq!(c.database.path, PathBuf::from("dmarcwatch.db"));
        assert!(c.database.keep_raw);
        assert_eq!(c.limits.max_zip_members, 1000);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[database]\npaht = \"x.db\"\n").expect_err("typo");
        assert!(err.contains("paht"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn example_config_is_valid() {
        let c = parse(include_str!("../config.toml.example")).expect("example parses");
        assert_eq!(c.domains.len(), 1);
        assert_eq!(c.domains[0].approved_sources.len(), 3);
        assert_eq!(c.detect.window_secs(), 7 * 86400);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Ok(7 * 86400));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("0d").is_err());
        let err = parse("[detect]\nwindow = \"week\"\n").expect_err("bad window");
        assert!(err.contains("[detect] window"), "{err}");
    }

    #[test]
    fn bad_policy_is_named() {
        let err = parse("[[domain]]\nname = \"example.com\"\nexpected_policy = \"block\"\n")
            .expect_err("bad policy");
        assert!(
            err.contains("example.com") && err.contains("block"),
            "{err}"
        );
    }
}
