//! What the seed-lab examples share: the stack they run on, either in-process with only
//! `lo` (127.0.0.1) or on a TAP whose other end is the Linux kernel (`--tap`, root only),
//! where a real `nc` (netcat-openbsd) is the lab's peer.
//!
//! Linux: drivers/net/tun.c (the TAP). RFCs: none.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::process::Command;

use linnet::core::{Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::{Runtime, TunDevice};

/// The Linux side of the TAP.
pub const TAP_KERNEL_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// linnet's side of the TAP.
pub const TAP_LINNET_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Where a lab runs: the runtime, linnet's address for the lab's "loopback" and the
/// address of the peer (`nc`).
pub struct LabNet {
    /// The stack (the lab's `init_net`).
    pub rt: Runtime,
    /// The address the lab binds and sends from (127.0.0.1 in-process).
    pub local: Ipv4Addr,
    /// The address of the lab's peer (127.0.0.1 in-process: the same stack).
    pub peer: Ipv4Addr,
    /// The TAP's name, when on a TAP.
    pub tap: Option<String>,
}

impl std::fmt::Debug for LabNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabNet")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("tap", &self.tap)
            .finish_non_exhaustive()
    }
}

impl Drop for LabNet {
    fn drop(&mut self) {
        if let Some(name) = &self.tap {
            // The TAP goes with the runtime's fd; make sure.
            let _ = Command::new("ip").args(["link", "del", name]).output();
        }
    }
}

/// A stack with only `lo` up at 127.0.0.1/8 (the labs' loopback), seeded for replay.
pub fn in_process(seed: u64) -> LabNet {
    LabNet {
        rt: Runtime::new(Stack::new(StackConfig::default(), seed)).expect("runtime"),
        local: Ipv4Addr::LOCALHOST,
        peer: Ipv4Addr::LOCALHOST,
        tap: None,
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A TAP `lnlab<pid>` with the kernel at 10.77.0.1/24 and linnet at 10.77.0.2/24 (root).
pub fn on_tap() -> Result<LabNet, String> {
    let name = format!("lnlab{}", std::process::id() % 1_000_000);
    let tap = TunDevice::tap(&name).map_err(|e| format!("TAP {name}: {e} (root needed)"))?;
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    let net = LabNet {
        rt: Runtime::new(Stack::new(StackConfig::default(), linnet::os_seed()))
            .map_err(|e| e.to_string())?,
        local: TAP_LINNET_IP,
        peer: TAP_KERNEL_IP,
        tap: Some(name.clone()),
    };
    ip(&["addr", "add", "10.77.0.1/24", "dev", &name])?;
    ip(&["link", "set", &name, "up"])?;
    let idx = net.rt.add_device(tap).map_err(|e| e.to_string())?;
    let cidr: Ipv4Cidr = "10.77.0.2/24".parse().expect("cidr");
    net.rt.with_stack(|s| {
        s.set_up(idx, true).map_err(|e| format!("{e:?}"))?;
        s.add_addr(idx, cidr).map_err(|e| format!("{e:?}"))
    })?;
    Ok(net)
}

/// `--tap` on the command line.
pub fn want_tap() -> bool {
    std::env::args().any(|a| a == "--tap")
}
