//! Reading a transport error: its whole chain of causes, and whether a
//! TLS failure in it comes from how either side is set up.

/// What a TLS failure means, from the words rustls uses for it. Some come
/// only with the first call (TLS 1.3 refuses a client certificate after
/// the client's side of the handshake is done), hence its use for statuses.
pub fn tls_hint(detail: &str) -> Option<&'static str> {
    if detail.contains("InvalidContentType") || detail.contains("corrupt message") {
        Some("the server did not answer in TLS: is it a plaintext aggregator (then use http://)?")
    } else if detail.contains("UnknownIssuer") || detail.contains("invalid peer certificate") {
        Some("the aggregator's certificate is not trusted: give the CA that signed it with --ca")
    } else if detail.contains("CertificateRequired") {
        Some("the aggregator wants a client certificate: give --cert and --key")
    } else if detail.contains("UnknownCA") || detail.contains("BadCertificate") {
        Some("the aggregator does not trust this client certificate (--cert)")
    } else if detail.contains("H2NotNegotiated") || detail.contains("HTTP/2 was not negotiated") {
        Some("the server speaks TLS but not gRPC (no HTTP/2)")
    } else {
        None
    }
}

/// Transport errors hide the useful part ("connection refused") in their
/// sources: the whole chain, each layer said once.
pub fn source_chain(error: &dyn std::error::Error) -> String {
    greenlight_proto::error_chain::error_chain(error)
}
