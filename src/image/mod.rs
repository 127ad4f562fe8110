//! Knowing images: what an image's reference means once Compose has
//! interpolated it, and what the image itself says about the user it runs
//! as, the paths it writes and the privileges its entrypoint needs, read
//! without running it from the local engine's store or from its registry.

pub mod facts;
pub mod interpolate;
pub mod layers;
pub mod reference;

use std::path::PathBuf;

/// How image facts are looked up in this run (command line and harden.toml).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// `--env-file`s, in order; empty: the project's `.env`.
    pub env_files: Vec<PathBuf>,
}

impl Settings {
    /// What the command line adds to harden.toml's settings.
    pub fn apply_cli(settings: &mut Settings, common: &crate::cli::Common) {
        settings.env_files.clone_from(&common.env_files);
    }
}
