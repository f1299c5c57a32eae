//! `linnet`: the command-line front of linnet.
//!
//! - `linnet sim`: the main job, a simulated network of real linnet stacks on virtual time
//!   (no root, no devices), walked through ARP, ping, forwarding, UDP and TCP.
//! - `linnet daemon`: one stack on TAP/TUN/AF_PACKET devices, serving the control socket
//!   (the "kernel").
//! - `linnet ip`, `linnet ping`, `linnet nc`, `linnet stat`, `linnet ss`: "user space",
//!   separate processes that talk to a running daemon through its control socket (`--ctl
//!   PATH` or `LINNET_CTL`), with the syntax, output and exit statuses of iproute2, iputils,
//!   OpenBSD netcat and net-tools.
//!
//! Linux: the user-space side of iproute2 (`ip`), iputils (`ping`), net-tools (`netstat -s`)
//! and netcat, over the kernel interfaces the control socket stands for (rtnetlink, the
//! socket system calls).
//! RFCs: none beyond the stack's.

mod daemon;
mod ip;
mod nc;
mod ping;
#[allow(dead_code)] // Some renderers serve only the tests today.
mod render;
mod sim;
mod ss;
mod stat;
mod tool;

#[cfg(test)]
mod tools_tests;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// linnet: the Linux networking stack in user space.
#[derive(Debug, Parser)]
#[command(name = "linnet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate two hosts and a router, and walk through ARP, ping, UDP and TCP.
    Sim(sim::SimArgs),
    /// Run a stack on TAP/TUN/AF_PACKET devices and serve its control socket.
    #[command(after_help = daemon::HELP)]
    Daemon(daemon::DaemonArgs),
    /// Show and change links, addresses, routes and neighbours (iproute2's `ip`).
    #[command(disable_help_subcommand = true)]
    Ip(ip::IpArgs),
    /// Send ICMP echo requests (iputils' `ping`).
    Ping(ping::PingArgs),
    /// Bridge standard input and output to a UDP socket (OpenBSD `nc -u`).
    Nc(nc::NcArgs),
    /// Print the stack's counters (`netstat -s`; `--raw`: /proc/net/snmp).
    Stat(stat::StatArgs),
    /// List the stack's TCP and UDP sockets (iproute2's `ss`).
    #[command(disable_help_flag = true)]
    Ss(ss::SsArgs),
}

/// SIGINT's flag for the tools that print a summary when interrupted.
fn sigint_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGINT, flag.clone()) {
        eprintln!("linnet: SIGINT handler: {e}");
    }
    flag
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let out = &mut std::io::stdout().lock();
    let err = &mut std::io::stderr();
    let code = match cli.command {
        Command::Sim(args) => match sim::run(&args, out) {
            Ok(()) => 0,
            Err(e) => {
                let _ = writeln!(err, "linnet: {e}");
                1
            }
        },
        Command::Daemon(mut args) => {
            if let Some(m) = matches.subcommand_matches("daemon") {
                args.set_order(m);
            }
            match daemon::run(&args) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(err, "linnet: {e}");
                    1
                }
            }
        }
        Command::Ip(args) => ip::run(&args, out, err),
        Command::Ping(args) => ping::run(&args, out, err, &sigint_flag()),
        Command::Nc(args) => {
            let input = Box::new(std::io::BufReader::new(std::io::stdin()));
            nc::run(&args, input, out, err, &sigint_flag())
        }
        Command::Stat(args) => stat::run(&args, out, err),
        Command::Ss(args) => ss::run(&args, out, err),
    };
    let _ = out.flush();
    ExitCode::from(code)
}
