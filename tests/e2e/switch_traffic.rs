//! Acceptance of `deploy/switch-traffic` (issue 5) against a real HAProxy and
//! a real nginx from Debian, each run by the test on free loopback ports from
//! the shipped `deploy/haproxy/haproxy.cfg` and `deploy/nginx/` configs, in
//! front of two simulated backends that stamp every answer with their color.
//!
//! - `under_load`: 30 switches through HAProxy under keep-alive load, zero
//!   failed requests and every later request from the new color; the same
//!   through nginx's reload, printed beside it.
//! - `gate`: a cutover by a person is asked of a real aggregator
//!   (`greenlight cutover`) and refused until READY; the aggregator down is
//!   exit 3, while a rollback and `--force` still switch.
//! - `refusals`: a wrong argument, a missing socket, a broken nginx config, a
//!   DOWN target, an old epoch: a clear error and traffic left where it was.
//! - `restart`: HAProxy restarted after a switch keeps the switched state.
//! - `full_story`: the aggregator cuts over and rolls back through the
//!   script by itself; the time from fault to switch is printed.
//! - `traffic_source`: HAProxy read back by the aggregator: a cutover run by
//!   a person arms the bake (a fault then rolls back), and a switch behind
//!   greenlight's back is followed as an `external_switch`.
//! - `cutover_failed`: a cutover hook that cannot start: back to Ready with
//!   `cutover_failed`, HAProxy still on blue, a critical alert.
//!
//! Support: `script` runs the switch script, `haproxy` and `nginx` start the
//! load balancers, `load` is the keep-alive load.

mod cutover_failed;
mod full_story;
mod gate;
pub mod haproxy;
mod load;
mod nginx;
mod refusals;
mod restart;
pub mod script;
mod traffic_source;
mod under_load;
