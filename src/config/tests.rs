use super::*;

fn err(text: &str) -> (usize, usize, String) {
    let (off, m) = parse(text).expect_err("should fail");
    let (l, c) = profiles::line_col(text, off);
    (l, c, m)
}

#[test]
fn empty_is_baseline() {
    assert_eq!(parse("").unwrap(), Config::default());
    assert_eq!(parse("# nothing\n").unwrap(), Config::default());
}

#[test]
fn documented_defaults_equal_the_baseline() {
    let text = "uid = 1000\nuser-name = \"{service}\"\ntmpfs-size = \"512m\"\nskip = []\n";
    let c = parse(text).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn full_config() {
    let text = r#"uid = 2000
gid = 3000
user-name = "svc-{service}"
tmpfs-size = "1g"
skip = ["cache-on-rootfs"]

[[exception]]
path = "services/vpn/**"
allow = ["writable-rootfs", "default-capabilities"]
reason = "writes routing state; OPS-112"

[[exception]]
service = "legacy"
allow = ["all"]
reason = "retired next quarter"
"#;
    let c = parse(text).unwrap();
    assert_eq!((c.uid, c.gid), (2000, Some(3000)));
    assert_eq!(c.user_name, "svc-{service}");
    assert_eq!(c.tmpfs_size, "1g");
    assert_eq!(c.skip, vec!["cache-on-rootfs"]);
    assert_eq!(c.exceptions.len(), 2);
    assert_eq!(c.exceptions[0].line, 7);
    assert_eq!(c.exceptions[1].service.as_deref(), Some("legacy"));
}

#[test]
fn errors_have_places() {
    assert_eq!(err("uid = 0\n").0, 1);
    let (l, c, m) = err("uid = 1000\ncolour = 1\n");
    assert_eq!((l, c), (2, 1), "{m}");
    assert!(m.contains("colour"), "{m}");
    let (l, c, m) = err("uid = -5\n");
    assert_eq!((l, c), (1, 7));
    assert!(m.contains("between"), "{m}");
    let (l, c, _) = err("uid = \"x\"\n");
    assert_eq!((l, c), (1, 7));
    let (l, c, m) = err("tmpfs-size = \"lots\"\n");
    assert_eq!((l, c), (1, 14));
    assert!(m.contains("not a size"));
    let (l, c, m) = err("skip = [\"root-user\", \"nope\"]\n");
    assert_eq!((l, c), (1, 22));
    assert!(m.contains("unknown rule `nope`"));
    let (l, _, m) = err("user-name = \"{svc}\"\n");
    assert_eq!(l, 1);
    assert!(m.contains("{svc}"), "{m}");
    let (l, c, m) = err("\n[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\n");
    assert_eq!((l, c), (2, 1), "{m}");
    assert!(m.contains("reason"));
    let (l, c, m) =
        err("[[exception]]\nservice = \"vpn\"\nallow = [\"writable-rootfs\"]\nreason = \" \"\n");
    assert_eq!((l, c), (4, 10), "{m}");
    let (l, c, m) =
        err("[[exception]]\nservice = \"vpn\"\nallow = [\"writeable-rootfs\"]\nreason = \"x\"\n");
    assert_eq!((l, c), (3, 10), "{m}");
    let (l, _, m) = err("[[exception]]\nallow = [\"all\"]\nreason = \"x\"\n");
    assert_eq!(l, 1);
    assert!(m.contains("skip"));
    let (l, c, m) = err("[[exception]]\nservice = \"a\"\nallow = []\nreason = \"x\"\n");
    assert_eq!((l, c), (3, 9), "{m}");
    let (l, c, m) =
        err("[[exception]]\nservice = \"a\"\nallow = [\"all\"]\nreason = \"x\"\nextra = 1\n");
    assert_eq!((l, c), (5, 1), "{m}");
}

#[test]
fn user_name_patterns() {
    assert!(check_user_name("{service}").is_ok());
    assert!(check_user_name("app-{folder}").is_ok());
    assert!(check_user_name("worker").is_ok());
    assert!(check_user_name("{service").is_err());
    assert!(check_user_name("svc}").is_err());
    assert!(check_user_name("Web").is_err());
    assert!(check_user_name("").is_err());
    assert!(check_user_name("1{service}").is_err());
    assert!(check_user_name("root").is_err());
    assert!(check_user_name("root-{service}").is_ok());
    let c = Config {
        user_name: "svc-{service}".into(),
        ..Config::default()
    };
    assert_eq!(c.user_name(Some("Web API"), Some("web")), "svc-web-api");
    assert_eq!(c.user_name(None, Some("api")), "svc-api");
    assert_eq!(Config::default().user_name(Some("web"), None), "web");
    assert_eq!(Config::default().user_name(None, None), "app");
}

#[test]
fn sizes() {
    for ok in ["512m", "1g", "65536", "64K"] {
        assert!(is_size(ok), "{ok}");
    }
    for bad in ["", "m", "0", "0m", "1.5g", "512mb", "-1m", "1 m"] {
        assert!(!is_size(bad), "{bad}");
    }
}

#[test]
fn image_profiles() {
    let text = r#"
[[image]]
images = ["registry.example.internal/team/queue"]
source = "our own image; writes its spool under /var/spool/queue"
checked = "2026-01-10"
runs_as_root_by_default = false
ports = [7000]
ports_below_1024 = false
caps = { needed_as_root = [], why = "runs as uid 4000 from the start" }
[[image.write]]
path = "/var/spool/queue"
kind = "volume"
name = "spool"
why = "the message spool"
"#;
    let c = parse(text).unwrap();
    assert_eq!(c.images.len(), 1);
    let p = c
        .profile_for("registry.example.internal/team/queue:3.1")
        .unwrap();
    assert_eq!(p.write[0].path, "/var/spool/queue");
    // Built-ins still answer.
    assert!(c.profile_for("postgres:16").is_some());

    let bad = text.replace("ports_below_1024 = false", "ports_below_1024 = true");
    let (l, c, m) = err(&bad);
    assert_eq!((l, c), (8, 1), "{m}");
    assert!(m.contains("disagrees"));
}

#[test]
fn exemptions_by_path_and_service() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir_all(root.join("services/vpn")).unwrap();
    std::fs::write(root.join("services/vpn/Dockerfile"), "FROM alpine\n").unwrap();
    std::fs::write(root.join("compose.yaml"), "services: {}\n").unwrap();
    let mut c = parse(
        "skip = [\"privileged\"]\n[[exception]]\npath = \"services/vpn/**\"\nallow = [\"root-user\"]\nreason = \"needs raw sockets\"\n[[exception]]\nservice = \"db\"\npath = \"compose.yaml\"\nallow = [\"writable-rootfs\"]\nreason = \"legacy\"\n",
    )
    .unwrap();
    c.dir = root.clone();
    let df = root.join("services/vpn/Dockerfile");
    let compose = root.join("compose.yaml");
    assert!(c.exception_for(&df, None, "root-user").is_some());
    assert!(c.exception_for(&df, None, "implicit-home").is_none());
    assert!(c
        .exception_for(&compose, Some("db"), "writable-rootfs")
        .is_some());
    assert!(c
        .exception_for(&compose, Some("web"), "writable-rootfs")
        .is_none());
    assert!(c
        .exception_for(&df, Some("db"), "writable-rootfs")
        .is_none());
    let ex = c.exemptions(&df, None);
    assert_eq!(
        ex.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        vec!["root-user", "privileged"]
    );
    assert!(ex[0].1.to_string().contains("needs raw sockets"));
    assert_eq!(ex[1].1, Exemption::Skipped);
}

#[test]
fn found_in_a_parent() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(find(&deep), None);
    std::fs::write(dir.path().join("a/harden.toml"), "uid = 1234\n").unwrap();
    // Outside a repository, only the folder itself.
    assert_eq!(find(&deep), None);
    assert_eq!(
        find(&dir.path().join("a")),
        Some(root.join("a/harden.toml"))
    );
    // Inside one, up to its root.
    std::fs::create_dir(dir.path().join("a/b/.git")).unwrap();
    assert_eq!(find(&deep), None);
    std::fs::remove_dir(dir.path().join("a/b/.git")).unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    assert_eq!(find(&deep), Some(root.join("a/harden.toml")));
    let c = load(&dir.path().join("a/harden.toml")).unwrap();
    assert_eq!(c.uid, 1234);
}

#[test]
fn canary_is_off_unless_asked_for() {
    assert!(!Config::default().canary);
    assert!(!parse("canary = false\n").unwrap().canary);
    assert!(parse("canary = true\n").unwrap().canary);
    let (l, c, m) = err("\ncanary = \"yes\"\n");
    assert_eq!((l, c), (2, 10), "{m}");
}
