//! The command line, as DESIGN.md specifies it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "harden",
    version,
    about = "Harden containers by rewriting the Dockerfiles and Compose files that define them",
    long_about = "harden applies a hardening baseline (non-root user, read-only root filesystem, \
write carve-outs, no capabilities, no-new-privileges) to Dockerfiles and Compose files, \
editing only the bytes that must change.\n\nExit status: 0 nothing to change / no findings, \
1 changes pending (fix --dry-run) or findings (check), 2 an error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite files to the baseline (or show the change with --dry-run).
    Fix(FixArgs),
    /// Report every finding; exit 1 when there is any.
    Check(CheckArgs),
    /// Explain what a rule finds, why it matters and how it is fixed.
    Explain(ExplainArgs),
    /// Print a shell completion script (e.g. `harden completions bash > /etc/bash_completion.d/harden`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `harden man > harden.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Files or directories (walked, respecting .gitignore). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print only the diff or the findings, no notes or summary.
    #[arg(long, short)]
    pub quiet: bool,

    /// Use this configuration file instead of the nearest harden.toml
    /// (looked for in the working directory and its parents).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Refuse files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::limits::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    #[command(flatten)]
    pub common: Common,

    /// Print the change as a unified diff (standard output) and the notes
    /// (standard error); write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule name, e.g. writable-rootfs.
    pub rule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
}

/// The completion script for `shell`, generated from these definitions so
/// it never lags behind the options.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "harden", &mut out);
    out
}

/// The man page, in roff, generated from these definitions: the main page
/// (which lists the subcommands), then a section per subcommand with its
/// synopsis and options.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("harden {}", sub.get_name());
        out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(name);
        let man = clap_mangen::Man::new(sub);
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        man.render_options_section(&mut out)?;
    }
    Ok(out)
}
