//! `linnet daemon`: one stack on real devices, serving the control socket: the "kernel" that
//! `linnet ip`, `ping`, `nc` and `stat` talk to.
//!
//! Linux: init/main.c in spirit (bring the network up from a configuration, then serve),
//! net/core/dev.c (`dev_open` for each device), net/ipv4/devinet.c and fib_frontend.c (the
//! addresses and routes configured at start), drivers/net/tun.c and net/packet/af_packet.c
//! (the devices).
//! RFCs: none beyond the stack's.
//!
//! # Settings
//! Flags, or a TOML file given with `--config FILE`, or both (flags override the file):
//!
//! | flag | file | meaning |
//! |---|---|---|
//! | `--tap NAME` | `[[device]] tap = "NAME"` | create or attach to TAP NAME (Ethernet frames) |
//! | `--tun NAME` | `[[device]] tun = "NAME"` | create or attach to TUN NAME (IP packets) |
//! | `--packet IFACE` | `[[device]] packet = "IFACE"` | AF_PACKET socket on an existing interface |
//! | `--addr [DEV=]CIDR` | `addr = ["CIDR"]` in a device | an address of linnet's |
//! | `--kernel-addr [DEV=]CIDR` | `kernel-addr = ["CIDR"]` | TAP/TUN only: address the kernel side (`ip addr add`) and bring it up |
//! | `--mac [DEV=]MAC` | `mac = "MAC"` | linnet's MAC on a TAP or AF_PACKET link (default: random, locally administered) |
//! | `--mtu [DEV=]MTU` | `mtu = 1500` | the device's MTU |
//! | `--route ROUTE` | `route = ["ROUTE"]` | `default via IP`, `PREFIX via IP`, `PREFIX dev DEV`, `... metric N` |
//! | `--ctl PATH` | `ctl = "PATH"` | control socket (default: see [`linnet::control::default_path`]) |
//! | `--seed N` | `seed = N` | the stack's random seed (default: from the OS) |
//! | `--forwarding` | `forwarding = true` | `net.ipv4.ip_forward = 1` |
//! | `--log LEVEL`, `-v` | `log = "LEVEL"` | error, warn, info (default), debug, trace; also `LINNET_LOG` |
//!
//! Repeat the device flags for several devices: one stack, many links, with interface
//! indexes in command-line order (after `lo`, 1). A bare `--addr CIDR`, `--mac`, `--mtu` or
//! `--kernel-addr` applies to the first device; `DEV=VALUE` picks one (`lo=` too for
//! `--addr`). A device flag replaces the file's whole `[[device]]` list; `--addr` (and the
//! other per-device flags) replace what the file gave that device; `--route` flags replace
//! the file's routes.
//!
//! A bad flag or file is refused before anything is created, with a message naming the
//! field (`linnet: config: device[0].addr[1]: invalid CIDR "10.0.0.300/24"`) and exit
//! status 1 (2 for what clap refuses).
//!
//! # Life
//! Devices are opened and added, brought up and addressed; routes added; then the control
//! socket is bound (its existence means the daemon is ready). SIGINT or SIGTERM stops the
//! server (closing every client's sockets), removes the socket file, stops the runtime
//! (closing the devices: a TAP linnet created disappears) and exits 0.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{ArgAction, ArgMatches, Args};
use linnet::control::Server;
use linnet::core::ctl::CtlResponse;
use linnet::core::{ConfigError, IfIndex, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{control, PacketDevice, Runtime, TunDevice};
use serde::Deserialize;
use tracing_subscriber::filter::LevelFilter;

use crate::ip::{parse_prefix, parse_route_spec, RouteSpec};

/// The end of `linnet daemon --help`: the rules and a configuration file.
pub const HELP: &str = "\
A bare --addr, --kernel-addr, --mac or --mtu applies to the first device; DEV=VALUE picks one
(--addr lo=CIDR too). Flags override the file: device flags replace its [[device]] list,
per-device flags replace what it gave that device, --route replaces its routes.

Example file (linnet daemon --config linnet.toml):
    ctl = \"/run/linnet/linnet.sock\"
    seed = 7
    log = \"info\"
    forwarding = false
    route = [\"default via 10.0.0.1\"]

    [[device]]
    tap = \"tap0\"                 # or tun = \"tun0\", or packet = \"eth1\"
    mac = \"02:00:00:00:00:02\"
    mtu = 1500
    addr = [\"10.0.0.2/24\"]
    kernel-addr = [\"10.0.0.1/24\"]

SIGINT or SIGTERM stops the daemon and removes its control socket.";

/// Options of `linnet daemon`.
#[derive(Debug, Args, Clone, Default)]
pub struct DaemonArgs {
    /// A TOML file of settings (same names as the flags; flags override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Create, or attach to, the TAP interface NAME (repeatable).
    #[arg(long, value_name = "NAME")]
    pub tap: Vec<String>,
    /// Create, or attach to, the TUN interface NAME (repeatable).
    #[arg(long, value_name = "NAME")]
    pub tun: Vec<String>,
    /// Drive the existing interface IFACE through an AF_PACKET socket (repeatable).
    #[arg(long, value_name = "IFACE")]
    pub packet: Vec<String>,
    /// An address for linnet: on the first device, or DEV=CIDR (repeatable).
    #[arg(long, value_name = "[DEV=]CIDR")]
    pub addr: Vec<String>,
    /// TAP/TUN: address the kernel's side and bring it up (repeatable).
    #[arg(long = "kernel-addr", value_name = "[DEV=]CIDR")]
    pub kernel_addr: Vec<String>,
    /// A route: 'default via IP', 'PREFIX via IP', 'PREFIX dev DEV' [metric N] (repeatable).
    #[arg(long, value_name = "ROUTE")]
    pub route: Vec<String>,
    /// linnet's MAC on the first device, or DEV=MAC (default: random, locally administered).
    #[arg(long, value_name = "[DEV=]MAC")]
    pub mac: Vec<String>,
    /// MTU of the first device, or DEV=MTU.
    #[arg(long, value_name = "[DEV=]MTU")]
    pub mtu: Vec<String>,
    /// The control socket [default: $LINNET_CTL, else /run/linnet/linnet.sock as root, else
    /// $XDG_RUNTIME_DIR/linnet.sock, else /tmp/linnet-$UID.sock].
    #[arg(long, value_name = "PATH")]
    pub ctl: Option<PathBuf>,
    /// Seed of the stack's randomness (default: from the OS).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Forward packets between devices (net.ipv4.ip_forward = 1).
    #[arg(long)]
    pub forwarding: bool,
    /// More logging: -v debug, -vv trace.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// Log level: off, error, warn, info, debug, trace [default: $LINNET_LOG, else info].
    #[arg(long, value_name = "LEVEL")]
    pub log: Option<String>,
    /// The device flags in command-line order (filled from clap's indices by `main`).
    #[arg(skip)]
    pub ordered_devices: Option<Vec<(DevKind, String)>>,
}

impl DaemonArgs {
    /// Records the order of `--tap`, `--tun` and `--packet` on the command line.
    pub fn set_order(&mut self, m: &ArgMatches) {
        let mut v: Vec<(usize, DevKind, String)> = Vec::new();
        for (id, kind, names) in [
            ("tap", DevKind::Tap, &self.tap),
            ("tun", DevKind::Tun, &self.tun),
            ("packet", DevKind::Packet, &self.packet),
        ] {
            if let Some(idx) = m.indices_of(id) {
                v.extend(idx.zip(names).map(|(i, n)| (i, kind, n.clone())));
            }
        }
        v.sort_by_key(|(i, _, _)| *i);
        self.ordered_devices = Some(v.into_iter().map(|(_, k, n)| (k, n)).collect());
    }

    fn device_flags(&self) -> Vec<(DevKind, String)> {
        self.ordered_devices.clone().unwrap_or_else(|| {
            let k = |kind, v: &Vec<String>| v.iter().map(move |n| (kind, n.clone())).collect();
            let mut all: Vec<(DevKind, String)> = k(DevKind::Tap, &self.tap);
            all.extend(k(DevKind::Tun, &self.tun));
            all.extend(k(DevKind::Packet, &self.packet));
            all
        })
    }
}

/// The kind of a device the daemon drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevKind {
    /// TAP.
    Tap,
    /// TUN.
    Tun,
    /// AF_PACKET on an existing interface.
    Packet,
}

impl DevKind {
    fn flag(self) -> &'static str {
        match self {
            DevKind::Tap => "tap",
            DevKind::Tun => "tun",
            DevKind::Packet => "packet",
        }
    }
}

/// The `[[device]]` table of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileDevice {
    tap: Option<String>,
    tun: Option<String>,
    packet: Option<String>,
    mac: Option<String>,
    mtu: Option<u32>,
    #[serde(default)]
    addr: Vec<String>,
    #[serde(default)]
    kernel_addr: Vec<String>,
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    ctl: Option<PathBuf>,
    seed: Option<u64>,
    forwarding: Option<bool>,
    log: Option<String>,
    route: Option<Vec<String>>,
    #[serde(default)]
    device: Vec<FileDevice>,
}

/// One device, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConf {
    /// Kind.
    pub kind: DevKind,
    /// Interface name.
    pub name: String,
    /// linnet's MAC (TAP, AF_PACKET).
    pub mac: Option<EthernetAddress>,
    /// MTU.
    pub mtu: Option<u32>,
    /// linnet's addresses.
    pub addrs: Vec<Ipv4Cidr>,
    /// The kernel side's addresses (TAP, TUN).
    pub kernel_addrs: Vec<Ipv4Cidr>,
    /// Where it was given, for messages (`--tap tap0`, `config: device[1]`).
    pub origin: String,
}

/// The daemon's settings after merging the file and the flags and checking them.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Control socket.
    pub ctl: PathBuf,
    /// Seed (`None`: from the OS).
    pub seed: Option<u64>,
    /// `ip_forward`.
    pub forwarding: bool,
    /// Log level.
    pub log: LevelFilter,
    /// Devices in order.
    pub devices: Vec<DeviceConf>,
    /// Addresses of `lo`.
    pub lo_addrs: Vec<Ipv4Cidr>,
    /// Routes, with the text they were given as.
    pub routes: Vec<(String, RouteSpec)>,
}

fn parse_cidr(s: &str) -> Option<Ipv4Cidr> {
    let (p, _) = parse_prefix(s)?;
    Ipv4Cidr::new(p.addr, p.len).ok()
}

fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.to_ascii_lowercase().as_str() {
        "off" => LevelFilter::OFF,
        "error" => LevelFilter::ERROR,
        "warn" | "warning" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => return None,
    })
}

fn check_name(name: &str, field: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) {
        return Err(format!(
            "{field}: invalid interface name \"{name}\" (1 to 15 bytes, no '/' or spaces)"
        ));
    }
    Ok(())
}

fn parse_mac(s: &str, field: &str) -> Result<EthernetAddress, String> {
    let mac: EthernetAddress = s
        .parse()
        .map_err(|_| format!("{field}: invalid MAC address \"{s}\""))?;
    if !mac.is_unicast() || mac.0 == [0; 6] {
        return Err(format!("{field}: \"{s}\" is not a unicast MAC address"));
    }
    Ok(mac)
}

fn check_mtu(m: u32, field: &str) -> Result<u32, String> {
    if !(68..=65_535).contains(&m) {
        return Err(format!("{field}: MTU {m} is out of range 68..65535"));
    }
    Ok(m)
}

fn route(text: &str, field: &str) -> Result<(String, RouteSpec), String> {
    let words: Vec<String> = text.split_whitespace().map(String::from).collect();
    let spec = parse_route_spec(&words).map_err(|f| {
        let msg = f.msg.strip_prefix("Error: ").unwrap_or(&f.msg).to_string();
        format!("{field}: invalid route \"{text}\": {msg}")
    })?;
    Ok((text.to_string(), spec))
}

fn load_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config: {}: {}", path.display(), io_msg(&e)))?;
    toml::from_str(&text)
        .map_err(|e| format!("config: {}: {}", path.display(), e.to_string().trim_end()))
}

fn io_msg(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(control::strerror)
        .unwrap_or_else(|| e.to_string())
}

fn file_devices(file: &FileConfig) -> Result<Vec<DeviceConf>, String> {
    let mut out = Vec::new();
    for (i, d) in file.device.iter().enumerate() {
        let at = format!("config: device[{i}]");
        let (kind, name) = match (&d.tap, &d.tun, &d.packet) {
            (Some(n), None, None) => (DevKind::Tap, n),
            (None, Some(n), None) => (DevKind::Tun, n),
            (None, None, Some(n)) => (DevKind::Packet, n),
            _ => return Err(format!("{at}: give exactly one of tap, tun or packet")),
        };
        check_name(name, &format!("{at}.{}", kind.flag()))?;
        let mac = d
            .mac
            .as_deref()
            .map(|m| parse_mac(m, &format!("{at}.mac")))
            .transpose()?;
        let mtu = d
            .mtu
            .map(|m| check_mtu(m, &format!("{at}.mtu")))
            .transpose()?;
        let cidrs = |list: &[String], key: &str| -> Result<Vec<Ipv4Cidr>, String> {
            list.iter()
                .enumerate()
                .map(|(j, s)| {
                    parse_cidr(s).ok_or_else(|| format!("{at}.{key}[{j}]: invalid CIDR \"{s}\""))
                })
                .collect()
        };
        out.push(DeviceConf {
            kind,
            name: name.clone(),
            mac,
            mtu,
            addrs: cidrs(&d.addr, "addr")?,
            kernel_addrs: cidrs(&d.kernel_addr, "kernel-addr")?,
            origin: at,
        });
    }
    Ok(out)
}

/// Splits `DEV=VALUE`; a value alone goes to the first device.
fn target<'a>(
    v: &'a str,
    flag: &str,
    devices: &[DeviceConf],
    allow_lo: bool,
) -> Result<(Option<usize>, &'a str), String> {
    let (dev, value) = match v.split_once('=') {
        Some((d, val)) => (Some(d), val),
        None => (None, v),
    };
    match dev {
        Some("lo") if allow_lo => Ok((None, value)),
        Some(d) => devices
            .iter()
            .position(|x| x.name == d)
            .map(|i| (Some(i), value))
            .ok_or_else(|| {
                let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
                format!(
                    "{flag}: no device \"{d}\" (devices: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )
            }),
        None if devices.is_empty() => Err(format!(
            "{flag}: \"{v}\" names no device and none is configured (give --tap, --tun or \
             --packet, or DEV={value})"
        )),
        None => Ok((Some(0), value)),
    }
}

/// Merges the file (if any) and the flags, and checks everything.
pub fn resolve(args: &DaemonArgs) -> Result<Config, String> {
    let file = match &args.config {
        Some(p) => load_file(p)?,
        None => FileConfig::default(),
    };
    let log = if let Some(l) = &args.log {
        parse_level(l).ok_or_else(|| format!("--log: unknown level \"{l}\""))?
    } else if args.verbose > 0 {
        if args.verbose == 1 {
            LevelFilter::DEBUG
        } else {
            LevelFilter::TRACE
        }
    } else if let Some(l) = std::env::var("LINNET_LOG").ok().filter(|l| !l.is_empty()) {
        parse_level(&l).ok_or_else(|| format!("LINNET_LOG: unknown level \"{l}\""))?
    } else if let Some(l) = &file.log {
        parse_level(l).ok_or_else(|| format!("config: log: unknown level \"{l}\""))?
    } else {
        LevelFilter::INFO
    };

    let flag_devs = args.device_flags();
    let mut devices = if flag_devs.is_empty() {
        file_devices(&file)?
    } else {
        let mut v = Vec::new();
        for (kind, name) in flag_devs {
            let origin = format!("--{} {name}", kind.flag());
            check_name(&name, &format!("--{}", kind.flag()))?;
            v.push(DeviceConf {
                kind,
                name,
                mac: None,
                mtu: None,
                addrs: Vec::new(),
                kernel_addrs: Vec::new(),
                origin,
            });
        }
        v
    };
    let mut seen = HashSet::new();
    for d in &devices {
        if !seen.insert(d.name.clone()) || d.name == "lo" {
            return Err(format!("{}: device \"{}\" given twice", d.origin, d.name));
        }
    }

    let mut lo_addrs = Vec::new();
    let mut replaced: HashSet<(usize, &str)> = HashSet::new();
    for v in &args.addr {
        let (i, val) = target(v, "--addr", &devices, true)?;
        let c = parse_cidr(val).ok_or_else(|| format!("--addr: invalid CIDR \"{val}\""))?;
        match i {
            Some(i) => {
                if replaced.insert((i, "addr")) {
                    devices[i].addrs.clear();
                }
                devices[i].addrs.push(c);
            }
            None => lo_addrs.push(c),
        }
    }
    for v in &args.kernel_addr {
        let (i, val) = target(v, "--kernel-addr", &devices, false)?;
        let c = parse_cidr(val).ok_or_else(|| format!("--kernel-addr: invalid CIDR \"{val}\""))?;
        let i = i.unwrap_or(0);
        if replaced.insert((i, "kernel")) {
            devices[i].kernel_addrs.clear();
        }
        devices[i].kernel_addrs.push(c);
    }
    for v in &args.mac {
        let (i, val) = target(v, "--mac", &devices, false)?;
        devices[i.unwrap_or(0)].mac = Some(parse_mac(val, "--mac")?);
    }
    for v in &args.mtu {
        let (i, val) = target(v, "--mtu", &devices, false)?;
        let m: u32 = val
            .parse()
            .map_err(|_| format!("--mtu: invalid MTU \"{val}\""))?;
        devices[i.unwrap_or(0)].mtu = Some(check_mtu(m, "--mtu")?);
    }
    for d in &devices {
        if d.kind == DevKind::Tun && d.mac.is_some() {
            return Err(format!("{}: a TUN device has no MAC address", d.origin));
        }
        if d.kind == DevKind::Packet && !d.kernel_addrs.is_empty() {
            return Err(format!(
                "{}: kernel-addr is for TAP and TUN devices (an AF_PACKET interface is the \
                 kernel's already)",
                d.origin
            ));
        }
    }

    let routes = if args.route.is_empty() {
        let mut v = Vec::new();
        for (i, r) in file.route.iter().flatten().enumerate() {
            v.push(route(r, &format!("config: route[{i}]"))?);
        }
        v
    } else {
        args.route
            .iter()
            .map(|r| route(r, "--route"))
            .collect::<Result<_, _>>()?
    };

    Ok(Config {
        ctl: args
            .ctl
            .clone()
            .or(file.ctl)
            .unwrap_or_else(control::default_path),
        seed: args.seed.or(file.seed),
        forwarding: args.forwarding || file.forwarding.unwrap_or(false),
        log,
        devices,
        lo_addrs,
        routes,
    })
}

fn cfg_err(e: ConfigError) -> String {
    control::strerror(e.errno().code())
}

/// Opens the device, configures the kernel side, and adds it to the runtime.
fn open_device(rt: &Runtime, d: &DeviceConf) -> Result<IfIndex, String> {
    let opened = |e: std::io::Error| {
        let hint = match e.raw_os_error() {
            Some(libc::EPERM) => " (needs CAP_NET_ADMIN and CAP_NET_RAW: run as root)",
            Some(libc::ENOENT) if d.kind != DevKind::Packet => " (/dev/net/tun is missing)",
            Some(libc::ENODEV) => " (no such interface)",
            Some(libc::EBUSY) => " (another program holds it)",
            _ => "",
        };
        format!("{}: cannot open: {}{hint}", d.origin, io_msg(&e))
    };
    let added = |e: std::io::Error| format!("{}: {}", d.origin, io_msg(&e));
    match d.kind {
        DevKind::Tap | DevKind::Tun => {
            let mut dev = if d.kind == DevKind::Tap {
                TunDevice::tap(&d.name)
            } else {
                TunDevice::tun(&d.name)
            }
            .map_err(opened)?;
            if let Some(m) = d.mac {
                dev = dev.with_mac(m);
            }
            if let Some(m) = d.mtu {
                dev = dev.with_mtu(m);
            }
            let name = linnet::Device::name(&dev).to_string();
            for c in &d.kernel_addrs {
                kernel_addr(&name, *c)
                    .map_err(|e| format!("{}: kernel-addr {c}: {e}", d.origin))?;
            }
            if !d.kernel_addrs.is_empty() {
                dev.set_kernel_up(true)
                    .map_err(|e| format!("{}: bringing {name} up: {}", d.origin, io_msg(&e)))?;
            }
            tracing::info!(dev = %name, mode = d.kind.flag(), mac = %dev.mac(), "opened");
            rt.add_device(dev).map_err(added)
        }
        DevKind::Packet => {
            let mac = d.mac.unwrap_or_else(linnet::random_mac);
            let dev = PacketDevice::open_with_mac(&d.name, mac).map_err(opened)?;
            tracing::info!(dev = %d.name, %mac, "AF_PACKET socket opened");
            rt.add_device(dev).map_err(added)
        }
    }
}

/// `ip addr add CIDR dev NAME` on the kernel side.
fn kernel_addr(name: &str, c: Ipv4Cidr) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["addr", "add", &c.to_string(), "dev", name])
        .output()
        .map_err(|e| format!("running ip(8): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip addr add: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Builds the stack on its devices (everything but the control socket).
pub fn build(cfg: &Config) -> Result<Runtime, String> {
    let sc = StackConfig {
        ip_forward: cfg.forwarding,
        ..StackConfig::default()
    };
    let seed = cfg.seed.unwrap_or_else(linnet::os_seed);
    let rt = Runtime::new(Stack::new(sc, seed)).map_err(|e| format!("runtime: {e}"))?;
    for d in &cfg.devices {
        let idx = open_device(&rt, d)?;
        rt.with_stack(|s| -> Result<(), String> {
            if let Some(m) = d.mtu {
                s.set_mtu(idx, m)
                    .map_err(|e| format!("{}: mtu {m}: {}", d.origin, cfg_err(e)))?;
            }
            s.set_up(idx, true)
                .map_err(|e| format!("{}: up: {}", d.origin, cfg_err(e)))?;
            for c in &d.addrs {
                s.add_addr(idx, *c)
                    .map_err(|e| format!("{}: addr {c}: {}", d.origin, cfg_err(e)))?;
            }
            Ok(())
        })?;
    }
    rt.with_stack(|s| -> Result<(), String> {
        for c in &cfg.lo_addrs {
            s.add_addr(linnet::core::LOOPBACK_IFINDEX, *c)
                .map_err(|e| format!("--addr lo={c}: {}", cfg_err(e)))?;
        }
        for (text, spec) in &cfg.routes {
            if let CtlResponse::Error { message, .. } = s.ctl(&spec.add_request()) {
                return Err(format!("route \"{text}\": {message}"));
            }
        }
        Ok(())
    })?;
    Ok(rt)
}

fn init_logging(level: LevelFilter) {
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Runs the daemon until SIGINT or SIGTERM.
pub fn run(args: &DaemonArgs) -> Result<(), String> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let cfg = resolve(args)?;
    init_logging(cfg.log);
    // Registered first: a signal during start-up is seen once the daemon is up, and then
    // stops it cleanly.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| format!("signals: {e}"))?;
    let rt = build(&cfg)?;
    let server = Server::bind(&cfg.ctl, rt.handle().clone())
        .map_err(|e| format!("--ctl {}: {}", cfg.ctl.display(), io_msg(&e)))?;
    let names: Vec<String> = cfg.devices.iter().map(|d| d.name.clone()).collect();
    tracing::info!(ctl = %cfg.ctl.display(), devices = ?names, "linnet daemon ready");
    // Wait for a signal, and also watch the event loop: if it dies, the daemon must not go
    // on answering the control socket for a stack nobody drives.
    let sig = loop {
        if let Some(s) = signals.pending().next() {
            break s;
        }
        if rt.handle().is_shut_down() {
            tracing::error!("the event loop stopped; shutting down");
            server.shutdown();
            let _ = rt.shutdown();
            return Err("runtime: the event loop stopped unexpectedly".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let name = match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    };
    tracing::info!(signal = name, "shutting down");
    server.shutdown();
    rt.shutdown().map_err(|e| format!("runtime: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut DaemonArgs)) -> DaemonArgs {
        let mut a = DaemonArgs {
            ctl: Some("/tmp/x.sock".into()),
            ..DaemonArgs::default()
        };
        f(&mut a);
        a
    }

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn bare_values_go_to_the_first_device_and_dev_equals_picks_one() {
        let a = args(|a| {
            a.ordered_devices = Some(vec![
                (DevKind::Tap, "tap0".into()),
                (DevKind::Packet, "eth1".into()),
            ]);
            a.addr = vec![
                "10.0.0.2/24".into(),
                "eth1=10.1.0.2/24".into(),
                "lo=10.9.0.1/32".into(),
            ];
            a.mac = vec!["eth1=02:00:00:00:00:05".into()];
            a.mtu = vec!["1400".into()];
            a.route = vec!["default via 10.0.0.1".into()];
        });
        let c = resolve(&a).unwrap();
        assert_eq!(c.devices[0].name, "tap0");
        assert_eq!(c.devices[0].addrs, [cidr("10.0.0.2/24")]);
        assert_eq!(c.devices[0].mtu, Some(1400));
        assert_eq!(c.devices[1].addrs, [cidr("10.1.0.2/24")]);
        assert_eq!(c.devices[1].mac, Some(EthernetAddress([2, 0, 0, 0, 0, 5])));
        assert_eq!(c.lo_addrs, [cidr("10.9.0.1/32")]);
        assert_eq!(c.routes[0].1.via, Some([10, 0, 0, 1].into()));
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let e = resolve(&args(|a| {
            a.tap = vec!["tap0".into()];
            a.addr = vec!["10.0.0.300/24".into()];
        }))
        .unwrap_err();
        assert_eq!(e, "--addr: invalid CIDR \"10.0.0.300/24\"");
        let e = resolve(&args(|a| a.addr = vec!["10.0.0.1/24".into()])).unwrap_err();
        assert!(
            e.starts_with("--addr: \"10.0.0.1/24\" names no device"),
            "{e}"
        );
        let e = resolve(&args(|a| {
            a.tap = vec!["tap0".into()];
            a.mac = vec!["tap1=02:00:00:00:00:01".into()];
        }))
        .unwrap_err();
        assert_eq!(e, "--mac: no device \"tap1\" (devices: tap0)");
        let e = resolve(&args(|a| {
            a.tap = vec!["tap0".into()];
            a.mac = vec!["01:00:5e:00:00:01".into()];
        }))
        .unwrap_err();
        assert_eq!(
            e,
            "--mac: \"01:00:5e:00:00:01\" is not a unicast MAC address"
        );
        let e = resolve(&args(|a| {
            a.tun = vec!["tun0".into()];
            a.mtu = vec!["20".into()];
        }))
        .unwrap_err();
        assert_eq!(e, "--mtu: MTU 20 is out of range 68..65535");
        let e = resolve(&args(|a| a.route = vec!["default via 10.0.0.x".into()])).unwrap_err();
        assert_eq!(
            e,
            "--route: invalid route \"default via 10.0.0.x\": any valid address is expected \
             rather than \"10.0.0.x\"."
        );
        let e = resolve(&args(|a| a.tap = vec!["a-very-long-name0".into()])).unwrap_err();
        assert!(e.starts_with("--tap: invalid interface name"), "{e}");
        let e = resolve(&args(|a| a.log = Some("loud".into()))).unwrap_err();
        assert_eq!(e, "--log: unknown level \"loud\"");
    }

    #[test]
    fn config_file_is_read_and_flags_override_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("linnet.toml");
        std::fs::write(
            &path,
            r#"
ctl = "/tmp/from-file.sock"
seed = 7
route = ["default via 10.0.0.1"]

[[device]]
tap = "tap0"
mac = "02:00:00:00:00:09"
addr = ["10.0.0.2/24", "10.0.0.3/24"]

[[device]]
packet = "eth1"
addr = ["10.1.0.2/24"]
"#,
        )
        .unwrap();
        let c = resolve(&args(|a| {
            a.ctl = None;
            a.config = Some(path.clone());
            a.addr = vec!["tap0=10.0.0.9/24".into()];
        }))
        .unwrap();
        assert_eq!(c.ctl, PathBuf::from("/tmp/from-file.sock"));
        assert_eq!(c.seed, Some(7));
        assert_eq!(c.devices.len(), 2);
        assert_eq!(
            c.devices[0].addrs,
            [cidr("10.0.0.9/24")],
            "replaced by --addr"
        );
        assert_eq!(c.devices[1].addrs, [cidr("10.1.0.2/24")]);
        assert_eq!(c.devices[1].kind, DevKind::Packet);
        assert_eq!(c.routes.len(), 1);
        // A device flag replaces the file's devices.
        let c = resolve(&args(|a| {
            a.config = Some(path.clone());
            a.tun = vec!["tun7".into()];
            a.seed = Some(1);
        }))
        .unwrap();
        assert_eq!(c.devices.len(), 1);
        assert_eq!(c.devices[0].kind, DevKind::Tun);
        assert_eq!(c.seed, Some(1));
        assert_eq!(c.ctl, PathBuf::from("/tmp/x.sock"));
    }

    #[test]
    fn the_example_in_the_help_is_a_valid_file() {
        let example: String = HELP
            .lines()
            .skip_while(|l| !l.starts_with("Example file"))
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with("    "))
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        let f: FileConfig = toml::from_str(&example).unwrap();
        let d = file_devices(&f).unwrap();
        assert_eq!(d[0].kind, DevKind::Tap);
        assert_eq!(d[0].kernel_addrs, [cidr("10.0.0.1/24")]);
        assert_eq!(f.route.unwrap().len(), 1);
    }

    #[test]
    fn bad_config_names_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let check = |text: &str| {
            std::fs::write(&path, text).unwrap();
            resolve(&args(|a| a.config = Some(path.clone()))).unwrap_err()
        };
        assert_eq!(
            check("[[device]]\ntap = \"tap0\"\naddr = [\"10.0.0.1/24\", \"10.0.0.300/24\"]\n"),
            "config: device[0].addr[1]: invalid CIDR \"10.0.0.300/24\""
        );
        assert_eq!(
            check("[[device]]\ntap = \"tap0\"\ntun = \"tun0\"\n"),
            "config: device[0]: give exactly one of tap, tun or packet"
        );
        assert_eq!(
            check("route = [\"10.0.0.0/33 via 10.0.0.1\"]\n"),
            "config: route[0]: invalid route \"10.0.0.0/33 via 10.0.0.1\": any valid prefix is \
             expected rather than \"10.0.0.0/33\"."
        );
        let e = check("sed = 3\n");
        assert!(e.contains("unknown field `sed`"), "{e}");
        let e = check("seed = \"x\"\n");
        assert!(e.contains("seed"), "{e}");
        let e = resolve(&args(|a| a.config = Some(dir.path().join("none.toml")))).unwrap_err();
        assert!(e.ends_with("none.toml: No such file or directory"), "{e}");
    }
}
