//! What verify creates, and how it removes all of it: a project under a name
//! of its own, an override file that gives every built image a tag of its
//! own and every `container_name` a name of its own (so an existing tag
//! never moves and an existing container is never touched), and a teardown
//! that removes the project's containers (also those in a restart loop),
//! networks, volumes and images, then checks that nothing is left.

use super::compose::Service;
use super::engine::{Backend, Stop};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The label every compose front end puts on what it creates.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// One verify run's project: its name, and the images it tags.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub name: String,
    /// Image tags verify gave to what it builds (removed afterwards).
    pub images: Vec<String>,
}

/// A name part for an image reference: lower case letters, digits and
/// dashes (service names may hold `.`, `_` and upper case).
fn ref_part(s: &str) -> String {
    crate::escape::slug(s)
}

impl Project {
    /// Write the override for `services` as `role` (`hardened`,
    /// `unhardened`) to `dir`: built images get the tag
    /// `localhost/PROJECT-N-SERVICE:ROLE`, and a `container_name` becomes
    /// `PROJECT-SERVICE`. Returns the override file and notes for the report.
    pub fn write_override(
        &mut self,
        dir: &Path,
        role: &str,
        services: &[Service],
    ) -> Result<(PathBuf, Vec<String>), String> {
        let mut map = Map::new();
        let mut notes = Vec::new();
        for (i, svc) in services.iter().enumerate() {
            let mut o = Map::new();
            if svc.build {
                let tag = format!("localhost/{}-{i}-{}:{role}", self.name, ref_part(&svc.name));
                o.insert("image".into(), json!(tag));
                self.images.push(tag);
            }
            if let Some(old) = &svc.container_name {
                let new = format!("{}-{}", self.name, ref_part(&svc.name));
                notes.push(format!(
                    "service {}: container_name {old} runs as {new}, so that verify never meets a container of that name",
                    svc.name
                ));
                o.insert("container_name".into(), json!(new));
            }
            if !o.is_empty() {
                map.insert(svc.name.clone(), Value::Object(o));
            }
        }
        // JSON is YAML: every compose front end reads it.
        let doc = json!({ "services": map });
        let path = dir.join(format!("{role}.override.yaml"));
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((path, notes))
    }

    fn filter(&self) -> String {
        format!("label={PROJECT_LABEL}={}", self.name)
    }

    /// IDs of the project's containers, running or not.
    pub fn container_ids(&self, backend: &Backend) -> Result<Vec<String>, String> {
        let o = backend
            .cli_always(["ps", "-a", "-q", "--no-trunc", "--filter", &self.filter()])
            .map_err(|e| format!("{}: {e}", backend.cli))?;
        Ok(words(&o.stdout))
    }

    /// Stop (with a timeout) and remove the project's containers, keeping
    /// its volumes: what a migration does between the old and the new.
    pub fn remove_containers(&self, backend: &Backend) -> Result<(), String> {
        let ids = self.container_ids(backend)?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut stop = vec!["stop".to_string(), "-t".into(), "10".into()];
        stop.extend(ids.iter().cloned());
        let _ = backend.cli_always(&stop);
        let mut rm = vec!["rm".to_string(), "-f".into()];
        rm.extend(ids.iter().cloned());
        let o = backend.cli_always(&rm).map_err(|e| e.to_string())?;
        if o.status.success() {
            Ok(())
        } else {
            Err(format!(
                "removing the containers failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    }

    /// Remove everything the project created: `down -v` first, then what
    /// carries the project's label (a container in a restart loop survives
    /// `down`; podman-compose leaves networks), then the images verify
    /// tagged. Returns what is still there afterwards, each as `kind name`.
    pub fn teardown(&self, backend: &Backend, files: &[PathBuf]) -> Vec<String> {
        // A short stop timeout: the containers are thrown away.
        let _ = backend.compose(&self.name, files, ["down", "-v", "-t", "2"], Stop::Never);
        for _ in 0..3 {
            self.sweep(backend);
            if self.leftovers(backend).is_empty() {
                break;
            }
        }
        self.leftovers(backend)
    }

    fn sweep(&self, backend: &Backend) {
        let filter = self.filter();
        if let Ok(ids) = self.container_ids(backend) {
            if !ids.is_empty() {
                let mut stop = vec!["stop".to_string(), "-t".into(), "5".into()];
                stop.extend(ids.iter().cloned());
                let _ = backend.cli_always(&stop);
                let mut rm = vec!["rm".to_string(), "-f".into(), "-v".into()];
                rm.extend(ids);
                let _ = backend.cli_always(&rm);
            }
        }
        for kind in ["network", "volume"] {
            if let Ok(o) = backend.cli_always([kind, "ls", "-q", "--filter", filter.as_str()]) {
                for name in words(&o.stdout) {
                    let _ = backend.cli_always([kind, "rm", name.as_str()]);
                }
            }
        }
        for image in &self.images {
            if image_exists(backend, image) {
                let _ = backend.cli_always(["image", "rm", image.as_str()]);
            }
        }
    }

    /// What of the project is still there.
    pub fn leftovers(&self, backend: &Backend) -> Vec<String> {
        let filter = self.filter();
        let mut left = Vec::new();
        let lists: [(&str, Vec<&str>); 3] = [
            ("container", vec!["ps", "-a", "--format", "{{.Names}}"]),
            ("network", vec!["network", "ls", "--format", "{{.Name}}"]),
            ("volume", vec!["volume", "ls", "--format", "{{.Name}}"]),
        ];
        for (kind, mut args) in lists {
            args.extend(["--filter", filter.as_str()]);
            match backend.cli_always(&args) {
                Ok(o) if o.status.success() => {
                    left.extend(words(&o.stdout).into_iter().map(|n| format!("{kind} {n}")));
                }
                Ok(o) => left.push(format!(
                    "{kind}s (cannot list them: {})",
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => left.push(format!("{kind}s (cannot list them: {e})")),
            }
        }
        for image in &self.images {
            if image_exists(backend, image) {
                left.push(format!("image {image}"));
            }
        }
        left
    }
}

fn image_exists(backend: &Backend, image: &str) -> bool {
    backend
        .cli_always(["image", "inspect", "--format", "{{.Id}}", image])
        .is_ok_and(|o| o.status.success())
}

fn words(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_renames_what_could_meet_existing_things() {
        let dir = tempfile::tempdir().expect("tempdir");
        let services = vec![
            Service {
                name: "Web.App".into(),
                build: true,
                container_name: Some("shop".into()),
                ..Service::default()
            },
            Service {
                name: "db".into(),
                ..Service::default()
            },
        ];
        let mut p = Project {
            name: "harden-verify-1-ab".into(),
            images: Vec::new(),
        };
        let (path, notes) = p
            .write_override(dir.path(), "hardened", &services)
            .expect("override");
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(
            doc,
            json!({"services": {"Web.App": {
                "image": "localhost/harden-verify-1-ab-0-web-app:hardened",
                "container_name": "harden-verify-1-ab-web-app"}}})
        );
        assert_eq!(
            p.images,
            ["localhost/harden-verify-1-ab-0-web-app:hardened"]
        );
        assert!(notes[0].contains("container_name shop runs as harden-verify-1-ab-web-app"));
        // The same project's unhardened images get tags of their own.
        p.write_override(dir.path(), "unhardened", &services)
            .expect("override");
        assert_eq!(p.images.len(), 2);
        assert_ne!(p.images[0], p.images[1]);
    }
}
