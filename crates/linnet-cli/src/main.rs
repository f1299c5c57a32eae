//! `linnet`: the command-line front of linnet.
//!
//! Today it has the main job, `linnet sim`: a simulated network of real linnet stacks on
//! virtual time (no root, no devices), walked through ARP, ping, forwarding and UDP, with a
//! trace of every frame and each host's counters at the end. The daemon and the
//! iproute2/iputils-like tools come with the devices-and-daemon issue.
//!
//! Linux: the user-space side of iputils `ping` (its output lines) and of
//! `/proc/net/snmp` / `ip neigh` (their layouts).
//! RFCs: none beyond the stack's.

#[allow(dead_code)] // Used by the tools that talk to the daemon.
mod render;
mod sim;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// linnet: the Linux networking stack in user space.
#[derive(Debug, Parser)]
#[command(name = "linnet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate two hosts and a router, and walk through ARP, ping and UDP.
    Sim(sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => sim::run(&args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("linnet: {e}");
            ExitCode::FAILURE
        }
    }
}
