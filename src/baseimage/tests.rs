use super::*;

fn r(s: &str) -> ImageRef {
    match ImageRef::parse(s) {
        Some(r) => r,
        None => panic!("`{s}` should parse"),
    }
}

#[test]
fn data_file_loads_and_is_consistent() {
    let data = match knowledge() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    for needed in [
        "debian",
        "ubuntu",
        "alpine",
        "rhel",
        "rhel-minimal",
        "rhel-micro",
        "distroless",
        "wolfi",
        "scratch",
        "windows",
        "unknown",
    ] {
        assert!(data.family(needed).is_some(), "family {needed} missing");
    }
    for rule in &data.rules {
        assert!(data.rule_family(rule).is_some(), "rule {}", rule.id);
        assert!(
            !rule.source.trim().is_empty(),
            "rule {} has no source",
            rule.id
        );
    }
    for family in &data.families {
        match (&family.create_user, family.shell) {
            (Some(_), Shell::Posix) => {
                let nologin = family.nologin.as_deref().unwrap_or("");
                assert!(!nologin.is_empty(), "{} needs nologin", family.name);
            }
            (Some(_), _) => panic!("{} has a command but no shell", family.name),
            (None, _) => {}
        }
    }
    // The unknown family must stay last-resort: no rule may target it.
    assert!(data
        .rules
        .iter()
        .all(|r| data.rule_family(r).is_some_and(|f| f.name != "unknown")));
}

#[test]
fn inconsistent_data_is_rejected() {
    let base = "[[family]]\nname = \"unknown\"\nshell = \"posix\"\nsource = \"s\"\n\
                [[family]]\nname = \"scratch\"\nshell = \"none\"\nsource = \"s\"\n\
                [[family]]\nname = \"windows\"\nshell = \"windows\"\nsource = \"s\"\n";
    let ok = format!(
        "{base}[[rule]]\nid = \"a\"\nrepository = [\"x\"]\nfamily = \"scratch\"\nsource = \"s\"\n"
    );
    assert!(load(&ok).is_ok());
    let bad_family = ok.replace("family = \"scratch\"", "family = \"debain\"");
    assert!(load(&bad_family)
        .unwrap_err()
        .contains("unknown family `debain`"));
    let no_source = ok.replace(
        "family = \"scratch\"\nsource = \"s\"",
        "family = \"scratch\"\nsource = \" \"",
    );
    assert!(load(&no_source).unwrap_err().contains("no source"));
    let dup = format!(
        "{ok}[[rule]]\nid = \"a\"\nrepository = [\"y\"]\nfamily = \"scratch\"\nsource = \"s\"\n"
    );
    assert!(load(&dup).unwrap_err().contains("twice"));
    let placeholder = base.replace(
        "name = \"unknown\"\nshell = \"posix\"",
        "name = \"unknown\"\nshell = \"posix\"\ncreate_user = \"useradd -u {uid} {user}\"",
    );
    let placeholder = format!("rule = []\n{placeholder}");
    assert!(load(&placeholder).unwrap_err().contains("{user}"));
    let shell_less = base.replace(
        "name = \"scratch\"\nshell = \"none\"",
        "name = \"scratch\"\nshell = \"none\"\ncreate_user = \"useradd -u {uid} {name}\"",
    );
    let shell_less = format!("rule = []\n{shell_less}");
    assert!(load(&shell_less).unwrap_err().contains("no POSIX shell"));
    let runs_as = ok.replace(
        "family = \"scratch\"",
        "family = \"scratch\"\nruns_as = \"ghost\"",
    );
    assert!(load(&runs_as).unwrap_err().contains("ghost"));
    let version = ok.replace(
        "family = \"scratch\"",
        "family = \"scratch\"\ntag_min_version = \"new\"",
    );
    assert!(load(&version).unwrap_err().contains("not a version"));
    let with = |extra: &str| {
        ok.replace(
            "family = \"scratch\"",
            &format!("family = \"scratch\"\n{extra}"),
        )
    };
    assert!(load(&with("profile = \"postgres\"")).is_ok());
    assert!(load(&with("profile = \"postgress\""))
        .unwrap_err()
        .contains("unknown image profile `postgress`"));
    let both = with("profile = \"postgres\"\ndrops_privileges = \"gosu\"");
    assert!(load(&both).unwrap_err().contains("cannot list its own"));
    assert!(load("[[family]\n").is_err());
}

#[test]
fn parses_references() {
    let p = r("python:3.12-slim");
    assert_eq!(p.registry, None);
    assert_eq!(p.repository, "python");
    assert_eq!(p.tag.as_deref(), Some("3.12-slim"));
    assert_eq!(p.digest, None);

    let hub = r("docker.io/library/python:3.12");
    assert_eq!(
        (hub.registry.clone(), hub.repository.as_str()),
        (None, "python")
    );
    assert_eq!(r("index.docker.io/library/node").repository, "node");
    assert_eq!(r("library/redis:7").repository, "redis");
    assert_eq!(r("docker.io/bitnami/redis").repository, "bitnami/redis");

    let d = r("gcr.io/distroless/static-debian12:nonroot");
    assert_eq!(d.registry.as_deref(), Some("gcr.io"));
    assert_eq!(d.repository, "distroless/static-debian12");
    assert_eq!(d.full_name(), "gcr.io/distroless/static-debian12");

    let mcr = r("mcr.microsoft.com/dotnet/aspnet:8.0");
    assert_eq!(mcr.full_name(), "mcr.microsoft.com/dotnet/aspnet");
    assert_eq!(mcr.tag.as_deref(), Some("8.0"));

    let port = r("localhost:5000/x/y:1");
    assert_eq!(port.registry.as_deref(), Some("localhost:5000"));
    assert_eq!(port.repository, "x/y");
    assert_eq!(port.tag.as_deref(), Some("1"));

    let port_no_tag = r("registry.example:5000/team/app");
    assert_eq!(
        port_no_tag.registry.as_deref(),
        Some("registry.example:5000")
    );
    assert_eq!(port_no_tag.tag, None);
    assert_eq!(port_no_tag.effective_tag(), "latest");

    let hex = "a".repeat(64);
    let dig = r(&format!("registry/ns/img@sha256:{hex}"));
    assert_eq!(
        dig.registry, None,
        "`registry` has no dot or port: a Hub namespace"
    );
    assert_eq!(dig.repository, "registry/ns/img");
    assert_eq!(dig.digest, Some(format!("sha256:{hex}")));
    assert_eq!(dig.effective_tag(), "");

    let both = r(&format!("myreg.local/img:1.2@sha256:{hex}"));
    assert_eq!(both.tag.as_deref(), Some("1.2"));
    assert_eq!(
        both.to_string(),
        format!("myreg.local/img:1.2@sha256:{hex}")
    );

    assert_eq!(r("Ubuntu:22.04").repository, "ubuntu");
    assert_eq!(r("  alpine  ").repository, "alpine");
    assert_eq!(r("scratch").repository, "scratch");
}

#[test]
fn rejects_non_references() {
    for bad in [
        "",
        "   ",
        "${BASE}",
        "$BASE",
        "python:${VERSION}",
        "python:",
        "python:-x",
        ":tag",
        "a//b",
        "img@sha256",
        "img@:abc",
        "img@sha256:",
        "two words",
        "bad\"quote",
        "/leading",
        "trailing/",
        "img:tag:again",
        "ünïcode:1",
    ] {
        assert_eq!(ImageRef::parse(bad), None, "`{bad}` should not parse");
    }
    let long_tag = format!("x:{}", "a".repeat(129));
    assert_eq!(ImageRef::parse(&long_tag), None);
}

#[test]
fn version_helpers() {
    assert_eq!(parse_version("3.12-slim"), Some(vec![3, 12]));
    assert_eq!(parse_version("23.04"), Some(vec![23, 4]));
    assert_eq!(parse_version("8."), Some(vec![8]));
    assert_eq!(parse_version("latest"), None);
    assert_eq!(parse_version(""), None);
    assert_eq!(parse_version(".5"), None);
    assert_eq!(parse_version("99999999999999999999999"), None);
    assert!(version_cmp(&[8], &[8, 0]).is_eq());
    assert!(version_cmp(&[22, 10], &[23, 4]).is_lt());
    assert!(version_cmp(&[23, 10], &[23, 4]).is_gt());
}

struct Case {
    image: &'static str,
    family: &'static str,
    users: &'static [(&'static str, u32)],
    runs_as: Option<&'static str>,
    drops: Option<&'static str>,
}

const fn case(
    image: &'static str,
    family: &'static str,
    users: &'static [(&'static str, u32)],
    runs_as: Option<&'static str>,
) -> Case {
    Case {
        image,
        family,
        users,
        runs_as,
        drops: None,
    }
}

#[test]
fn classifies_realistic_references() {
    let hex = "0123456789abcdef".repeat(4);
    let digest_ref: &'static str =
        Box::leak(format!("python:3.12-slim@sha256:{hex}").into_boxed_str());
    #[rustfmt::skip]
    let cases = [
        case("python:3.12-slim", "debian", &[], None),
        // Mirrors and local rebuilds are known by their last name.
        case("localhost/debian:bookworm-slim", "debian", &[], None),
        case("registry.example.com/docker-hub/library/python:3.12-slim", "debian", &[], None),
        case("registry.example.com/platform/base-runtime:2024.06", "unknown", &[], None),
        case("python:3.12", "debian", &[], None),
        case("docker.io/library/python:3.11-slim-bookworm", "debian", &[], None),
        case("python:3.12-alpine3.20", "alpine", &[], None),
        case(digest_ref, "debian", &[], None),
        case("python:3.12-windowsservercore-ltsc2022", "windows", &[], None),
        case("node:20", "debian", &[("node", 1000)], None),
        case("node:20-alpine", "alpine", &[("node", 1000)], None),
        case("node:lts-bookworm-slim", "debian", &[("node", 1000)], None),
        case("golang:1.22-alpine", "alpine", &[], None),
        case("rust:1.79-slim-bookworm", "debian", &[], None),
        case("ruby:3.3", "debian", &[], None),
        case("php:8.3-fpm-alpine", "alpine", &[("www-data", 82)], None),
        case("php:8.3-apache", "debian", &[("www-data", 33)], None),
        case("debian:bookworm-slim", "debian", &[], None),
        case("ubuntu:22.04", "ubuntu", &[], None),
        case("ubuntu:jammy", "ubuntu", &[], None),
        case("ubuntu:24.04", "ubuntu", &[("ubuntu", 1000)], None),
        case("ubuntu:noble", "ubuntu", &[("ubuntu", 1000)], None),
        case("ubuntu:23.04", "ubuntu", &[("ubuntu", 1000)], None),
        case("ubuntu", "ubuntu", &[("ubuntu", 1000)], None),
        case("alpine:3.20", "alpine", &[], None),
        case("busybox:1.36", "alpine", &[], None),
        case("redhat/ubi9", "rhel", &[], None),
        case("registry.access.redhat.com/ubi9/ubi-minimal:9.4", "rhel-minimal", &[], None),
        case("registry.access.redhat.com/ubi8/ubi-micro", "rhel-micro", &[], None),
        case("redhat/ubi9-minimal", "rhel-minimal", &[], None),
        case("registry.access.redhat.com/ubi9/python-311", "rhel", &[("default", 1001)], Some("1001")),
        case("quay.io/centos/centos:stream9", "rhel", &[], None),
        case("fedora:40", "rhel", &[], None),
        case("rockylinux:9-minimal", "rhel-minimal", &[], None),
        case("almalinux:9", "rhel", &[], None),
        case("oraclelinux:9-slim", "rhel-minimal", &[], None),
        case("amazonlinux:2023", "amazonlinux", &[], None),
        case("gcr.io/distroless/static-debian12:nonroot", "distroless", &[("nonroot", 65532)], Some("nonroot")),
        case("gcr.io/distroless/python3-debian12", "distroless", &[("nonroot", 65532)], None),
        case("gcr.io/distroless/static:nonroot-amd64", "distroless", &[("nonroot", 65532)], Some("nonroot")),
        case("gcr.io/distroless/java21-debian12:debug-nonroot-arm64", "distroless-debug", &[("nonroot", 65532)], Some("nonroot")),
        case("gcr.io/distroless/cc-debian12:debug-amd64", "distroless-debug", &[("nonroot", 65532)], None),
        case("gcr.io/distroless/base-debian12:debug", "distroless-debug", &[("nonroot", 65532)], None),
        case("gcr.io/distroless/base-debian12:debug-nonroot", "distroless-debug", &[("nonroot", 65532)], Some("nonroot")),
        case("cgr.dev/chainguard/python:latest", "distroless", &[("nonroot", 65532)], Some("nonroot")),
        case("cgr.dev/chainguard/python:latest-dev", "wolfi", &[("nonroot", 65532)], Some("nonroot")),
        case("cgr.dev/chainguard/wolfi-base", "wolfi", &[], None),
        case("mcr.microsoft.com/dotnet/aspnet:8.0", "debian", &[("app", 1654)], None),
        case("mcr.microsoft.com/dotnet/sdk:9.0-alpine", "alpine", &[("app", 1654)], None),
        case("mcr.microsoft.com/dotnet/runtime:8.0-noble", "ubuntu", &[("app", 1654), ("ubuntu", 1000)], None),
        case("mcr.microsoft.com/dotnet/aspnet:8.0-jammy-chiseled", "distroless", &[("app", 1654)], Some("app")),
        case("mcr.microsoft.com/dotnet/aspnet:8.0-azurelinux3.0", "azurelinux", &[("app", 1654)], None),
        case("mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022", "windows", &[], None),
        case("mcr.microsoft.com/dotnet/aspnet:6.0", "debian", &[], None),
        case("mcr.microsoft.com/windows/servercore:ltsc2022", "windows", &[], None),
        case("eclipse-temurin:21-jre", "ubuntu", &[("ubuntu", 1000)], None),
        case("eclipse-temurin:17-jdk-jammy", "ubuntu", &[], None),
        case("eclipse-temurin:21-jre-alpine", "alpine", &[], None),
        case("eclipse-temurin:21-jdk-ubi9-minimal", "rhel-minimal", &[], None),
        case("amazoncorretto:21", "amazonlinux", &[], None),
        case("amazoncorretto:21-alpine", "alpine", &[], None),
        case("maven:3.9-eclipse-temurin-21-alpine", "alpine", &[], None),
        case("openjdk:17-jdk-slim", "debian", &[], None),
        case("nginx:1.27", "debian", &[("nginx", 101)], None),
        case("nginx:alpine", "alpine", &[("nginx", 101)], None),
        case("nginxinc/nginx-unprivileged:1.27-alpine", "alpine", &[("nginx", 101)], Some("nginx")),
        case("httpd:2.4", "debian", &[("www-data", 33)], None),
        case("bitnami/postgresql:16", "debian", &[], Some("1001")),
        case("docker.io/bitnami/redis:7.2", "debian", &[], Some("1001")),
        Case { drops: Some("gosu"), ..case("postgres:16", "debian", &[("postgres", 999)], None) },
        // The entrypoint drops root with gosu on the alpine tags too
        // (templates/images/postgres.toml, checked).
        Case { drops: Some("gosu"), ..case("postgres:16-alpine", "alpine", &[("postgres", 70)], None) },
        Case { drops: Some("gosu"), ..case("mysql:8.4", "rhel-minimal", &[("mysql", 999)], None) },
        Case { drops: Some("gosu"), ..case("mariadb:11", "ubuntu", &[("mysql", 999)], None) },
        Case { drops: Some("gosu"), ..case("redis:7", "debian", &[("redis", 999)], None) },
        Case { drops: Some("gosu"), ..case("mongo:7", "ubuntu", &[("mongodb", 999)], None) },
        case("mongo:7-windowsservercore", "windows", &[], None),
        case("plugins/base:windows-1809", "windows", &[], None),
        case("elasticsearch:8.14.1", "ubuntu", &[("elasticsearch", 1000)], Some("elasticsearch")),
        case("scratch", "scratch", &[], None),
        case("${BASE}", "unknown", &[], None),
        case("ghcr.io/acme/app:1.0", "unknown", &[], None),
        case("localhost:5000/x/y:1", "unknown", &[], None),
    ];
    for c in &cases {
        let got = classify(c.image);
        assert_eq!(
            got.family.name, c.family,
            "{}: {}",
            c.image, got.matched_rule
        );
        let users: Vec<(&str, u32)> = got
            .existing_users
            .iter()
            .map(|u| (u.name.as_str(), u.uid))
            .collect();
        assert_eq!(users, c.users.to_vec(), "{}: {}", c.image, got.matched_rule);
        assert_eq!(got.runs_as.as_deref(), c.runs_as, "{}", c.image);
        assert_eq!(got.drops_privileges.as_deref(), c.drops, "{}", c.image);
        assert_eq!(got.windows, c.family == "windows", "{}", c.image);
        assert!(got.matched_rule.contains('→'), "{}", got.matched_rule);
        assert!(!got.source.is_empty(), "{}", c.image);
    }
}

#[test]
fn explains_the_match() {
    let slim = classify("python:3.12-slim");
    assert_eq!(
        slim.matched_rule,
        "python:3.12-slim → debian (rule `language-debian-suffix`: repository `python` \
         matches `python`, tag `3.12-slim` matches `*slim*`)"
    );
    // The classification of `image`, whose reason says `why`.
    let says = |image: &str, why: &str| {
        let got = classify(image);
        assert!(got.matched_rule.contains(why), "{}", got.matched_rule);
        got
    };
    let noble = says("ubuntu:24.04", "version 23.04 or later");
    assert!(noble.note.as_deref().unwrap_or("").contains("UID"));
    says("ubuntu:latest", "no version number");
    assert!(says("${BASE}", "unresolved build argument").image.is_none());
    assert!(says("ghcr.io/acme/app:1.0", "no rule knows")
        .image
        .is_some());
    says("not a ref", "not a valid image reference");
}

#[test]
fn uid_helpers_avoid_known_users() {
    let noble = classify("ubuntu:24.04");
    assert_eq!(
        noble.user_with_uid(1000).map(|u| u.name.as_str()),
        Some("ubuntu")
    );
    assert_eq!(
        noble.user_named("ubuntu").and_then(|u| u.home.as_deref()),
        Some("/home/ubuntu")
    );
    assert_eq!(noble.free_id(1000), 1001);
    assert_eq!(noble.free_id(1500), 1500);
    let jammy = classify("ubuntu:22.04");
    assert_eq!(jammy.free_id(1000), 1000);
    assert!(jammy.user_with_uid(1000).is_none());
    let redis = classify("redis:7-alpine");
    // UID 999, GID 1000: 1000 is taken as a GID, so a shared id moves on.
    assert_eq!(redis.free_id(999), 1001);
    assert_eq!(classify("ubuntu:24.04").free_id(u32::MAX), u32::MAX);
}

fn family(name: &str) -> &'static Family {
    match knowledge().ok().and_then(|k| k.family(name)) {
        Some(f) => f,
        None => panic!("family {name}"),
    }
}

#[test]
fn renders_each_family() {
    let useradd = "groupadd --system --gid 1000 app && useradd --system --uid 1000 --gid 1000 \
                   --home-dir /home/app --no-create-home --shell /usr/sbin/nologin --no-log-init app";
    for name in ["debian", "ubuntu", "rhel"] {
        assert_eq!(
            render_create_user(family(name), "app", 1000, 1000, "/home/app").as_deref(),
            Some(useradd),
            "{name}"
        );
    }
    let busybox = "addgroup -S -g 1000 app && adduser -S -D -H -u 1000 -G app -s /sbin/nologin -h /home/app app";
    for name in ["alpine", "wolfi"] {
        assert_eq!(
            render_create_user(family(name), "app", 1000, 1000, "/home/app").as_deref(),
            Some(busybox),
            "{name}"
        );
    }
    let minimal = render_create_user(family("rhel-minimal"), "app", 1000, 1000, "/home/app");
    assert_eq!(
        minimal.as_deref(),
        Some(
            format!("microdnf install -y shadow-utils && microdnf clean all && {useradd}").as_str()
        )
    );
    let amazon = render_create_user(family("amazonlinux"), "app", 1000, 1000, "/home/app");
    assert!(amazon
        .as_deref()
        .unwrap_or("")
        .starts_with("yum install -y shadow-utils && "));
    let azure = render_create_user(family("azurelinux"), "app", 1000, 1000, "/home/app");
    assert!(azure
        .as_deref()
        .unwrap_or("")
        .starts_with("tdnf install -y shadow-utils && "));
    assert_eq!(
        render_create_user(family("rhel-micro"), "svc", 1001, 1002, "/srv").as_deref(),
        Some("echo 'svc:x:1002:' >> /etc/group && echo 'svc:x:1001:1002::/srv:/sbin/nologin' >> /etc/passwd")
    );
    let unknown = render_create_user(family("unknown"), "app", 1000, 1000, "/home/app");
    let unknown = unknown.as_deref().unwrap_or("");
    // Decided at build time: only a missing user is created, and the
    // preferred ids only where free (each command retried without them).
    assert!(unknown.starts_with("if ! id app >/dev/null 2>&1; then if command -v useradd"));
    assert!(unknown.contains(
        "useradd --system --uid 1000 --gid app --home-dir /home/app --no-create-home --shell /usr/sbin/nologin --no-log-init app 2>/dev/null || useradd --system --gid app"
    ));
    assert!(unknown.contains(
        "adduser -S -D -H -u 1000 -G app -s /sbin/nologin -h /home/app app 2>/dev/null || adduser -S -D -H -G app"
    ));
    assert!(unknown.ends_with("; fi; fi"));
    for name in ["distroless", "scratch", "windows", "distroless-debug"] {
        assert_eq!(
            render_create_user(family(name), "app", 1000, 1000, "/home/app"),
            None,
            "{name}"
        );
    }
    assert_eq!(
        family("scratch").numeric_user.as_deref(),
        Some("65534:65534")
    );
}

#[test]
fn rendering_refuses_unsafe_values() {
    let debian = family("debian");
    for name in [
        "",
        "App",
        "1app",
        "a b",
        "a;rm",
        "$(id)",
        "{uid}",
        &"a".repeat(33),
    ] {
        assert_eq!(
            render_create_user(debian, name, 1000, 1000, "/home/app"),
            None,
            "{name}"
        );
    }
    for home in [
        "",
        "home",
        "/home/a b",
        "/home/$USER",
        "/x/../etc",
        "/home/'x",
    ] {
        assert_eq!(
            render_create_user(debian, "app", 1000, 1000, home),
            None,
            "{home}"
        );
    }
    assert!(render_create_user(debian, "_svc-1", 0, 0, "/var/lib/svc_1").is_some());
}

#[test]
fn never_panics_on_odd_input() {
    for s in [
        "@",
        ":",
        "/",
        "a@b@c",
        "a:b@sha256:x:y",
        "\u{0}",
        "a/b:c/d",
        "🦀:1",
        "[::1]:5000/img",
    ] {
        let _ = ImageRef::parse(s);
        let got = classify(s);
        assert!(!got.matched_rule.is_empty());
    }
}
