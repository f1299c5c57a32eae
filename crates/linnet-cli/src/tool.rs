//! What the user-space tools (`ip`, `ping`, `nc`, `stat`) share: finding and reaching the
//! daemon's control socket, and iproute2's way of matching abbreviated words.
//!
//! Linux: iproute2 lib/utils.c (`matches`), lib/libnetlink.c (`rtnl_open`).
//! RFCs: none.

use std::path::{Path, PathBuf};

use linnet::control::{Client, ClientError};

/// The control socket a tool talks to: `--ctl PATH`, else the default
/// ([`linnet::control::default_path`]: `$LINNET_CTL`, `/run/linnet/linnet.sock` as root,
/// `$XDG_RUNTIME_DIR/linnet.sock`, `/tmp/linnet-$UID.sock`).
pub fn ctl_path(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .unwrap_or_else(linnet::control::default_path)
}

/// Connects to the daemon (see [`ctl_path`]).
pub fn connect(flag: Option<&Path>) -> Result<Client, ClientError> {
    Client::connect(ctl_path(flag))
}

/// iproute2's `matches(cmd, pattern)`: `cmd` is a prefix of `pattern` (so `a` matches
/// `address`, and the first entry of a table that matches wins).
pub fn matches(cmd: &str, pattern: &str) -> bool {
    cmd.len() <= pattern.len() && pattern.as_bytes().starts_with(cmd.as_bytes())
}

/// The help text of `--ctl`, shared by every tool.
pub const CTL_HELP: &str = "The daemon's control socket [default: $LINNET_CTL, else \
                            /run/linnet/linnet.sock as root, else $XDG_RUNTIME_DIR/linnet.sock, \
                            else /tmp/linnet-$UID.sock]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_is_a_prefix_test_like_iproute2() {
        assert!(matches("a", "address"));
        assert!(matches("addr", "address"));
        assert!(matches("address", "address"));
        assert!(!matches("addresses", "address"));
        assert!(!matches("x", "address"));
    }

    #[test]
    fn ctl_flag_wins_over_the_default() {
        assert_eq!(
            ctl_path(Some(Path::new("/tmp/x.sock"))),
            PathBuf::from("/tmp/x.sock")
        );
    }
}
