//! `mgmtctl decode`: every MGMT frame of one or more captures, one line each or JSON.

use std::process::ExitCode;

use crate::CliError;

/// Arguments of `mgmtctl decode`.
#[derive(clap::Args)]
pub struct Args {
    /// btsnoop files to decode.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// One JSON object per frame.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(_args: Args) -> Result<ExitCode, CliError> {
    Err("decode: not written yet".into())
}
