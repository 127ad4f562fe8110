//! An OCI / Docker v2 registry, read anonymously or with the user's
//! credentials: the manifest (a list resolved to the platform), the config
//! blob and the layers, streamed through gzip or zstd and never held whole
//! in memory. Every answer is untrusted: sizes are bounded and blobs are
//! checked against their digests.

use super::facts::{self, ImageConfig};
use super::layers::{self, Budget, Fs, Hashing, Limits};
use super::reference::Reference;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::time::Duration;

/// The largest manifest or index read.
const MAX_MANIFEST: u64 = 4 << 20;
/// The largest config blob read.
const MAX_CONFIG: u64 = 8 << 20;
/// The largest token answer read.
const MAX_TOKEN: u64 = 1 << 20;
/// The most layers an image may have.
const MAX_LAYERS: usize = 256;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Why the registry could not say.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(m: impl Into<String>) -> Error {
    Error(m.into())
}

/// A transport failure in words that do not depend on the system's
/// resolver or TLS library.
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "it timed out".into(),
        ureq::Error::HostNotFound => "its address could not be resolved".into(),
        ureq::Error::ConnectionFailed => "the connection was refused".into(),
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused => "the connection was refused".into(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "it timed out".into(),
            _ if io.to_string().contains("lookup address") => {
                "its address could not be resolved".into()
            }
            _ => format!("{io}"),
        },
        other => other.to_string(),
    }
}

/// A `user:password` pair for a registry, from the user's Docker (or
/// Podman) auth file. Never printed: Debug says only that it is there.
#[derive(Clone)]
pub struct Credentials {
    basic: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// The credentials stored for `registry` in `$DOCKER_CONFIG/config.json`
/// (or `~/.docker/config.json`), then Podman's auth.json.
pub fn credentials(registry: &str) -> Option<Credentials> {
    use base64::Engine as _;
    let mut files = Vec::new();
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        files.push(std::path::PathBuf::from(d).join("config.json"));
    } else if let Some(h) = std::env::var_os("HOME") {
        files.push(std::path::PathBuf::from(h).join(".docker/config.json"));
    }
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(f.into());
    }
    if let Some(r) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(std::path::PathBuf::from(r).join("containers/auth.json"));
    }
    let keys: Vec<String> = if registry == super::reference::DOCKER_HUB {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    for f in files {
        let Ok(text) = crate::paths::read_text(&f, 1 << 20) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        // As Docker reads its config: a helper for this registry, else
        // the store for all, else the entry written in the file.
        if let Some(helper) = helper_for(&v, &keys) {
            let found = helper_program(&helper).and_then(|p| from_helper(&p, &keys[0]));
            if found.is_some() {
                return found;
            }
            continue;
        }
        for k in &keys {
            let auth = v
                .get("auths")
                .and_then(|a| a.get(k))
                .and_then(|e| e.get("auth"))
                .and_then(|a| a.as_str());
            if let Some(a) = auth {
                let decoded = base64::engine::general_purpose::STANDARD.decode(a).ok()?;
                if std::str::from_utf8(&decoded).ok()?.contains(':') {
                    return Some(Credentials {
                        basic: a.to_string(),
                    });
                }
            }
        }
    }
    None
}

/// The credential helper a Docker config names for a registry
/// (`credHelpers`, then `credsStore`), when its name is a plain word.
fn helper_for(config: &serde_json::Value, keys: &[String]) -> Option<String> {
    let named = keys
        .iter()
        .find_map(|k| config.get("credHelpers")?.get(k)?.as_str())
        .or_else(|| config.get("credsStore")?.as_str())?;
    let plain = !named.is_empty()
        && named
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    plain.then(|| named.to_string())
}

/// `docker-credential-NAME` on PATH.
fn helper_program(name: &str) -> Option<std::path::PathBuf> {
    let program = format!("docker-credential-{name}");
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(&program))
        .find(|p| p.is_file())
}

/// How long a credential helper may take: one that waits for a person
/// (a desktop keychain prompt) is given up on.
const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Ask a credential helper (`get`, the server on stdin) for the user and
/// secret of `server`. An identity token (user `<token>`) is not a
/// password and is not used.
fn from_helper(program: &std::path::Path, server: &str) -> Option<Credentials> {
    use base64::Engine as _;
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(server.as_bytes()).ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        (&mut stdout)
            .take(64 << 10)
            .read_to_end(&mut buf)
            .map(|_| buf)
    });
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < HELPER_TIMEOUT => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    };
    let out = reader.join().ok()?.ok()?;
    if !status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out).ok()?;
    let user = v.get("Username")?.as_str()?;
    let secret = v.get("Secret")?.as_str()?;
    if user.is_empty() || user == "<token>" || user.contains(':') {
        return None;
    }
    Some(Credentials {
        basic: base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")),
    })
}

/// A registry client for one repository.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    repository: String,
    registry: String,
    credentials: Option<Credentials>,
    token: Option<String>,
}

/// Parse `Bearer realm="...",service="...",scope="..."`.
fn challenge(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        params.push((key.trim().to_ascii_lowercase(), value.to_string()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some((scheme.to_ascii_lowercase(), params))
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn read_limited(body: &mut ureq::Body, max: u64, what: &str) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    body.as_reader()
        .take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(format!("reading the {what} failed: {e}")))?;
    if buf.len() as u64 > max {
        return Err(err(format!("the {what} is larger than {max} bytes")));
    }
    Ok(buf)
}

fn digest_ok(digest: &str, bytes: &[u8]) -> bool {
    match digest.strip_prefix("sha256:") {
        Some(hex) => super::hex(&Sha256::digest(bytes)) == hex,
        // Another algorithm is not checked (none is in use).
        None => true,
    }
}

impl Client {
    pub fn new(reference: &Reference, insecure: bool, timeout: Duration) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_send_request(Some(timeout))
            .max_redirects(5)
            .user_agent(concat!("harden/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let scheme = if insecure { "http" } else { "https" };
        Client {
            agent,
            base: format!("{scheme}://{}", reference.api_host()),
            repository: reference.repository.clone(),
            registry: reference.registry.clone(),
            credentials: credentials(&reference.registry),
            token: None,
        }
    }

    /// GET `path`, answering one authentication challenge.
    fn get(&mut self, path: &str, accept: &str) -> Result<ureq::http::Response<ureq::Body>, Error> {
        let url = format!("{}{path}", self.base);
        for attempt in 0..2 {
            let mut req = self.agent.get(&url).header("Accept", accept);
            if let Some(t) = &self.token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            } else if let (Some(c), 1) = (&self.credentials, attempt) {
                req = req.header("Authorization", &format!("Basic {}", c.basic));
            }
            let resp = req.call().map_err(|e| {
                err(format!(
                    "registry {} did not answer: {}",
                    self.registry,
                    transport(&e)
                ))
            })?;
            let status = resp.status().as_u16();
            if status == 401 && attempt == 0 {
                let header = resp
                    .headers()
                    .get("www-authenticate")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                self.authenticate(&header)?;
                continue;
            }
            match status {
                200 => return Ok(resp),
                401 | 403 => {
                    return Err(err(format!(
                        "registry {} refused access to {} ({}){}",
                        self.registry,
                        self.repository,
                        status,
                        if self.credentials.is_some() {
                            ""
                        } else {
                            ": a private image needs credentials (docker login)"
                        }
                    )))
                }
                404 => {
                    return Err(err(format!(
                        "registry {} has no {}{}",
                        self.registry,
                        self.repository,
                        path.rsplit_once('/')
                            .map(|(_, r)| format!(" {r}"))
                            .unwrap_or_default()
                    )))
                }
                s => return Err(err(format!("registry {} answered {s}", self.registry))),
            }
        }
        Err(err(format!(
            "registry {} refused the credentials",
            self.registry
        )))
    }

    /// Answer a challenge: a bearer token from the realm (anonymous, or
    /// with the credentials), or basic authentication.
    fn authenticate(&mut self, header: &str) -> Result<(), Error> {
        let Some((scheme, params)) = challenge(header) else {
            return Err(err(format!(
                "registry {} asks for authentication without saying how",
                self.registry
            )));
        };
        if scheme == "basic" {
            if self.credentials.is_none() {
                return Err(err(format!(
                    "registry {} needs credentials (docker login)",
                    self.registry
                )));
            }
            return Ok(());
        }
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let realm =
            param("realm").ok_or_else(|| err("an authentication challenge without a realm"))?;
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(err("an authentication realm that is not a web address"));
        }
        let mut url = format!("{realm}?");
        if let Some(s) = param("service") {
            url.push_str(&format!("service={}&", percent(&s)));
        }
        let scope =
            param("scope").unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        url.push_str(&format!("scope={}", percent(&scope)));
        let mut req = self.agent.get(&url);
        if let Some(c) = &self.credentials {
            req = req.header("Authorization", &format!("Basic {}", c.basic));
        }
        let mut resp = req.call().map_err(|e| {
            err(format!(
                "the token service of {} did not answer: {}",
                self.registry,
                transport(&e)
            ))
        })?;
        if resp.status().as_u16() != 200 {
            return Err(err(format!(
                "the token service of {} refused a token ({})",
                self.registry,
                resp.status().as_u16()
            )));
        }
        let body = read_limited(resp.body_mut(), MAX_TOKEN, "token answer")?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| err("an unreadable token answer"))?;
        let token = v
            .get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| err("a token answer without a token"))?;
        self.token = Some(token.to_string());
        Ok(())
    }

    fn manifest(&mut self, reference: &str) -> Result<(serde_json::Value, String), Error> {
        let mut resp = self.get(
            &format!("/v2/{}/manifests/{reference}", self.repository),
            MANIFEST_TYPES,
        )?;
        let body = read_limited(resp.body_mut(), MAX_MANIFEST, "manifest")?;
        if reference.starts_with("sha256:") && !digest_ok(reference, &body) {
            return Err(err("the manifest does not match its digest"));
        }
        let digest = format!("sha256:{}", super::hex(&Sha256::digest(&body)));
        let v = serde_json::from_slice(&body).map_err(|_| err("an unreadable manifest"))?;
        Ok((v, digest))
    }

    /// The image manifest for `platform` (`linux/amd64`, `linux/arm64/v8`)
    /// and its digest, following an index.
    pub fn image_manifest(
        &mut self,
        reference: &str,
        platform: &str,
    ) -> Result<(serde_json::Value, String), Error> {
        let (v, digest) = self.manifest(reference)?;
        let Some(list) = v.get("manifests").and_then(|m| m.as_array()) else {
            return Ok((v, digest));
        };
        let mut want = platform.split('/');
        let (os, arch, variant) = (want.next(), want.next(), want.next());
        let pick = list.iter().find(|m| {
            let p = m.get("platform");
            let field = |k: &str| p.and_then(|p| p.get(k)).and_then(|x| x.as_str());
            field("os") == os
                && field("architecture") == arch
                && (variant.is_none() || field("variant") == variant)
        });
        let Some(d) = pick.and_then(|m| m.get("digest")).and_then(|d| d.as_str()) else {
            return Err(err(format!("the image has no {platform} variant")));
        };
        let d = d.to_string();
        let (v, _) = self.manifest(&d)?;
        Ok((v, d))
    }

    fn blob(&mut self, digest: &str) -> Result<ureq::Body, Error> {
        if !digest.starts_with("sha256:") || digest.len() != 71 {
            return Err(err("a blob digest harden cannot check"));
        }
        let resp = self.get(&format!("/v2/{}/blobs/{digest}", self.repository), "*/*")?;
        Ok(resp.into_body())
    }

    pub fn config(&mut self, manifest: &serde_json::Value) -> Result<(String, ImageConfig), Error> {
        let digest = manifest
            .pointer("/config/digest")
            .and_then(|d| d.as_str())
            .ok_or_else(|| err("a manifest without a config"))?
            .to_string();
        let mut body = self.blob(&digest)?;
        let bytes = read_limited(&mut body, MAX_CONFIG, "image config")?;
        if !digest_ok(&digest, &bytes) {
            return Err(err("the image config does not match its digest"));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| err("an unreadable image config"))?;
        let config =
            ImageConfig::from_json(&v).ok_or_else(|| err("an image config without config"))?;
        Ok((digest, config))
    }

    /// Stream every layer, bottom first, into the merged filesystem.
    pub fn filesystem(
        &mut self,
        manifest: &serde_json::Value,
        config: &ImageConfig,
        limits: &Limits,
    ) -> Result<Fs, Error> {
        let layers = manifest
            .get("layers")
            .and_then(|l| l.as_array())
            .ok_or_else(|| err("a manifest without layers"))?;
        if layers.len() > MAX_LAYERS {
            return Err(err("an image with too many layers"));
        }
        let keep = facts::keep_for(config);
        let mut budget = Budget::default();
        let mut fs = Fs::default();
        for l in layers {
            let digest = l
                .get("digest")
                .and_then(|d| d.as_str())
                .ok_or_else(|| err("a layer without a digest"))?
                .to_string();
            let media = l.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
            let body = self.blob(&digest)?;
            let mut hashing = Hashing::new(body.into_reader());
            let layer = {
                let mut peek = io::BufReader::with_capacity(64 * 1024, &mut hashing);
                let magic = {
                    use io::BufRead;
                    peek.fill_buf()
                        .map_err(|e| err(format!("reading a layer failed: {e}")))?
                        .get(..4)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default()
                };
                let result = if magic.starts_with(&[0x1f, 0x8b]) || media.ends_with("gzip") {
                    layers::read_layer(
                        flate2::read::GzDecoder::new(&mut peek),
                        &keep,
                        limits,
                        &mut budget,
                    )
                } else if magic == [0x28, 0xb5, 0x2f, 0xfd] || media.ends_with("zstd") {
                    let dec = zstd::stream::read::Decoder::with_buffer(&mut peek)
                        .map_err(|e| err(format!("a zstd layer: {e}")))?;
                    layers::read_layer(dec, &keep, limits, &mut budget)
                } else {
                    layers::read_layer(&mut peek, &keep, limits, &mut budget)
                };
                let layer = result.map_err(|e| err(format!("layer {digest}: {e}")))?;
                io::copy(&mut peek, &mut io::sink())
                    .map_err(|e| err(format!("reading layer {digest} failed: {e}")))?;
                layer
            };
            let got = hashing.digest();
            if got != digest {
                return Err(err(format!("layer {digest} does not match its digest")));
            }
            fs.apply(layer);
        }
        Ok(fs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_parsed() {
        let (s, p) = challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[2].1, "repository:a/b:pull");
        let (s, p) = challenge("Basic realm=Registry").unwrap();
        assert_eq!((s.as_str(), p[0].1.as_str()), ("basic", "Registry"));
        assert!(challenge("garbage").is_none());
    }

    #[test]
    fn credentials_never_show() {
        let c = Credentials {
            basic: "dXNlcjpzZWNyZXQ=".into(),
        };
        assert_eq!(format!("{c:?}"), "Credentials(..)");
    }

    #[test]
    fn credentials_come_from_the_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"registry.example:5000":{"auth":"dXNlcjpzZWNyZXQ="}}}"#,
        )
        .unwrap();
        // The variable is read per call; this test owns its value.
        std::env::set_var("DOCKER_CONFIG", dir.path());
        let found = credentials("registry.example:5000");
        let other = credentials("elsewhere.example");
        std::env::remove_var("DOCKER_CONFIG");
        assert_eq!(found.map(|c| c.basic).as_deref(), Some("dXNlcjpzZWNyZXQ="));
        assert!(other.is_none());
    }

    #[test]
    fn credential_helpers_come_first_and_only_plain_names_are_run() {
        let keys = |k: &str| vec![k.to_string(), format!("https://{k}")];
        let config: serde_json::Value = serde_json::from_str(
            r#"{"credsStore":"desktop","credHelpers":{"ghcr.io":"gh"},"auths":{"ghcr.io":{}}}"#,
        )
        .unwrap();
        assert_eq!(helper_for(&config, &keys("ghcr.io")).as_deref(), Some("gh"));
        assert_eq!(
            helper_for(&config, &keys("quay.io")).as_deref(),
            Some("desktop")
        );
        let odd: serde_json::Value =
            serde_json::from_str(r#"{"credsStore":"../../bin/sh"}"#).unwrap();
        assert_eq!(helper_for(&odd, &keys("quay.io")), None);
        assert_eq!(helper_for(&serde_json::json!({}), &keys("quay.io")), None);
    }

    /// A helper written for the test: it answers for one server only, as
    /// `docker-credential-*` programs do.
    fn fake_helper(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("docker-credential-test");
        std::fs::write(
            &p,
            format!("#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread server\n{body}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn a_credential_helper_is_asked_for_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let helper = fake_helper(
            dir.path(),
            r#"[ "$server" = registry.example:5000 ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"user","Secret":"secret"}' "$server""#,
        );
        let found = from_helper(&helper, "registry.example:5000");
        assert_eq!(found.map(|c| c.basic).as_deref(), Some("dXNlcjpzZWNyZXQ="));
        assert!(from_helper(&helper, "elsewhere.example").is_none());
        let token = fake_helper(
            dir.path(),
            r#"printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh"}' "$server""#,
        );
        assert!(from_helper(&token, "registry.example:5000").is_none());
        let slow = fake_helper(dir.path(), "sleep 30");
        let start = std::time::Instant::now();
        assert!(from_helper(&slow, "registry.example:5000").is_none());
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }
}
