//! The DNS client behind reverse names and blocklists: one hickory resolver
//! built from the config (name servers, timeout, attempts), with answers
//! reduced to what the callers need: the records found, "none" (NXDOMAIN or
//! no record of that type), or a [`DnsFailure`] that says what went wrong.
//! Names are always queried fully qualified: no search list, no hosts file.

use crate::config::{parse_nameserver, DnsConfig};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{system_conf, Resolver, TokioResolver};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Why a query got no usable answer. Never a "not found": that is `Ok`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsFailure {
    #[error("no answer in time")]
    Timeout,
    #[error("the server refused the query")]
    Refused,
    #[error("the server failed (SERVFAIL)")]
    ServFail,
    #[error("no server reachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Other(String),
}

impl DnsFailure {
    /// Nothing came back at all: the resolver is down or unreachable.
    pub fn is_silence(&self) -> bool {
        matches!(self, DnsFailure::Timeout | DnsFailure::Unreachable(_))
    }
}

/// Resolver settings, from `[dns]` (and `[blocklist] nameservers`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Empty: the system resolver (/etc/resolv.conf).
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
    /// Tries per query, the first one included.
    pub attempts: usize,
    /// Lookups the caller keeps in flight at once.
    pub concurrency: usize,
}

impl Settings {
    /// `[dns]`, with `nameservers` replacing its servers when not empty.
    pub fn from_config(dns: &DnsConfig, nameservers: &[String]) -> Result<Settings, String> {
        let (servers, key) = if nameservers.is_empty() {
            (dns.nameservers.as_slice(), "[dns] nameservers")
        } else {
            (nameservers, "[blocklist] nameservers")
        };
        let nameservers = servers
            .iter()
            .map(|s| parse_nameserver(s).map_err(|e| format!("{key}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Settings {
            nameservers,
            timeout: Duration::from_secs(DnsConfig::secs(&dns.timeout).max(1) as u64),
            attempts: dns.attempts.max(1),
            concurrency: dns.concurrency.max(1),
        })
    }
}

pub struct Dns {
    resolver: TokioResolver,
    /// Where the queries go, for messages: `127.0.0.1:5353, [::1]:53`.
    servers: String,
}

impl Dns {
    pub fn new(settings: &Settings) -> Result<Dns, String> {
        let (config, mut opts) = if settings.nameservers.is_empty() {
            system_conf::read_system_conf().map_err(|e| {
                format!("cannot read the system resolver config (/etc/resolv.conf): {e}; set [dns] nameservers")
            })?
        } else {
            let configs = settings
                .nameservers
                .iter()
                .map(|addr| {
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    for connection in &mut ns.connections {
                        connection.port = addr.port();
                    }
                    ns
                })
                .collect();
            (
                ResolverConfig::from_name_servers(configs),
                ResolverOpts::default(),
            )
        };
        let servers = describe(&config);
        opts.timeout = settings.timeout;
        // hickory counts retries after the first try.
        opts.attempts = settings.attempts.saturating_sub(1);
        opts.ndots = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.max_active_requests = opts.max_active_requests.max(settings.concurrency * 2);
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| format!("cannot set up the DNS resolver ({servers}): {e}"))?;
        Ok(Dns { resolver, servers })
    }

    /// Where the queries go, for messages.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// The PTR names of `ip` (lower case, no trailing dot); empty when none.
    pub async fn ptr_names(&self, ip: IpAddr) -> Result<Vec<String>, DnsFailure> {
        let records = self.records(Name::from(ip), RecordType::PTR).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r {
                RData::PTR(ptr) => Some(plain_name(&ptr.0)),
                _ => None,
            })
            .collect())
    }

    /// The addresses of `name` in the family of `like` (A for IPv4, AAAA for IPv6).
    pub async fn addresses(&self, name: &str, like: IpAddr) -> Result<Vec<IpAddr>, DnsFailure> {
        let kind = if like.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        let records = self.records(fqdn(name)?, kind).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }

    /// The IPv4 addresses of `name`; `None` when it does not exist.
    pub async fn ipv4(&self, name: &str) -> Result<Option<Vec<Ipv4Addr>>, DnsFailure> {
        let records = self.records(fqdn(name)?, RecordType::A).await?;
        let addrs: Vec<Ipv4Addr> = records
            .into_iter()
            .filter_map(|r| match r {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect();
        Ok((!addrs.is_empty()).then_some(addrs))
    }

    /// The TXT strings of `name`, each record's parts joined.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, DnsFailure> {
        let records = self.records(fqdn(name)?, RecordType::TXT).await?;
        Ok(records
            .into_iter()
            .filter_map(|r| match r {
                RData::TXT(txt) => Some(txt.to_string()),
                _ => None,
            })
            .collect())
    }

    /// The answers of one type; empty for NXDOMAIN and NODATA.
    async fn records(&self, name: Name, kind: RecordType) -> Result<Vec<RData>, DnsFailure> {
        match self.resolver.lookup(name, kind).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == kind)
                .map(|r| r.data.clone())
                .collect()),
            Err(e) => match classify(&e) {
                None => Ok(Vec::new()),
                Some(failure) => Err(failure),
            },
        }
    }
}

/// `127.0.0.1:5353, [::1]:53`: the servers and the port of their first connection.
fn describe(config: &ResolverConfig) -> String {
    let servers: Vec<String> = config
        .name_servers()
        .iter()
        .map(|ns| {
            let port = ns.connections.first().map_or(53, |c| c.port);
            SocketAddr::new(ns.ip, port).to_string()
        })
        .collect();
    if servers.is_empty() {
        "no name server (/etc/resolv.conf lists none)".to_string()
    } else {
        servers.join(", ")
    }
}

/// `None` for "no such name / no such record"; otherwise the failure.
fn classify(e: &NetError) -> Option<DnsFailure> {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(_)) => None,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => Some(DnsFailure::Refused),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => Some(DnsFailure::ServFail),
        NetError::Timeout => Some(DnsFailure::Timeout),
        NetError::Io(io) => Some(DnsFailure::Unreachable(io.to_string())),
        NetError::NoConnections => Some(DnsFailure::Unreachable("no connections".into())),
        other => Some(DnsFailure::Other(other.to_string())),
    }
}

fn fqdn(name: &str) -> Result<Name, DnsFailure> {
    let mut n = Name::from_ascii(name)
        .map_err(|e| DnsFailure::Other(format!("{name:?} is not a DNS name: {e}")))?;
    n.set_fqdn(true);
    Ok(n)
}

/// `Mail.Example.COM.` → `mail.example.com`.
fn plain_name(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}
