//! `linnet stat`: the daemon stack's counters as net-tools' `netstat -s` prints them, or with
//! `--raw` in the layout of `/proc/net/snmp` followed by `/proc/net/netstat`.
//!
//! Linux: net-tools statistics.c (`netstat -s`), net/ipv4/proc.c (`snmp_seq_show`,
//! `netstat_seq_show`).
//! RFCs: RFC 4293 (IP-MIB), RFC 4022 (TCP-MIB), RFC 4113 (UDP-MIB) for the counter names.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use linnet_core::ctl::{CtlRequest, CtlResponse};

use crate::render;
use crate::tool;

/// Options of `linnet stat`.
#[derive(Debug, Args, Clone)]
pub struct StatArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// Print the /proc/net/snmp then /proc/net/netstat layouts (name lines and value lines)
    /// instead.
    #[arg(long)]
    pub raw: bool,
}

/// Runs `linnet stat`; returns the exit status.
pub fn run(args: &StatArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let r = tool::connect(args.ctl.as_deref()).and_then(|mut c| c.ctl(CtlRequest::Counters));
    let counters = match r {
        Ok(CtlResponse::Counters(c)) => c,
        Ok(other) => {
            let _ = writeln!(err, "linnet stat: unexpected answer: {other:?}");
            return 1;
        }
        Err(e) => {
            let _ = writeln!(err, "linnet stat: {e}");
            return 1;
        }
    };
    let text = if args.raw {
        render::proc_net_snmp(&counters) + &render::proc_net_netstat(&counters)
    } else {
        render::netstat_s(&counters)
    };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(err, "linnet stat: stdout: {e}");
            1
        }
    }
}
