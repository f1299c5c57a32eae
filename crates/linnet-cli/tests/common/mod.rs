//! What the binary tests share: running `linnet`, and a daemon process that is stopped (and
//! its socket checked) when its guard drops.
//!
//! Linux: none (test harness).
//! RFCs: none.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The `linnet` binary under test.
pub fn linnet() -> Command {
    Command::new(env!("CARGO_BIN_EXE_linnet"))
}

/// Runs `linnet ARGS` with `stdin` fed in; returns its output.
pub fn run(args: &[&str], stdin: &str) -> Output {
    let mut c = linnet()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("linnet runs");
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

/// stdout and stderr as text.
pub fn texts(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Starts `linnet nc -v ARGS` (a listener) with `stdin` fed in, and returns once it reports
/// its socket bound ("Bound on ADDR PORT" on stderr).
pub fn nc_listener(args: &[&str], stdin: &str) -> Child {
    use std::io::BufRead;
    let mut c = linnet()
        .arg("nc")
        .arg("-v")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("linnet nc runs");
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let mut err = std::io::BufReader::new(c.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("Bound on "), "nc -l: {line}");
    c
}

/// A running `linnet daemon`, stopped with SIGTERM on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub ctl: PathBuf,
}

impl Daemon {
    /// Starts `prefix... linnet daemon --ctl CTL ARGS` (prefix: e.g. `ip netns exec NS`) and
    /// waits until its control socket answers.
    pub fn start(prefix: &[&str], ctl: &Path, args: &[&str]) -> Daemon {
        let bin = env!("CARGO_BIN_EXE_linnet");
        let mut cmd = match prefix.split_first() {
            Some((p, rest)) => {
                let mut c = Command::new(p);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.arg("daemon")
            .arg("--ctl")
            .arg(ctl)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let child = cmd.spawn().expect("daemon starts");
        let mut d = Daemon {
            child: Some(child),
            ctl: ctl.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if UnixStream::connect(ctl).is_ok() {
                return d;
            }
            if let Some(st) = d.child.as_mut().unwrap().try_wait().unwrap() {
                let out = d.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "daemon exited with {st} before it was ready: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(Instant::now() < deadline, "daemon not ready after 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().unwrap().id() as i32)
    }

    /// Sends `sig` and waits (up to 10 s) for the exit; returns its status and stderr.
    pub fn stop(mut self, sig: Signal) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        kill(Pid::from_raw(child.id() as i32), sig).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("daemon did not stop on {sig}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `linnet TOOL --ctl CTL ARGS`.
    pub fn tool(&self, tool: &str, args: &[&str], stdin: &str) -> Output {
        let mut v = vec![tool, "--ctl", self.ctl.to_str().unwrap()];
        v.extend_from_slice(args);
        run(&v, stdin)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
