//! `sysctls` from an image profile (nginx: port 80 through
//! net.ipv4.ip_unprivileged_port_start=0 instead of NET_BIND_SERVICE),
//! written in the style the service already uses, never over the author's
//! own value, and never where the service shares another network namespace.

mod common;

const SYSCTL: &str = "net.ipv4.ip_unprivileged_port_start";

/// `harden fix` on a compose file with one nginx service whose extra keys
/// are `extra` (indented for the service); returns (diff, notes in full).
fn fix(extra: &str) -> (String, String) {
    let dir = common::scratch();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  web:\n    image: nginx:1.27\n{extra}"),
    )
    .expect("write");
    let out = common::harden(
        dir.path(),
        &["fix", "--dry-run", "--verbose", "--color", "never", "."],
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    (out.stdout, out.stderr)
}

#[test]
fn a_new_sysctls_key_is_a_list_that_podman_compose_reads() {
    let (diff, notes) = fix("");
    assert!(
        diff.contains(&format!("+    sysctls:\n+      - {SYSCTL}=0\n")),
        "{diff}"
    );
    assert!(!diff.contains("NET_BIND_SERVICE"), "{diff}");
    assert!(
        notes.contains(&format!(
            "`sysctls: {SYSCTL}=0`: port 80 without NET_BIND_SERVICE"
        )),
        "{notes}"
    );
}

#[test]
fn a_mapping_grows_as_a_mapping_and_a_list_as_a_list() {
    let (diff, _) = fix("    sysctls:\n      net.core.somaxconn: 1024\n");
    assert!(
        diff.contains(&format!(
            "       net.core.somaxconn: 1024\n+      {SYSCTL}: \"0\"\n"
        )),
        "{diff}"
    );
    let (diff, _) = fix("    sysctls:\n    restart: always\n");
    assert!(
        diff.contains(&format!("     sysctls:\n+      - {SYSCTL}=0\n")),
        "a key without a value gets the list: {diff}"
    );
    let (diff, _) = fix("    sysctls:\n      - net.core.somaxconn=1024\n");
    assert!(
        diff.contains(&format!(
            "       - net.core.somaxconn=1024\n+      - {SYSCTL}=0\n"
        )),
        "{diff}"
    );
}

#[test]
fn the_authors_own_value_is_kept() {
    let (diff, notes) = fix(&format!("    sysctls:\n      {SYSCTL}: 80\n"));
    assert!(!diff.contains(&format!("+      {SYSCTL}")), "{diff}");
    assert!(!notes.contains("`sysctls:"), "{notes}");
}

#[test]
fn a_shared_network_namespace_gets_the_capability_instead() {
    for mode in ["host", "service:vpn"] {
        let (diff, notes) = fix(&format!("    network_mode: {mode}\n"));
        assert!(!diff.contains("sysctls"), "{mode}: {diff}");
        assert!(
            diff.contains("+      - NET_BIND_SERVICE\n"),
            "{mode}: {diff}"
        );
        assert!(
            notes.contains("shared network namespace"),
            "{mode}: {notes}"
        );
    }
}
