//! The command line, as DESIGN.md specifies it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "harden",
    // The knowledge date is the newest `checked` of the built-in image
    // profiles (set by build.rs): how current the compiled-in knowledge is.
    version = concat!(
        env!("CARGO_PKG_VERSION"),
        " (knowledge ",
        env!("HARDEN_KNOWLEDGE_DATE"),
        ")"
    ),
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
    /// Print a shell completion script (e.g. `harden completions bash > /etc/bash_completion.d/harden`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `harden man > harden.1`.
    Man,
    /// Manage the cache of image facts (under XDG_CACHE_HOME or ~/.cache).
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// Remove every cached image fact and tag resolution.
    Clear,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Files or directories (walked, respecting .gitignore). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// A compose file of one project; repeat it to name the project's files
    /// in the order `docker compose -f` merges them. Each service is
    /// hardened in the first file that defines it, and what later files
    /// set for it is taken into account. Without PATHs, only these files
    /// are read.
    #[arg(long = "file", short = 'f', value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print only the diff or the findings, no notes or summary.
    #[arg(long, short)]
    pub quiet: bool,

    /// Give every note in full (the notes after a diff, and the markdown
    /// report), instead of one short line per change with the explanations
    /// many services share said once.
    #[arg(long, short)]
    pub verbose: bool,

    /// Use this configuration file instead of the nearest harden.toml
    /// (looked for in the folder of the PATHs and its parents, up to the
    /// repository's root).
    #[arg(long, value_name = "PATH", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,

    /// Use no harden.toml at all: the built-in baseline.
    #[arg(long)]
    pub isolated: bool,

    /// Run only these rules (comma-separated or repeated), as ruff's and
    /// hadolint's `--select`: every other rule is off for this run.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Turn these rules off for this run (comma-separated or repeated);
    /// added to harden.toml's `skip`.
    #[arg(long, value_name = "RULE", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Refuse files larger than this many bytes (at most 4294967295).
    #[arg(long, value_name = "BYTES", default_value_t = crate::limits::DEFAULT_MAX_FILE_SIZE,
          value_parser = clap::value_parser!(u64).range(..=u64::from(u32::MAX)))]
    pub max_file_size: u64,

    /// Refuse YAML nested deeper than this (aliases expanded).
    #[arg(long, value_name = "LEVELS", default_value_t = crate::limits::DEFAULT_MAX_YAML_DEPTH)]
    pub max_yaml_depth: usize,

    /// Refuse YAML whose data, aliases expanded, has more nodes than this.
    #[arg(long, value_name = "NODES", default_value_t = crate::limits::DEFAULT_MAX_YAML_NODES)]
    pub max_yaml_nodes: usize,

    /// Interpolate compose files with this env file instead of the
    /// project's `.env`, like `docker compose --env-file` (repeatable).
    #[arg(long = "env-file", value_name = "PATH")]
    pub env_files: Vec<PathBuf>,

    /// Ask no registry about images (the local engine's store and the
    /// cache are still read).
    #[arg(long, env = "HARDEN_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,

    /// Speak plain HTTP to this registry (`host:port`), e.g. a local test
    /// registry (repeatable; also `insecure-registries` in harden.toml).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// The platform to read from a multi-platform image (default linux/amd64).
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,

    /// Where images are read from: the engine's store, then the registry
    /// (auto), or only one of them.
    #[arg(long, value_enum, env = "HARDEN_IMAGE_SOURCE", default_value_t = crate::image::ImageSource::Auto)]
    pub image_source: crate::image::ImageSource,
}

impl Common {
    /// What the command line adds to harden.toml's image look-up settings.
    pub fn apply_image_settings(&self, settings: &mut crate::image::Settings) {
        settings.env_files.clone_from(&self.env_files);
        settings.offline |= self.offline;
        for h in &self.insecure_registries {
            if !settings.insecure_registries.contains(h) {
                settings.insecure_registries.push(h.clone());
            }
        }
        if let Some(p) = &self.platform {
            settings.platform = Some(p.clone());
        }
        settings.source = self.image_source;
    }

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

    /// Output format of the dry run: a unified diff, or a markdown document
    /// (pull request body with the diff, notes and migration steps).
    #[arg(long, value_enum, default_value_t = FixFormat::Diff, requires = "dry_run")]
    pub format: FixFormat,

    /// Also insert a root canary (a warning on stderr when the program runs
    /// as uid 0) into the entry module each Dockerfile runs, for Python,
    /// Node.js, Go, Ruby, Java and shell scripts. Same as `canary = true`
    /// in harden.toml.
    #[arg(long)]
    pub canary: bool,

    /// Also print, on standard error before the notes, the project as
    /// harden understood it: which compose files combine and how, the
    /// stages each Dockerfile runs and for which services, the images
    /// built here and who runs them, the files treated as tests or CI.
    #[arg(long)]
    pub explain_project: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// The least severity that makes `check` exit 1: findings harden fixes
    /// by itself and problems a person must act on are errors; advice is a
    /// warning.
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = FailOn::Error)]
    pub fail_on: FailOn,

    /// Exit 0 whatever was found (a report-only run); errors reading or
    /// parsing files still exit 2. Same as `--fail-on never`.
    #[arg(long, conflicts_with = "fail_on")]
    pub exit_zero: bool,

    /// Print the project as harden understood it instead of the findings:
    /// which compose files combine and how (override, include, extends,
    /// `-f` chains in the project's scripts, variants), the stages each
    /// Dockerfile runs and for which services, the images built here and
    /// who runs them, the files treated as tests or CI. Text, or JSON with
    /// `--format json` (docs/json-schema/project-v1.json).
    #[arg(long)]
    pub explain_project: bool,
}

impl CheckArgs {
    /// The threshold in force, `--exit-zero` included.
    pub fn fail_on(&self) -> FailOn {
        if self.exit_zero {
            FailOn::Never
        } else {
            self.fail_on
        }
    }
}

pub use crate::finding::FailOn;

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
