//! The deploy kit, checked without a container runtime or systemd running
//! (issue 12): every YAML parses, and the Dockerfile, the compose file, the
//! Kubernetes manifests, the systemd units, the tomls and the HAProxy config
//! agree on ports, names and paths; deploy/postgres/setup.sql makes a role
//! the agent's check can use and nothing more. (`--check-config` of every
//! embedded config is deploy_configs.rs.)

mod compose;
mod docker;
pub mod kit;
mod kubernetes;
pub mod postgres_setup;
mod systemd;
