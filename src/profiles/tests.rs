use super::*;

/// A valid profile to mutate in the negative tests.
const GOOD: &str = r#"
images = ["example/db"]
source = "test"
checked = "today"
proven_on = []
runs_as_root_by_default = true
entrypoint_drops_privileges = "gosu"
ports = [5000]
ports_below_1024 = false

[user]
name = "db"
uid = 999
gid = 999
why = "owns its data"

[[write]]
path = "/var/lib/db"
kind = "volume"
name = "data"
why = "data"

[[write]]
path = "/run/db"
kind = "tmpfs"
size = "16m"
mode = "1777"
why = "socket"

[caps]
needed_as_root = ["CHOWN", "SETUID", "SETGID"]
why = "gosu"
"#;

fn err(text: &str) -> KnowledgeError {
    match parse_profile("bad", text) {
        Ok(p) => panic!("expected an error, parsed {:?}", p.images),
        Err(e) => e,
    }
}

#[test]
fn embedded_knowledge_loads() {
    assert_eq!(load_error(), None);
    assert_eq!(profiles().len(), IMAGE_FILES.len());
    assert!(cache_libraries().len() >= 20);
}

/// What a run parses (the JSON copies build.rs makes) says exactly what
/// the TOML files say.
#[test]
fn the_json_copies_say_what_the_toml_says() {
    for (id, text, json) in IMAGE_FILES {
        let from_json: ImageProfile = serde_json::from_str(json).expect("the JSON copy loads");
        let from_toml: ImageProfile = toml::from_str(text).expect("the TOML parses");
        assert_eq!(format!("{from_json:?}"), format!("{from_toml:?}"), "{id}");
    }
    let from_json: CachesFile = serde_json::from_str(CACHES_JSON).expect("the JSON copy loads");
    let from_toml: CachesFile = toml::from_str(CACHES_FILE).expect("the TOML parses");
    assert_eq!(format!("{from_json:?}"), format!("{from_toml:?}"));
}

#[test]
fn each_profile_matches_its_repositories_in_every_spelling() {
    for p in profiles() {
        for repo in &p.images {
            let hub = !repo.split('/').next().unwrap_or("").contains('.');
            let mut spellings = vec![
                repo.clone(),
                format!("{repo}:1.2.3"),
                format!("{repo}:latest@sha256:0123abcd"),
                format!("{repo}@sha256:0123abcd"),
                repo.to_uppercase(),
            ];
            if hub {
                spellings.push(format!("docker.io/{repo}:7"));
                spellings.push(format!("index.docker.io/{repo}"));
                if !repo.contains('/') {
                    spellings.push(format!("library/{repo}:1"));
                    spellings.push(format!("docker.io/library/{repo}:1-alpine"));
                }
            }
            for s in spellings {
                let found = profile_for(&s).map(|f| f.id.as_str());
                assert_eq!(found, Some(p.id.as_str()), "{s}");
            }
        }
    }
}

#[test]
fn brief_repositories_are_covered() {
    for (image, id) in [
        ("postgres:16-alpine", "postgres"),
        ("docker.io/library/redis:7", "redis"),
        ("mysql:8.4", "mysql"),
        ("mariadb:11", "mariadb"),
        ("mongo:7", "mongo"),
        ("nginx:1.27-alpine", "nginx"),
        ("httpd:2.4", "httpd"),
        ("rabbitmq:3-management", "rabbitmq"),
        ("memcached:1.6", "memcached"),
        ("traefik:v3.1", "traefik"),
        ("caddy:2", "caddy"),
        ("grafana/grafana:11.0.0", "grafana"),
        ("grafana/grafana-oss", "grafana"),
        ("prom/prometheus:v2.53.0", "prometheus"),
        ("minio/minio:RELEASE.2024-06-04T19-20-08Z", "minio"),
        (
            "docker.elastic.co/elasticsearch/elasticsearch:8.14.1",
            "elasticsearch",
        ),
        ("elasticsearch:8.14.1", "elasticsearch"),
        ("opensearchproject/opensearch:2", "opensearch"),
    ] {
        assert_eq!(
            profile_for(image).map(|p| p.id.as_str()),
            Some(id),
            "{image}"
        );
    }
}

#[test]
fn unlisted_repositories_do_not_match() {
    for image in [
        "bitnami/redis:7",
        "bitnami/postgresql",
        "ghcr.io/acme/postgres:16",
        "localhost:5000/postgres:16",
        "registry.example.com:5000/nginx",
        "postgresql",
        "${REGISTRY}/postgres:16",
        "",
        "   ",
        ":16",
        "/postgres",
        "postgres extra",
    ] {
        assert!(profile_for(image).is_none(), "{image:?}");
    }
}

#[test]
fn user_follows_tag_variants() {
    let pg = profile_for("postgres").expect("postgres profile");
    let uid = |image: &str| pg.user_for(image).map(|u| (u.uid, u.gid));
    assert_eq!(uid("postgres:16"), Some((999, 999)));
    assert_eq!(uid("postgres"), Some((999, 999)));
    assert_eq!(uid("postgres:16-alpine3.20"), Some((70, 70)));
    assert_eq!(uid("docker.io/library/postgres:alpine"), Some((70, 70)));
    let redis = profile_for("redis").expect("redis profile");
    assert_eq!(redis.user_for("redis:7-alpine").map(|u| u.gid), Some(1000));
    assert_eq!(redis.user_for("redis:7").map(|u| u.gid), Some(999));
    let caddy = profile_for("caddy").expect("caddy profile");
    assert!(caddy.user_for("caddy:2").is_none());
}

#[test]
fn postgres_caps_cover_restart_on_an_existing_volume() {
    let pg = profile_for("postgres:17").expect("postgres profile");
    let caps = &pg.caps.needed_as_root;
    for needed in ["CHOWN", "DAC_READ_SEARCH", "SETUID", "SETGID"] {
        assert!(caps.iter().any(|c| c == needed), "{needed}");
    }
    // Narrowest set: read-only traversal, no blanket override.
    assert!(!caps.iter().any(|c| c == "DAC_OVERRIDE" || c == "FOWNER"));
    let volumes = |image: &str| -> Vec<&str> {
        pg.writes_for(image)
            .filter(|w| w.kind == WriteKind::Volume)
            .map(|w| w.path.as_str())
            .collect()
    };
    assert_eq!(
        volumes("postgres:17"),
        ["/var/lib/postgresql/data", "/run/postgresql"]
    );
    // The socket directory is a named volume at its real path: a tmpfs
    // over the image's directory is root-owned on runc < 1.1.8 and
    // Podman 4.3, and postgres cannot create its lock file there.
    assert!(!pg.tmpfs().any(|t| t.path.ends_with("/postgresql")));
}

/// PostgreSQL 18 keeps its data below the image's new volume at
/// /var/lib/postgresql; a tag without a version is the newest image.
#[test]
fn writes_and_notes_follow_the_major_version() {
    let pg = profile_for("postgres").expect("postgres profile");
    let data = |image: &str| -> Vec<&str> {
        pg.writes_for(image)
            .filter(|w| w.name.as_deref() == Some("data"))
            .map(|w| w.path.as_str())
            .collect()
    };
    for old in [
        "postgres:16.4",
        "postgres:9.6-alpine",
        "postgres:17-bookworm",
    ] {
        assert_eq!(data(old), ["/var/lib/postgresql/data"], "{old}");
        assert!(!pg.notes_for(old).any(|n| n.contains("18")), "{old}");
    }
    for new in [
        "postgres:18",
        "postgres:18.1-alpine",
        "postgres",
        "postgres:latest",
        "postgres:alpine",
    ] {
        assert_eq!(data(new), ["/var/lib/postgresql"], "{new}");
        assert!(
            pg.notes_for(new).any(|n| n.contains("18 and later")),
            "{new}"
        );
    }
    assert_eq!(tag_major("postgres:16.4-alpine3.20"), Some(16));
    assert_eq!(tag_major("registry.example.com:5000/postgres"), None);
}

/// Images built on the official one (PostGIS, pgvector) share its
/// profile; pgvector names the PostgreSQL version after `pg`.
#[test]
fn images_built_on_postgres_share_its_profile() {
    let pg = profile_for("postgres").expect("postgres profile");
    for (image, major, uid) in [
        ("postgis/postgis:16-3.4", Some(16), 999),
        ("postgis/postgis:17-3.5-alpine", Some(17), 70),
        ("postgis/postgis", None, 999),
        ("pgvector/pgvector:pg16", Some(16), 999),
        ("pgvector/pgvector:0.8.0-pg17-bookworm", Some(17), 999),
        ("pgvector/pgvector:0.8.1-pg18", Some(18), 999),
        ("postgres:16.4", Some(16), 999),
    ] {
        let p = profile_for(image).expect(image);
        assert!(std::ptr::eq(p, pg), "{image}");
        assert_eq!(p.major_of(image), major, "{image}");
        assert_eq!(p.user_for(image).map(|u| u.uid), Some(uid), "{image}");
    }
    let data = |image: &str| -> Vec<&str> {
        pg.writes_for(image)
            .filter(|w| w.name.as_deref() == Some("data"))
            .map(|w| w.path.as_str())
            .collect()
    };
    assert_eq!(
        data("pgvector/pgvector:0.8.0-pg17"),
        ["/var/lib/postgresql/data"]
    );
    assert_eq!(data("pgvector/pgvector:pg18"), ["/var/lib/postgresql"]);
    // The marker only counts with a number after it.
    assert_eq!(pg.major_of("postgres:16-pgdg"), Some(16));
}

#[test]
fn low_ports_are_flagged() {
    for (image, low) in [
        ("nginx", true),
        ("httpd", true),
        ("caddy", true),
        ("traefik", true),
        ("postgres", false),
    ] {
        let p = profile_for(image).expect("profile");
        assert_eq!(p.ports_below_1024, low, "{image}");
    }
}

#[test]
fn good_profile_parses() {
    let p = parse_profile("good", GOOD).expect("valid");
    assert_eq!(p.id, "good");
    assert_eq!(
        p.volumes().next().and_then(|v| v.name.as_deref()),
        Some("data")
    );
}

#[test]
fn unknown_kind_is_rejected_with_position() {
    let e = err(&GOOD.replace("kind = \"tmpfs\"", "kind = \"bind\""));
    assert_eq!(e.file, "templates/images/bad.toml");
    assert!(e.line > 1, "{e}");
}

#[test]
fn volume_without_name_is_rejected() {
    let e = err(&GOOD.replace("name = \"data\"\n", ""));
    assert!(e.message.contains("has no name"), "{e}");
}

#[test]
fn persistent_tmpfs_is_rejected() {
    let text = GOOD.replace("path = \"/run/db\"", "path = \"/var/lib/db/cache\"");
    let e = err(&text);
    assert!(e.message.contains("persistent"), "{e}");
    let e = err(&GOOD.replace("path = \"/run/db\"", "path = \"/srv/app/data\""));
    assert!(e.message.contains("persistent"), "{e}");
}

#[test]
fn inconsistent_profiles_are_rejected() {
    let cases = [
        (
            GOOD.replace("size = \"16m\"", "name = \"sock\""),
            "volume name",
        ),
        (
            GOOD.replace("\"CHOWN\", ", "\"CAP_CHOWN\", "),
            "unknown capability",
        ),
        (GOOD.replace("\"SETUID\", ", ""), "SETUID"),
        (
            GOOD.replace("ports = [5000]", "ports = [80]"),
            "ports_below_1024",
        ),
        (
            GOOD.replace(
                "runs_as_root_by_default = true",
                "runs_as_root_by_default = false",
            ),
            "cannot drop privileges",
        ),
        (
            GOOD.replace("path = \"/run/db\"", "path = \"/var/lib/db\""),
            "listed twice",
        ),
        (
            GOOD.replace("path = \"/run/db\"", "path = \"/opt/app/data\""),
            "persistent",
        ),
        (
            GOOD.replace("path = \"/run/db\"", "path = \"run/db\""),
            "absolute",
        ),
        (
            GOOD.replace("\"example/db\"", "\"example/db:1\""),
            "normalised",
        ),
        (
            GOOD.replace("\"example/db\"", "\"library/db\""),
            "normalised",
        ),
        (GOOD.replace("mode = \"1777\"", "mode = \"rwx\""), "octal"),
        (GOOD.replace("size = \"16m\"", "size = \"lots\""), "size"),
        (GOOD.replace("uid = 999", "uid = 0"), "uid 0"),
        (GOOD.replace("\"gosu\"", "\"sudo\""), "unknown entrypoint"),
        (GOOD.replace("why = \"socket\"", "why = \" \""), "no why"),
        (
            format!("{GOOD}\n[env]\nlower = \"x\"\n"),
            "environment variable",
        ),
    ];
    for (text, expected) in cases {
        let e = err(&text);
        assert!(
            e.message.contains(expected),
            "expected {expected:?}, got {e}"
        );
    }
}

#[test]
fn unknown_fields_and_bad_toml_are_rejected() {
    let e = err(&GOOD.replace("why = \"gosu\"", "why = \"gosu\"\nneeded = []"));
    assert!(e.message.contains("unknown field"), "{e}");
    let e = err("images = [\n");
    assert!(e.line >= 1 && e.column >= 1);
}

#[test]
fn built_in_profiles_say_where_they_were_proven() {
    let text = GOOD.replace("proven_on = []\n", "");
    assert!(
        parse_profile("good", &text).is_ok(),
        "harden.toml may leave it out"
    );
    let e = load_profiles(&[("good", text.as_str(), "")]).expect_err("built-in without proven_on");
    assert!(e.message.contains("proven_on"), "{e}");
    for p in profiles() {
        assert!(p.proven_on.is_some(), "{}", p.id);
    }
    for proven in [
        "postgres",
        "redis",
        "nginx",
        "mariadb",
        "memcached",
        "caddy",
    ] {
        let p = profile_for(proven).expect(proven);
        let on = p.proven_on.as_deref().unwrap_or_default();
        assert!(
            on.iter().any(|e| e.contains("Podman 4.3.1")),
            "{proven}: {on:?}"
        );
    }
}

#[test]
fn tmpfs_only_options_and_when_mounted_are_checked() {
    let e = err(&GOOD.replace("name = \"data\"\n", "name = \"data\"\nexec = true\n"));
    assert!(e.message.contains("tmpfs options"), "{e}");
    let e = err(&GOOD.replace(
        "why = \"socket\"",
        "why = \"socket\"\nwhen_mounted = \"etc/x/\"",
    ));
    assert!(e.message.contains("when_mounted"), "{e}");
    let ok = GOOD.replace(
        "why = \"socket\"",
        "why = \"socket\"\nexec = true\nwhen_mounted = \"/etc/db/templates\"",
    );
    let p = parse_profile("good", &ok).expect("valid");
    let t = p.tmpfs().next().expect("tmpfs");
    assert!(t.exec);
    assert_eq!(t.when_mounted.as_deref(), Some("/etc/db/templates"));
}

#[test]
fn elastic_images_already_run_as_1000() {
    for (image, gid) in [
        ("docker.elastic.co/logstash/logstash:8.15.0", 1000),
        ("docker.elastic.co/kibana/kibana:8.15.0", 0),
        ("docker.elastic.co/beats/filebeat:8.15.0", 1000),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.15.0", 0),
    ] {
        let p = profile_for(image).expect(image);
        assert!(!p.runs_as_root_by_default, "{image}");
        assert!(p.caps.needed_as_root.is_empty(), "{image}");
        let u = p.user_for(image).expect("user");
        assert_eq!((u.uid, u.gid), (1000, gid), "{image}");
    }
    // JVM programs load native libraries they extract to /tmp.
    for image in ["logstash:8.15.0", "elasticsearch:8.15.0"] {
        let p = profile_for(image).expect(image);
        assert!(p.tmpfs().any(|t| t.path == "/tmp" && t.exec), "{image}");
    }
}

#[test]
fn valkey_follows_the_redis_entrypoint() {
    let v = profile_for("valkey/valkey:8.0").expect("valkey profile");
    let r = profile_for("redis:7").expect("redis profile");
    assert_eq!(v.caps.needed_as_root, r.caps.needed_as_root);
    assert!(v.caps.needed_as_root.iter().any(|c| c == "DAC_READ_SEARCH"));
    assert_eq!(v.user_for("valkey/valkey:8.0").map(|u| u.uid), Some(999));
    assert!(v
        .notes_for("valkey/valkey:8.0")
        .any(|n| n.contains("command:")));
}

#[test]
fn a_repository_may_belong_to_one_profile_only() {
    // No JSON copy: the TOML is what loads.
    let files = [("one", GOOD, ""), ("two", GOOD, "")];
    let e = load_profiles(&files).expect_err("duplicate repository");
    assert!(e.message.contains("already listed by profile `one`"), "{e}");
    assert_eq!(e.file, "templates/images/two.toml");
}

#[test]
fn line_col_counts_characters() {
    let text = "a\nbé c\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 2), (2, 1));
    assert_eq!(line_col(text, 5), (2, 3)); // the space after é
    assert_eq!(line_col(text, 4), (2, 2)); // inside é: back to its start
    assert_eq!(line_col(text, 999), (3, 1));
}

// ----- caches -------------------------------------------------------

#[test]
fn cache_lookup_normalises_names() {
    for (asked, main) in [
        ("Sentence_Transformers", "sentence-transformers"),
        ("sentence.transformers", "sentence-transformers"),
        ("huggingface_hub", "huggingface-hub"),
        ("TORCH", "torch"),
        ("torchvision", "torchvision"),
        ("tensorflow-cpu", "tensorflow"),
        ("openai-whisper", "openai-whisper"),
        ("@playwright/test", "playwright"),
        ("puppeteer", "puppeteer"),
    ] {
        assert_eq!(
            cache_library(asked).map(CacheLibrary::name),
            Some(main),
            "{asked}"
        );
    }
    for absent in ["whisper", "onnxruntime", "requests", "", "--"] {
        assert!(cache_library(absent).is_none(), "{absent:?}");
    }
}

#[test]
fn cache_variables_point_into_subdirectories() {
    let var = |package: &str, var: &str| {
        cache_library(package)
            .and_then(|lib| lib.env.iter().find(|e| e.var == var))
            .map(|e| e.subdir.clone())
    };
    assert_eq!(var("torch", "TORCH_HOME").as_deref(), Some("torch"));
    assert_eq!(
        var("transformers", "HF_HOME").as_deref(),
        Some("huggingface")
    );
    assert_eq!(
        var("matplotlib", "MPLCONFIGDIR").as_deref(),
        Some("matplotlib")
    );
    assert_eq!(var("numba", "NUMBA_CACHE_DIR").as_deref(), Some("numba"));
    assert_eq!(var("nltk", "NLTK_DATA").as_deref(), Some("nltk_data"));
    assert_eq!(
        var("easyocr", "EASYOCR_MODULE_PATH").as_deref(),
        Some("easyocr")
    );
    assert_eq!(var("keras", "KERAS_HOME").as_deref(), Some("keras"));
    assert_eq!(
        var("ultralytics", "YOLO_CONFIG_DIR").as_deref(),
        Some("ultralytics")
    );
    assert_eq!(var("openai-whisper", "XDG_CACHE_HOME").as_deref(), Some(""));
    assert_eq!(
        var("puppeteer", "PUPPETEER_CACHE_DIR").as_deref(),
        Some("puppeteer")
    );
    assert_eq!(
        var("sentence-transformers", "SENTENCE_TRANSFORMERS_HOME").as_deref(),
        Some("sentence_transformers")
    );
}

#[test]
fn transformers_cache_is_deprecated_for_hf_home() {
    let lib = cache_library("transformers").expect("transformers");
    let old = lib
        .env
        .iter()
        .find(|e| e.var == "TRANSFORMERS_CACHE")
        .expect("listed");
    assert_eq!(old.deprecated_for.as_deref(), Some("HF_HOME"));
    let active: Vec<&str> = lib.active_env().map(|e| e.var.as_str()).collect();
    assert_eq!(active, ["HF_HOME"]);
}

#[test]
fn install_time_downloads_are_marked() {
    assert!(cache_library("puppeteer").is_some_and(|l| l.downloads_at_install));
    assert!(
        cache_library("playwright").is_some_and(|l| l.downloads_at_install
            && l.ecosystems.contains(&Ecosystem::Node)
            && l.ecosystems.contains(&Ecosystem::Python))
    );
    assert!(cache_library("torch").is_some_and(|l| !l.downloads_at_install));
}

#[test]
fn bad_cache_files_are_rejected() {
    let base = r#"
[[library]]
packages = ["foo"]
ecosystems = ["python"]
why = "w"
source = "s"
[[library.env]]
var = "FOO_HOME"
subdir = "foo"
why = "w"
"#;
    assert!(load_caches("c.toml", base, "").is_ok());
    let cases = [
        (
            base.replace("FOO_HOME", "foo-home"),
            "not an environment variable",
        ),
        (
            base.replace("subdir = \"foo\"", "subdir = \"/foo\""),
            "relative",
        ),
        (
            base.replace("subdir = \"foo\"", "subdir = \"../foo\""),
            "relative",
        ),
        (base.replace("[\"python\"]", "[]"), "no ecosystem"),
        (
            base.replace("why = \"w\"\n", "why = \"w\"\ndeprecated_for = \"BAR\"\n"),
            "deprecated",
        ),
        (
            format!("{base}{}", base.replace("[\"foo\"]", "[\"Foo\"]")),
            "already listed",
        ),
    ];
    for (text, expected) in cases {
        match load_caches("c.toml", &text, "") {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => assert!(
                e.message.contains(expected),
                "expected {expected:?}, got {e}"
            ),
        }
    }
    let e = load_caches("c.toml", "[[library]]\nkind = 1\n", "").expect_err("unknown field");
    assert_eq!(e.file, "c.toml");
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn odd_input_never_panics() {
    let inputs = [
        "",
        "\\",
        "#",
        "-",
        "@",
        ":",
        "/",
        "é",
        "a@",
        "@sha256:",
        "a:b:c/d",
        "[",
        "{",
        "\"",
        "x[",
        "x @",
        "x ; y",
        "#egg=",
        "-e",
        "--editable",
        "a-1.whl",
        "-1.whl",
        "\u{0}",
        "🦀==1",
        "[project]\ndependencies = [1, {a = 2}]",
        "[tool.poetry]\ndependencies = 3",
        "{\"dependencies\": [1]}",
        "[packages]\nx = 1",
    ];
    for input in inputs {
        let _ = profile_for(input);
        let _ = cache_library(input);
        let _ = parse_python_requirements(input);
        let _ = parse_pyproject_dependencies(input);
        let _ = parse_package_json_dependencies(input);
        let _ = parse_pipfile(input);
        let _ = normalize_package_name(input);
        for p in profiles() {
            let _ = p.user_for(input);
        }
    }
    assert_eq!(
        parse_pyproject_dependencies("[project]\ndependencies = [1, \"x\"]"),
        ["x"]
    );
}

#[test]
fn sysctls_are_namespaced_unique_and_explained() {
    let with = |table: &str| format!("{GOOD}\n{table}");
    let ok = with("[[sysctl]]\nname = \"net.ipv4.ip_unprivileged_port_start\"\nvalue = \"0\"\nwhy = \"port 80\"\n");
    let p = parse_profile("good", &ok).expect("valid");
    assert_eq!(p.sysctl.len(), 1);
    assert!(p.sysctl[0].needs_own_network());
    let e = err(&with(
        "[[sysctl]]\nname = \"vm.overcommit_memory\"\nvalue = \"1\"\nwhy = \"redis\"\n",
    ));
    assert!(e.message.contains("not a namespaced"), "{e}");
    let twice = "[[sysctl]]\nname = \"net.core.somaxconn\"\nvalue = \"1024\"\nwhy = \"backlog\"\n";
    let e = err(&with(&format!("{twice}{twice}")));
    assert!(e.message.contains("listed twice"), "{e}");
    let e = err(&with(
        "[[sysctl]]\nname = \"net.core.somaxconn\"\nvalue = \"\"\nwhy = \"backlog\"\n",
    ));
    assert!(e.message.contains("needs a value and a why"), "{e}");
}

#[test]
fn nginx_opens_port_80_with_the_sysctl_and_caddy_keeps_its_file_capability() {
    let nginx = profile_for("nginx:1.27").expect("nginx");
    assert!(!nginx
        .caps
        .needed_as_root
        .iter()
        .any(|c| c == "NET_BIND_SERVICE"));
    assert!(nginx
        .sysctl
        .iter()
        .any(|s| s.name == "net.ipv4.ip_unprivileged_port_start" && s.value == "0"));
    let caddy = profile_for("caddy:2").expect("caddy");
    assert_eq!(caddy.caps.needed_as_root, ["NET_BIND_SERVICE"]);
}

#[test]
fn the_quick_index_agrees_with_the_parsed_profiles() {
    // The index build.rs writes must list exactly what each profile's
    // `images` holds, and find the same profile as the full list.
    let mut listed = 0;
    for (i, (id, text, _)) in IMAGE_FILES.iter().enumerate() {
        let parsed = parse_profile(id, text).expect("a built-in profile parses");
        listed += parsed.images.len();
        for image in &parsed.images {
            let full = profiles().iter().find(|p| p.images.contains(image));
            assert_eq!(
                full.map(|p| &p.id),
                built_in(image).map(|p| &p.id),
                "{image}"
            );
            assert_eq!(
                built_in(image).map(|p| &p.id),
                parsed_id(i).as_ref(),
                "{image}"
            );
        }
        assert_eq!(profile_by_id(id).map(|p| p.id.as_str()), Some(*id));
    }
    assert_eq!(IMAGE_INDEX.len(), listed, "an index entry no profile lists");
    assert!(built_in("no/such-image").is_none());
}

fn parsed_id(i: usize) -> Option<String> {
    parsed(i).map(|p| p.id.clone())
}
