//! Throw-away servers for the end-to-end tests, started on 127.0.0.1 high
//! ports in a temp directory and stopped when dropped. Each test file uses
//! the ones it needs (`mod support;`), hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod aggregate;
pub mod cli;
pub mod dnsmasq;
pub mod dovecot;
pub mod report_mail;
pub mod scenario;
pub mod smtp;
pub mod workdir;
