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
    fn bad_policy_is_named() {
        let err = parse("[[domain]]\nname = \"example.com\"\nexpected_policy = \"block\"\n")
            .expect_err("bad policy");
        assert!(
            err.contains("example.com") && err.contains("block"),
            "{err}"
        );
    }
}
