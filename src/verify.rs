//! `rokka verify [--repair]`: checks a stopped data directory with
//! [`rokka_store::verify::verify`] and prints what it found.
//!
//! Exit codes: 0 when nothing is damaged (after repairing, with `--repair`);
//! 1 when damage is found (or remains after repairing); 2 when the check
//! cannot run (the directory is in use by a running rokka, unreadable).

use std::io::Write;
use std::process::ExitCode;

use rokka_store::{StoreConfig, StoreError};

/// Runs the check and prints the report on stdout.
pub fn run(config: &StoreConfig, repair: bool) -> ExitCode {
    match rokka_store::verify::verify(config, repair) {
        Ok(report) => {
            // The report is the command's output, for the operator or a script.
            let _ = writeln!(std::io::stdout().lock(), "{report}");
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(StoreError::Locked { path }) => {
            eprintln!(
                "rokka verify: {} is locked: stop the broker using this data directory first",
                path.display()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("rokka verify: {e}");
            ExitCode::from(2)
        }
    }
}
