//! `mgmtctl generate`: shell completions and man pages, generated from the command-line
//! definition itself (clap), so they always match `--help`.
//!
//! Install them (as root) with:
//!
//! ```sh
//! mgmtctl generate completions bash > /usr/share/bash-completion/completions/mgmtctl
//! mgmtctl generate completions zsh  > /usr/share/zsh/vendor-completions/_mgmtctl
//! mgmtctl generate completions fish > /usr/share/fish/vendor_completions.d/mgmtctl.fish
//! mgmtctl generate man --dir /usr/share/man/man1
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::CliError;

// Arguments of `mgmtctl generate`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Print the completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages: mgmtctl.1 and one mgmtctl-COMMAND.1 per command.
    Man {
        /// Directory to write them to (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Runs the subcommand for the CLI definition `cmd`.
pub fn run(args: Args, mut cmd: clap::Command) -> Result<ExitCode, CliError> {
    match args.what {
        What::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut cmd, "mgmtctl", &mut out);
            out.flush()?;
        }
        What::Man { dir } => {
            std::fs::create_dir_all(&dir)?;
            cmd.build();
            let mut written = Vec::new();
            let mut page = |name: String, c: clap::Command| -> Result<(), CliError> {
                let path = dir.join(format!("{name}.1"));
                let mut bytes = Vec::new();
                clap_mangen::Man::new(c.display_name(name.clone())).render(&mut bytes)?;
                std::fs::write(&path, bytes)?;
                written.push(path);
                Ok(())
            };
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                page(format!("mgmtctl-{}", sub.get_name()), sub.clone())?;
            }
            page("mgmtctl".to_string(), cmd.clone())?;
            for p in written {
                println!("{}", p.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
