//! Shared by the tests that use the real Linux kernel as the peer (crates/linnet/tests and
//! crates/linnet-cli/tests include this file with `#[path]`): whether they can run here.
//!
//! They need root, /dev/net/tun, iproute2's `ip`, and whatever tools a test adds. Without
//! them a test skips and says why; under `CI=true` it fails instead, so CI never passes by
//! skipping.

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// A tool a test needs: the command, an argument that makes it print and exit (its version
/// or help), and how to name it in the reason.
pub type Tool = (&'static str, &'static str, &'static str);

/// `ping` from iputils.
pub const PING: Tool = ("ping", "-V", "ping(8) (iputils-ping)");
/// `nc` from netcat-openbsd.
pub const NC: Tool = ("nc", "-h", "nc (netcat-openbsd)");

/// True when the kernel tests can run; otherwise prints why (and panics under `CI=true`).
pub fn kernel_ready(test: &str, tools: &[Tool]) -> bool {
    let mut why = if !nix::unistd::geteuid().is_root() {
        Some("not root".to_string())
    } else if !Path::new("/dev/net/tun").exists() {
        Some("/dev/net/tun is missing".to_string())
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("ip(8) (iproute2) is not installed".to_string())
    } else {
        None
    };
    for (cmd, arg, name) in tools {
        if why.is_none() && Command::new(cmd).arg(arg).output().is_err() {
            why = Some(format!("{name} is not installed"));
        }
    }
    match why {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true requires the kernel tests to run, but {why}")
        }
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}
