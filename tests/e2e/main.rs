//! End-to-end tests: the real binaries as processes, against a real
//! redis-server and PostgreSQL that the test bed starts on free loopback
//! ports. One test binary, as ripgrep does.

mod bed;

mod agent_clock_behind;
mod agent_probes;
mod aggregator_restart;
mod alerts;
mod auth;
mod bad_input;
mod bake;
mod cli_edges;
mod demo;
mod deploy_configs;
mod deploy_kit;
mod frozen_across_deadline;
mod gates;
mod grpc_conventions;
mod ha;
mod history_cli;
mod hooks;
mod hostile_input;
mod http_face;
mod load_smoke;
mod module_cycles;
mod phase_hooks;
mod postgres_down;
mod readme;
mod ready;
mod redis_cluster;
mod redis_loss;
mod redis_secured;
mod redis_sentinel;
mod report_log;
mod schema_readiness;
mod switch_traffic;
mod telemetry;
mod tls;
