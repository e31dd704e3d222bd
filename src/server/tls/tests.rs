//! Tests of the TLS layer over real sockets on 127.0.0.1:0, with rustls clients.

mod client_auth;
mod files;
mod handshake;
mod reload;
mod support;
