//! harden: rewrite Dockerfiles and Compose files to a hardening baseline.

pub mod baseimage;
pub mod cli;
pub mod compose;
pub mod config;
pub mod discover;
pub mod dockerfile;
pub mod edit;
pub mod finding;
pub mod image;
pub mod limits;
pub mod link;
pub mod migration;
pub mod par;
pub mod plan;
pub mod profiles;
pub mod report;
pub mod rules;
pub mod run;
pub mod source;
pub mod verify;
pub mod write;
