//! Bounds that keep harden fast and safe on hostile input.

/// Real Compose files and Dockerfiles are far below this; a larger file is
/// refused with a clear error rather than read into memory.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// Deepest YAML nesting accepted: real compose files stay under 10 levels;
/// the bound keeps every recursion over the tree shallow.
pub const DEFAULT_MAX_YAML_DEPTH: usize = 256;

/// Most YAML data nodes accepted with aliases expanded: generous for real
/// files, and it stops an alias bomb before its expansion is allocated.
pub const DEFAULT_MAX_YAML_NODES: usize = 1_000_000;
