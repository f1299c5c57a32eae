//! Shared by the device-level benchmark examples (`tap_bench`, `tcp_bench`): running `ip`
//! and other set-up commands, and undoing the set-up when the run ends.

use std::io;
use std::process::Command;

/// Runs `cmd args`; the error carries its stderr.
pub fn run(cmd: &str, args: &[&str]) -> io::Result<String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("{cmd}: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `ip args`.
pub fn ip(args: &[&str]) -> io::Result<String> {
    run("ip", args)
}

/// `ip` commands that undo the set-up, run in reverse order when dropped (also on panic or
/// early return). The scripts add a shell trap for the signals that skip destructors.
#[derive(Default)]
pub struct Cleanup(Vec<Vec<String>>);

impl Cleanup {
    /// Queues `ip args` for the clean-up.
    pub fn on_drop(&mut self, args: &[&str]) {
        self.0.push(args.iter().map(|s| s.to_string()).collect());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let _ = Command::new("ip").args(args).output();
        }
    }
}
