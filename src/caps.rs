//! Linux capabilities by name and bit: what the kernel reports in
//! `/proc/PID/status` and in a file's `security.capability`, in the names
//! compose's `cap_add` uses.

/// Capability names in bit order (linux/capability.h), without `CAP_`.
const CAP_NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Names of the capabilities set in `bits`; unknown bits as `CAP_<n>`.
pub fn cap_names(bits: u64) -> Vec<String> {
    (0..64u32)
        .filter(|i| bits & (1u64 << i) != 0)
        .map(|i| match CAP_NAMES.get(i as usize) {
            Some(name) => (*name).to_string(),
            None => format!("CAP_{i}"),
        })
        .collect()
}

/// The bit for a capability as compose spells it (`NET_BIND_SERVICE`,
/// `CAP_NET_BIND_SERVICE`, any case); `None` for names the kernel lacks.
pub fn cap_bit(name: &str) -> Option<u64> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAP_NAMES.iter().position(|n| *n == bare).map(|i| 1u64 << i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits_agree() {
        assert_eq!(cap_names(1 | 1 << 10), ["CHOWN", "NET_BIND_SERVICE"]);
        assert_eq!(cap_bit("cap_net_bind_service"), Some(1 << 10));
        assert_eq!(cap_bit("NOT_A_CAP"), None);
        assert_eq!(cap_names(1 << 50), ["CAP_50"]);
    }
}
