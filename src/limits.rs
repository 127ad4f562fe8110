//! Bounds that keep harden fast and safe on hostile input.

/// Real Compose files and Dockerfiles are far below this; a larger file is
/// refused with a clear error rather than read into memory.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;
