//! The command line: parse arguments, load the config, call the library.

use clap::{Parser, Subcommand};
use dmarcwatch::{commands, config};
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
    let config = config::load(config_path.as_deref())?;
    let limits = config.limits.extract_limits();
    match cli.command {
        Command::Parse { paths } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            let failed = commands::parse::run(&paths, cli.json, &limits, &mut out)?;
            Ok(exit_code(failed))
        }
    }
}

fn exit_code(failed: usize) -> ExitCode {
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
