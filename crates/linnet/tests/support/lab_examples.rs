//! Seed labs 3, 4 and 5 (crates/linnet/examples/lab3_listen.rs, lab4_accept.rs,
//! lab5_send.rs) as modules of a test binary, for the tests that run the examples' own code
//! (tests/labs.rs in-process and on TAP, tests/remote.rs through a daemon). Included with
//! `#[path]`; the including crate allows `clippy::duplicate_mod`, since each example
//! carries its own `lab_common` (as its own binary does).
//!
//! Linux: net/socket.c (the in-kernel socket API the labs use). RFCs: RFC 9293, RFC 768.

#[allow(dead_code)]
#[path = "../../examples/lab3_listen.rs"]
pub mod lab3;
#[allow(dead_code)]
#[path = "../../examples/lab4_accept.rs"]
pub mod lab4;
#[allow(dead_code)]
#[path = "../../examples/lab5_send.rs"]
pub mod lab5;
