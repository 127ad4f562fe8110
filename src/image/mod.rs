//! Knowing images: what an image's reference means once Compose has
//! interpolated it, and what the image itself says about the user it runs
//! as, the paths it writes and the privileges its entrypoint needs, read
//! without running it from the local engine's store or from its registry.

pub mod advice;
pub mod cache;
pub mod engine;
pub mod entrypoint;
pub mod facts;
pub mod interpolate;
pub mod layers;
pub mod reference;
pub mod registry;

use facts::ImageFacts;
pub(crate) use layers::hex;
use reference::Reference;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Where image facts may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ImageSource {
    /// The engine's store, then the registry.
    #[default]
    Auto,
    /// The local engine's store only.
    Engine,
    /// The registry only.
    Registry,
}

/// The platform looked for in a multi-platform image by default.
pub const DEFAULT_PLATFORM: &str = "linux/amd64";
/// The most distinct images looked up in one run.
pub const MAX_IMAGES_PER_RUN: usize = 200;
/// How long one registry request may wait for a connection or an answer.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// How image facts are looked up in this run (command line and harden.toml).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// `--env-file`s, in order; empty: the project's `.env`.
    pub env_files: Vec<PathBuf>,
    /// No registry is asked.
    pub offline: bool,
    /// Registries spoken to over plain HTTP (`host:port`).
    pub insecure_registries: Vec<String>,
    /// `os/arch[/variant]`; `None`: [`DEFAULT_PLATFORM`].
    pub platform: Option<String>,
    pub source: ImageSource,
    /// `podman` or `docker`; `None`: whichever is on PATH.
    pub engine: Option<String>,
}

/// Why an image's facts could not be learnt: one reason per source tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub reference: String,
    pub reasons: Vec<String>,
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reasons.join("; "))
    }
}

pub type Lookup = Result<Arc<ImageFacts>, Unknown>;

/// The facts of `reference`, once per run and settings however many
/// services and files name it; concurrent callers wait for the first.
pub fn lookup(reference: &str, settings: &Settings) -> Lookup {
    type Memo = Mutex<HashMap<(String, String), Arc<OnceLock<Lookup>>>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let key = (reference.to_string(), format!("{settings:?}"));
    let cell = {
        let mut m = MEMO
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !m.contains_key(&key) && m.len() >= MAX_IMAGES_PER_RUN {
            return Err(Unknown {
                reference: reference.to_string(),
                reasons: vec![format!(
                    "not looked up: the run names more than {MAX_IMAGES_PER_RUN} images"
                )],
            });
        }
        m.entry(key).or_default().clone()
    };
    cell.get_or_init(|| lookup_uncached(reference, settings))
        .clone()
}

fn unreachable_hosts() -> &'static Mutex<HashMap<String, String>> {
    static HOSTS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    HOSTS.get_or_init(Default::default)
}

/// Why a registry already failed to answer in this run: it is not asked
/// again for the next image (a tree naming many images of one
/// unreachable registry would wait out a timeout for each).
fn unreachable(registry: &str) -> Option<String> {
    unreachable_hosts()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(registry)
        .cloned()
}

fn mark_unreachable(registry: &str, why: &str) {
    unreachable_hosts()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(registry.to_string(), why.to_string());
}

/// Look `reference` up in each source in turn, without the run's memo
/// (the on-disk cache is used).
pub fn lookup_uncached(reference: &str, settings: &Settings) -> Lookup {
    let unknown = |reasons: Vec<String>| Unknown {
        reference: reference.to_string(),
        reasons,
    };
    let Some(r) = Reference::parse(reference) else {
        return Err(unknown(vec![format!(
            "`{reference}` is not an image reference"
        )]));
    };
    let limits = layers::Limits::default();
    let mut reasons = Vec::new();
    if settings.source != ImageSource::Registry {
        match engine::find(settings.engine.as_deref()) {
            // A tag the store does not list is not asked about (a digest is).
            Some(e)
                if r.digest.is_none()
                    && engine::tags(&e).is_some_and(|t| !t.contains(&r.canonical())) =>
            {
                reasons.push(format!("not in the {e} image store"));
            }
            Some(e) => match from_engine(&e, reference, &limits) {
                Ok(Some(f)) => return Ok(Arc::new(f)),
                Ok(None) => reasons.push(format!("not in the {e} image store")),
                Err(m) => reasons.push(format!("the {e} image store: {m}")),
            },
            None => reasons.push("no container engine (podman, docker) on PATH".into()),
        }
    }
    if settings.source != ImageSource::Engine {
        if settings.offline {
            reasons.push("--offline: no registry was asked".into());
        } else if let Some(why) = unreachable(&r.registry) {
            reasons.push(why);
        } else {
            match from_registry(&r, settings, &limits) {
                Ok(f) => return Ok(Arc::new(f)),
                Err(m) => {
                    if m.0.contains("did not answer") {
                        mark_unreachable(&r.registry, &m.0);
                    }
                    reasons.push(m.0);
                }
            }
        }
    }
    Err(unknown(reasons))
}

fn from_engine(
    engine: &str,
    reference: &str,
    limits: &layers::Limits,
) -> std::io::Result<Option<ImageFacts>> {
    if let Some(f) = engine::known_id(engine, reference).and_then(|id| cache::facts(&id)) {
        return Ok(Some(f));
    }
    let Some((id, config)) = engine::inspect(engine, reference)? else {
        return Ok(None);
    };
    engine::remember_id(engine, reference, &id);
    if let Some(f) = cache::facts(&id) {
        return Ok(Some(f));
    }
    let fs = engine::filesystem(engine, reference, &config, limits)?;
    let f = facts::derive(
        reference,
        &id,
        &format!("{engine} image store"),
        config,
        &fs,
    );
    cache::store_facts(&f);
    Ok(Some(f))
}

fn from_registry(
    r: &Reference,
    settings: &Settings,
    limits: &layers::Limits,
) -> Result<ImageFacts, registry::Error> {
    let platform = settings.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    let key = format!("registry {} {platform}", r.canonical());
    if let Some(f) = cache::tag(&key).and_then(|id| cache::facts(&id)) {
        return Ok(f);
    }
    // Said the same way whenever it was remembered: a report must not
    // change from one run to the next only because time passed.
    if let Some(why) = cache::failure(&key) {
        return Err(registry::Error(format!(
            "{why} (remembered from an earlier run; `harden cache clear` asks again)"
        )));
    }
    let found = from_registry_uncached(r, settings, limits, &key);
    match &found {
        Ok(_) => cache::forget_failure(&key),
        Err(e) => cache::store_failure(&key, &e.0),
    }
    found
}

fn from_registry_uncached(
    r: &Reference,
    settings: &Settings,
    limits: &layers::Limits,
    key: &str,
) -> Result<ImageFacts, registry::Error> {
    let platform = settings.platform.as_deref().unwrap_or(DEFAULT_PLATFORM);
    let insecure = settings.insecure_registries.contains(&r.registry);
    let mut client = registry::Client::new(r, insecure, TIMEOUT);
    let (manifest, _) = client.image_manifest(r.manifest_ref(), platform)?;
    let (id, config) = client.config(&manifest)?;
    if let Some(f) = cache::facts(&id) {
        cache::store_tag(key, &id);
        return Ok(f);
    }
    let fs = client.filesystem(&manifest, &config, limits)?;
    let source = format!("registry {}", r.registry);
    let f = facts::derive(&r.canonical(), &id, &source, config, &fs);
    cache::store_facts(&f);
    cache::store_tag(key, &id);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_registries_come_from_harden_toml_and_the_command_line() {
        let mut cfg = crate::config::parse("insecure-registries = [\"127.0.0.1:5000\"]\n").unwrap();
        assert_eq!(cfg.lookup.insecure_registries, ["127.0.0.1:5000"]);
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "harden",
            "check",
            "--insecure-registry",
            "localhost:5001",
            "--insecure-registry",
            "127.0.0.1:5000",
            "--offline",
            "--platform",
            "linux/arm64",
        ])
        .unwrap();
        let crate::cli::Command::Check(args) = cli.command else {
            unreachable!()
        };
        args.common.apply_image_settings(&mut cfg.lookup);
        assert_eq!(
            cfg.lookup.insecure_registries,
            ["127.0.0.1:5000", "localhost:5001"]
        );
        assert!(cfg.lookup.offline);
        assert_eq!(cfg.lookup.platform.as_deref(), Some("linux/arm64"));
        assert!(crate::config::parse("insecure-registries = \"x\"\n").is_err());
    }

    #[test]
    fn a_reference_no_engine_accepts_is_unknown_with_its_reason() {
        let e = lookup_uncached("Not An Image", &Settings::default()).unwrap_err();
        assert_eq!(e.reasons, ["`Not An Image` is not an image reference"]);
    }
}
