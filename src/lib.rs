//! harden: rewrite Dockerfiles and Compose files to a hardening baseline.

pub mod baseimage;
pub mod compose;
pub mod dockerfile;
pub mod edit;
pub mod profiles;
pub mod source;
