//! The command line: parse arguments, load the config, call the library.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use dmarcwatch::commands::{self, export::ExportFormat, Context};
use dmarcwatch::config;
use dmarcwatch::store::queries::SenderFilter;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dmarcwatch",
    version,
    about = "DMARC aggregate reports: read, store, alert"
)]
struct Cli {
    /// Config file (else $DMARCWATCH_CONFIG, else ./dmarcwatch.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// SQLite database (overrides [database] path; default ./dmarcwatch.db).
    #[arg(long, global = true, value_name = "FILE")]
    db: Option<PathBuf>,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Machine-readable output (JSON lines).
    #[arg(long, global = true)]
    json: bool,
    /// No DNS lookups: reverse names wait for a later run; `blocklist` refuses.
    #[arg(long, global = true, env = "DMARCWATCH_OFFLINE",
          value_parser = clap::builder::BoolishValueParser::new())]
    offline: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse reports and print them; store nothing.
    Parse {
        /// Files, directories, mbox files, or - for standard input.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Store the reports in files, directories, mbox files or - (stdin).
    Ingest {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// One pass over every configured mailbox: store the reports, move the messages.
    Fetch,
    /// The daemon: mailboxes (IDLE or schedule) and the scheduled jobs; systemd Type=notify.
    Run,
    /// Validate the config, log in to each mailbox and list the folders it uses.
    CheckConfig,
    /// Per domain: volume, DMARC pass rate, alignment, top failing sources.
    Summary {
        #[arg(long)]
        domain: Option<String>,
        /// Only reports from this long ago on, e.g. 7d, 24h.
        #[arg(long)]
        since: Option<String>,
    },
    /// Per domain and source: messages, failures, names, first/last seen.
    Senders {
        #[arg(long)]
        domain: Option<String>,
        /// Totals from this long ago on (default: [detect] window).
        #[arg(long)]
        since: Option<String>,
        /// Only sources over [detect] failure_warn with min_messages.
        #[arg(long)]
        failing: bool,
        /// Only sources first seen within the period and not approved.
        #[arg(long)]
        new: bool,
    },
    /// Mark an IP, CIDR or service:NAME as a legitimate sender of a domain.
    Approve {
        source: String,
        #[arg(long)]
        domain: Option<String>,
    },
    /// Every record, one row each, as CSV or JSON lines.
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        since: Option<String>,
    },
    /// Parse again the kept inputs that failed (after an upgrade).
    Reprocess,
    /// Check the monitored addresses against the DNS blocklists now; show the listings.
    Blocklist,
    /// Alerts: list them, test the channels, deliver what is due.
    Alerts {
        #[command(subcommand)]
        action: commands::alerts::AlertsCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dmarcwatch: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config_path = config::locate(cli.config.as_deref());
    init_logging(cli.verbose, cli.quiet);
    if matches!(cli.command, Command::CheckConfig) {
        // Before loading: a config that does not load is one of its answers.
        let problems =
            commands::check_config::run(config_path.as_deref(), &mut std::io::stdout().lock())?;
        return Ok(exit_code(problems > 0));
    }
    let mut config = config::load(config_path.as_deref())?;
    if cli.offline {
        // No reverse-DNS lookups anywhere (ingest, fetch, run).
        config.dns.reverse = false;
    }
    let limits = config.limits.extract_limits();
    let db_path = cli
        .db
        .clone()
        .unwrap_or_else(|| config.database.path.clone());
    let ctx = Context {
        config,
        db_path,
        json: cli.json,
        quiet: cli.quiet,
    };
    let offline = cli.offline;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let code = match cli.command {
        Command::Parse { paths } => {
            let failed = commands::parse::run(&paths, ctx.json, &limits, &mut out)?;
            exit_code(failed > 0)
        }
        Command::Ingest { paths } => {
            let mut store = ctx.open_store()?;
            let stats = commands::ingest::run(&mut store, &paths, &limits, ctx.quiet)?;
            print_stats(&ctx, "ingest", &stats, &mut out)?;
            if !offline {
                commands::blocklist::names_after_ingest(&mut store, &ctx.config, ctx.quiet);
            }
            if stats.new_reports > 0 || stats.errors > 0 {
                // Nothing new stored: nothing new to find (the daemon's
                // hourly detection notices silences).
                commands::alerts::after_ingest(&ctx, &store)?;
            }
            exit_code(stats.errors > 0)
        }
        Command::Reprocess => {
            let mut store = ctx.open_store()?;
            let stats = commands::ingest::reprocess(&mut store, &limits)?;
            print_stats(&ctx, "reprocess", &stats, &mut out)?;
            if !offline {
                commands::blocklist::names_after_ingest(&mut store, &ctx.config, ctx.quiet);
            }
            if stats.new_reports > 0 || stats.errors > 0 {
                // Nothing new stored: nothing new to find (the daemon's
                // hourly detection notices silences).
                commands::alerts::after_ingest(&ctx, &store)?;
            }
            exit_code(stats.errors > 0)
        }
        Command::Blocklist => {
            if offline {
                anyhow::bail!("blocklist checks need DNS: drop --offline (or DMARCWATCH_OFFLINE)");
            }
            let mut store = ctx.open_store()?;
            let listed =
                commands::blocklist::run(&mut store, &ctx.config, ctx.json, ctx.quiet, &mut out)?;
            exit_code(listed > 0)
        }
        Command::Alerts { action } => {
            let ok = commands::alerts::run(&ctx, &action, &mut out)?;
            exit_code(!ok)
        }
        Command::Fetch => {
            let ok = commands::fetch::run(&ctx, &mut out)?;
            exit_code(!ok)
        }
        Command::Run => {
            commands::run::run(config_path, cli.db, ctx.config)?;
            ExitCode::SUCCESS
        }
        Command::CheckConfig => ExitCode::SUCCESS, // answered before the config is loaded
        Command::Summary { domain, since } => {
            let store = ctx.open_store()?;
            let since = since_epoch(since.as_deref())?;
            commands::summary::run(&store, domain.as_deref(), since, ctx.json, &mut out)?;
            ExitCode::SUCCESS
        }
        Command::Senders {
            domain,
            since,
            failing,
            new,
        } => {
            let store = ctx.open_store()?;
            let detect = &ctx.config.detect;
            let since = match since_epoch(since.as_deref())? {
                Some(s) => s,
                None => dmarcwatch::store::now() - detect.window_secs(),
            };
            let filter = SenderFilter {
                domain: domain.map(|d| d.to_ascii_lowercase()),
                since: Some(since),
                failing: failing.then_some((detect.failure_warn, detect.min_messages)),
                new_only: new,
                limit: None,
            };
            commands::senders::run(&store, &filter, ctx.json, &mut out)?;
            ExitCode::SUCCESS
        }
        Command::Approve { source, domain } => {
            let store = ctx.open_store()?;
            let domain = commands::senders::approve(&store, &source, domain.as_deref())?;
            writeln!(out, "approved {source} for {domain}")?;
            ExitCode::SUCCESS
        }
        Command::Export {
            format,
            domain,
            since,
        } => {
            let store = ctx.open_store()?;
            let since = since_epoch(since.as_deref())?;
            commands::export::run(&store, format, domain.as_deref(), since, &mut out)?;
            ExitCode::SUCCESS
        }
    };
    out.flush()?;
    Ok(code)
}

/// Log lines on stderr: `dmarcwatch` at info (`-v` debug, `-vv` trace, `-q`
/// warnings only), other crates at warn; `RUST_LOG` overrides. Under
/// systemd (`$JOURNAL_STREAM`) without time stamps: journald adds its own.
fn init_logging(verbose: u8, quiet: bool) {
    use std::io::IsTerminal;
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // The verifier logs each bad certificate; the mailbox error says it better.
        let quiet = "rustls_platform_verifier=off";
        tracing_subscriber::EnvFilter::new(format!("warn,{quiet},dmarcwatch={level}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let result = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("dmarcwatch: logging not set up: {e}");
    }
}

fn since_epoch(since: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(text) = since else { return Ok(None) };
    let secs = config::parse_duration(text)
        .map_err(anyhow::Error::msg)
        .context("--since")?;
    Ok(Some(dmarcwatch::store::now() - secs))
}

fn print_stats(
    ctx: &Context,
    what: &str,
    stats: &dmarcwatch::store::IngestStats,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if ctx.json {
        let line = serde_json::json!({
            "files": stats.files, "reports_new": stats.new_reports,
            "duplicates": stats.duplicates, "errors": stats.errors, "records": stats.records,
        });
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{what}: {stats}")
    }
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
