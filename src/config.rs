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
    #[serde(default)]
    pub dns: DnsConfig,
    #[serde(default, rename = "service")]
    pub services: Vec<ServiceConfig>,
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

/// True for `localhost` and loopback IP literals: the only hosts `tls = "none"` may use.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl MailboxConfig {
    /// `port`, else 993 for implicit TLS and 143 otherwise.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Implicit => 993,
            TlsMode::Starttls | TlsMode::None => 143,
        })
    }

    fn validate(&self) -> Result<(), String> {
        let at = format!("[[mailbox]] {:?}", self.name);
        if self.name.trim().is_empty() {
            return Err("[[mailbox]] name is empty: give each mailbox a short name".into());
        }
        if self.host.trim().is_empty() {
            return Err(format!("{at}: host is empty"));
        }
        if self.tls == TlsMode::None && !is_loopback_host(&self.host) {
            return Err(format!(
                "{at}: tls = \"none\" sends the password in clear text and is only allowed \
                 for localhost / 127.0.0.1 / ::1, not {:?}; use tls = \"implicit\" or \"starttls\"",
                self.host
            ));
        }
        match (&self.password_file, &self.password_env) {
            (None, None) => {
                return Err(format!("{at}: set password_file (or password_env)"));
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{at}: set only one of password_file and password_env"
                ));
            }
            _ => {}
        }
        let folders = [
            ("folder", &self.folder),
            ("processed_folder", &self.processed_folder),
            ("invalid_folder", &self.invalid_folder),
        ];
        for (key, name) in folders {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                return Err(format!(
                    "{at}: {key} {name:?}: use a non-empty folder name of printable ASCII characters"
                ));
            }
        }
        if self.folder == self.processed_folder || self.folder == self.invalid_folder {
            return Err(format!(
                "{at}: processed_folder and invalid_folder must differ from folder {:?}",
                self.folder
            ));
        }
        parse_cron(&self.poll_schedule).map_err(|e| format!("{at}: poll_schedule: {e}"))?;
        Ok(())
    }
}

/// A 6-field cron expression (`sec min hour day-of-month month day-of-week`).
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    let fields = text.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "{text:?} has {fields} fields; write 6: second minute hour day-of-month month \
             day-of-week, e.g. \"0 */15 * * * *\""
        ));
    }
    text.parse::<cron::Schedule>()
        .map_err(|e| format!("{text:?} is not a valid cron expression: {e}"))
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
    /// Queries in flight at once, all zones together.
    #[serde(default = "default_blocklist_concurrency")]
    pub concurrency: usize,
    /// Queries per second sent to one zone.
    #[serde(default = "default_rate_per_zone")]
    pub rate_per_zone: u32,
}

impl Default for BlocklistConfig {
    fn default() -> Self {
        BlocklistConfig {
            schedule: default_blocklist_schedule(),
            zones: default_zones(),
            nameservers: Vec::new(),
            ips: Vec::new(),
            from_reports: true,
            concurrency: default_blocklist_concurrency(),
            rate_per_zone: default_rate_per_zone(),
        }
    }
}

impl BlocklistConfig {
    fn validate(&self) -> Result<(), String> {
        for zone in &self.zones {
            let z = zone.trim_matches('.');
            if z.is_empty() || z.contains(char::is_whitespace) || !z.contains('.') {
                return Err(format!(
                    "[blocklist] zones: {zone:?} is not a DNS zone like zen.spamhaus.org"
                ));
            }
        }
        for ns in &self.nameservers {
            parse_nameserver(ns).map_err(|e| format!("[blocklist] nameservers: {e}"))?;
        }
        for ip in &self.ips {
            check_monitored_range(ip).map_err(|e| format!("[blocklist] ips: {e}"))?;
        }
        if self.concurrency == 0 || self.rate_per_zone == 0 {
            return Err("[blocklist] concurrency and rate_per_zone must be at least 1".into());
        }
        Ok(())
    }
}

/// Most addresses one `[blocklist] ips` entry may cover (a /16 of IPv4).
pub const MAX_MONITORED_RANGE: u128 = 65536;

/// An address or CIDR range small enough to check address by address.
fn check_monitored_range(text: &str) -> Result<(), String> {
    let t = text.trim();
    if t.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let net: ipnet::IpNet = t
        .parse()
        .map_err(|_| format!("{text:?} is not an IP address or a CIDR range (198.51.100.0/28)"))?;
    let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
    if host_bits >= 128 || 1u128 << host_bits > MAX_MONITORED_RANGE {
        return Err(format!(
            "{text:?} covers more than {MAX_MONITORED_RANGE} addresses; list the sending ranges themselves"
        ));
    }
    Ok(())
}

/// `host:port`, `[v6]:port` or a bare address (port 53) → a socket address.
pub fn parse_nameserver(text: &str) -> Result<std::net::SocketAddr, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<std::net::SocketAddr>() {
        return Ok(addr);
    }
    t.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:53 or [::1]:53"))
}

fn default_blocklist_concurrency() -> usize {
    16
}
fn default_rate_per_zone() -> u32 {
    20
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
        /// Channel name in `v_alerts` and logs (default: the type).
        name: Option<String>,
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
        name: Option<String>,
        url: Option<String>,
        url_file: Option<PathBuf>,
        secret_file: Option<PathBuf>,
        #[serde(default = "default_min_severity")]
        min_severity: Severity,
    },
    Slack {
        name: Option<String>,
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

/// `[dns]`: the resolver for reverse names (PTR) of report sources, and for
/// blocklists when `[blocklist] nameservers` is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Look up the reverse names of report sources after each ingest.
    pub reverse: bool,
    /// `host:port` name servers; else the system resolver (/etc/resolv.conf).
    pub nameservers: Vec<String>,
    /// Wait for one answer this long ("2s").
    pub timeout: String,
    /// Tries per query (the first included) before it counts as failed.
    pub attempts: usize,
    /// Lookups in flight at once.
    pub concurrency: usize,
    /// How long a reverse name is trusted before it is looked up again.
    pub cache_ttl: String,
    /// How long "no name" (NXDOMAIN, unconfirmed) is trusted.
    pub negative_ttl: String,
    /// After a failed lookup (timeout, no server), wait this long to retry.
    pub retry_after: String,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            reverse: true,
            nameservers: Vec::new(),
            timeout: "2s".into(),
            attempts: 2,
            concurrency: 32,
            cache_ttl: "7d".into(),
            negative_ttl: "1d".into(),
            retry_after: "1h".into(),
        }
    }
}

impl DnsConfig {
    fn validate(&self) -> Result<(), String> {
        for ns in &self.nameservers {
            parse_nameserver(ns).map_err(|e| format!("[dns] nameservers: {e}"))?;
        }
        for (key, value) in [
            ("timeout", &self.timeout),
            ("cache_ttl", &self.cache_ttl),
            ("negative_ttl", &self.negative_ttl),
            ("retry_after", &self.retry_after),
        ] {
            parse_duration(value).map_err(|e| format!("[dns] {key}: {e}"))?;
        }
        if self.attempts == 0 || self.concurrency == 0 {
            return Err("[dns] attempts and concurrency must be at least 1".into());
        }
        Ok(())
    }

    /// A validated duration key in seconds.
    pub fn secs(value: &str) -> i64 {
        parse_duration(value).unwrap_or(3600)
    }
}

/// `[[service]]`: a sending service known by the suffix of its reverse
/// names, added to (and taking precedence over) the built-in list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    pub name: String,
    pub ptr_suffixes: Vec<String>,
}

impl ServiceConfig {
    fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("[[service]] name is empty".into());
        }
        if self
            .ptr_suffixes
            .iter()
            .any(|s| s.trim_matches('.').is_empty())
        {
            return Err(format!(
                "[[service]] {}: ptr_suffixes has an empty entry",
                self.name
            ));
        }
        Ok(())
    }
}

/// `[digest]`: the periodic summary sent to every channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    #[serde(default = "default_digest_schedule")]
    pub schedule: String,
    /// The period each digest covers, compared with the one before it.
    #[serde(default = "default_digest_period")]
    pub period: String,
}

fn default_digest_schedule() -> String {
    "0 0 8 * * Mon".into()
}
fn default_digest_period() -> String {
    "7d".into()
}

impl DigestConfig {
    /// The period in seconds (validated at load).
    pub fn period_secs(&self) -> i64 {
        parse_duration(&self.period).unwrap_or(7 * 86400)
    }
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
    /// The same alert (same source, same problem) is not raised again for
    /// this long unless its severity rises.
    pub cooldown: String,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            failure_warn: 0.02,
            failure_critical: 0.10,
            min_messages: 20,
            window: "7d".to_string(),
            silence_after: "3d".to_string(),
            cooldown: "7d".to_string(),
        }
    }
}

impl DetectConfig {
    /// The window in seconds (validated at load).
    pub fn window_secs(&self) -> i64 {
        parse_duration(&self.window).unwrap_or(7 * 86400)
    }

    /// `silence_after` in seconds (validated at load).
    pub fn silence_secs(&self) -> i64 {
        parse_duration(&self.silence_after).unwrap_or(3 * 86400)
    }

    /// `cooldown` in seconds (validated at load).
    pub fn cooldown_secs(&self) -> i64 {
        parse_duration(&self.cooldown).unwrap_or(7 * 86400)
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
        parse_duration(&d.cooldown).map_err(|e| format!("[detect] cooldown: {e}"))?;
        crate::alert::channel::check_all(&self.alerts)?;
        if let Some(g) = &self.digest {
            parse_cron(&g.schedule).map_err(|e| format!("[digest] schedule: {e}"))?;
            parse_duration(&g.period).map_err(|e| format!("[digest] period: {e}"))?;
        }
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
        self.dns.validate()?;
        self.services.iter().try_for_each(ServiceConfig::validate)?;
        if let Some(b) = &self.blocklist {
            b.validate()?;
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.mailboxes {
            m.validate()?;
            if !names.insert(m.name.as_str()) {
                return Err(format!(
                    "[[mailbox]] name {:?} is used twice; names must be unique",
                    m.name
                ));
            }
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

    #[test]
    fn mailbox_problems_are_named() {
        let base = "[[mailbox]]\nname = \"r\"\nhost = \"127.0.0.1\"\nusername = \"u\"\n";
        let ok = format!("{base}password_env = \"PW\"\ntls = \"none\"\n");
        assert_eq!(parse(&ok).expect("valid").mailboxes[0].port(), 143);
        let cases = [
            (
                "tls = \"starttls\"\n",
                "set password_file (or password_env)",
            ),
            (
                "password_env = \"P\"\npassword_file = \"/p\"\n",
                "only one of",
            ),
            (
                "password_env = \"P\"\nprocessed_folder = \"INBOX\"\n",
                "must differ",
            ),
            (
                "password_env = \"P\"\npoll_schedule = \"*/5 * * * *\"\n",
                "has 5 fields",
            ),
            (
                "password_env = \"P\"\nfolder = \"Boîte\"\n",
                "printable ASCII",
            ),
        ];
        for (extra, expected) in cases {
            let err = parse(&format!("{base}{extra}")).expect_err(extra);
            assert!(err.contains(expected), "{extra}: {err}");
        }
        let remote = "[[mailbox]]\nname = \"r\"\nhost = \"imap.example.com\"\nusername = \"u\"\n\
                      password_env = \"P\"\ntls = \"none\"\n";
        let err = parse(remote).expect_err("clear text to a remote host");
        assert!(err.contains("[[mailbox]] \"r\": tls = \"none\""), "{err}");
        let twice = format!("{ok}{ok}");
        assert!(parse(&twice).expect_err("twice").contains("used twice"));
        assert!(is_loopback_host("::1") && is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST") && !is_loopback_host("10.0.0.1"));
    }
}
