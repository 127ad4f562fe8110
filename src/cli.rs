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
    /// Run a hardened compose project in real containers and prove it still works.
    Verify(crate::verify::VerifyArgs),
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

    /// Output format of the dry run: a unified diff, or a markdown document
    /// (pull request body with the diff, notes and migration steps).
    #[arg(long, value_enum, default_value_t = FixFormat::Diff, requires = "dry_run")]
    pub format: FixFormat,
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

    /// For root-canary-missing: print the ready snippet for this language.
    #[arg(long, value_enum, value_name = "LANG")]
    pub lang: Option<crate::rules::root_canary_missing::Lang>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Code frames like a compiler, and a one-line summary.
    Text,
    /// A versioned document (docs/json-schema/check-v1.json).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands that annotate the lines.
    Github,
    /// A pull request body: findings, why each change, review, migration.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    /// A git-style unified diff on standard output, notes on standard error.
    Diff,
    /// One markdown document on standard output, the diff included.
    Markdown,
}
