//! Free loopback ports for the servers the tests start.

use std::net::TcpListener;

/// A loopback port that was free a moment ago.
///
/// The kernel picks it (bind `127.0.0.1:0`); the listener is closed before
/// returning, so another process could take the port first. The servers in
/// this crate retry with a new port when that happens.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .expect("cannot bind 127.0.0.1:0: check that the loopback interface is up");
    listener
        .local_addr()
        .expect("a bound listener has a local address")
        .port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
    }
}
