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

    /// Refuse YAML nested deeper than this (aliases expanded).
    #[arg(long, value_name = "LEVELS", default_value_t = crate::limits::DEFAULT_MAX_YAML_DEPTH)]
    pub max_yaml_depth: usize,

    /// Refuse YAML whose data, aliases expanded, has more nodes than this.
    #[arg(long, value_name = "NODES", default_value_t = crate::limits::DEFAULT_MAX_YAML_NODES)]
    pub max_yaml_nodes: usize,
}

impl Common {
    /// The YAML bounds the options ask for.
    pub fn yaml_limits(&self) -> crate::compose::tree::Limits {
        crate::compose::tree::Limits {
            max_depth: self.max_yaml_depth,
            max_nodes: self.max_yaml_nodes,
        }
    }
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
