//! Running the built binary as a person would: in a directory, with no
//! config from the environment and no DNS (TEST-NET sources, no network).

use std::path::Path;
use std::process::{Command, Output};

pub fn dmarcwatch(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmarcwatch"))
        .current_dir(dir)
        .env_remove("DMARCWATCH_CONFIG")
        .env("DMARCWATCH_OFFLINE", "1")
        .args(args)
        .output()
        .expect("run dmarcwatch")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
