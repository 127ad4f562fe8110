//! harden: rewrite Dockerfiles and Compose files to a hardening baseline.

pub mod compose;
pub mod edit;
pub mod source;
