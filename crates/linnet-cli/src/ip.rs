//! `linnet ip`: iproute2's `ip` for a linnet daemon: `link`, `addr`, `route` and `neigh`
//! with `show`, `add`, `del`, `set` and `flush`, iproute2's syntax (abbreviations included:
//! `ip a`, `ip r s`), its output (text and `-j` JSON, through [`crate::render`]), its error
//! messages and its exit statuses.
//!
//! Linux: iproute2 ip/ip.c (options, object table), ip/iplink.c (`iplink_modify`,
//! `do_iplink`), ip/ipaddress.c (`ipaddr_modify`, `ipaddr_list_flush_or_save`),
//! ip/iproute.c (`iproute_modify`, `iproute_list_flush_or_save`), ip/ipneigh.c
//! (`ipneigh_modify`, `do_show_or_flush`), lib/utils.c (`get_prefix`, `get_addr`, `invarg`,
//! `duparg2`), lib/libnetlink.c (`RTNETLINK answers: ...`).
//! RFCs: none.
//!
//! Exit statuses as iproute2: 0 done; 1 a device that does not exist or an address that does
//! not parse; 2 the stack refused (`RTNETLINK answers: File exists`, `Error: ...` where the
//! kernel sends an extended ack); 255 bad syntax.
//!
//! Deviations from Linux: only IPv4 (`-6` is refused); `ip link add|del` (virtual devices),
//! `ip link set ... address`, route attributes other than `via`, `dev`, `metric` and
//! `table main` are refused as not supported; `brd`, `label` and `scope` of `ip addr add` are
//! accepted and ignored (linnet derives the broadcast address and scope itself).

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Args;
use linnet::control::{strerror, Client, ClientError};
use linnet_core::ctl::{AddrInfo, CtlRequest, CtlResponse, LinkInfo, NeighInfo, Prefix, RouteInfo};
use linnet_core::wire::EthernetAddress;
use linnet_core::{DevFlags, NudState};

use crate::render;
use crate::tool::{self, matches};

/// Options of `linnet ip`.
#[derive(Debug, Args, Clone)]
pub struct IpArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// iproute2's arguments: [ -j ] [ -s ] [ -p ] { link | addr | route | neigh } [ COMMAND ]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

const USAGE: &str = "\
Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }
where  OBJECT := { address | route | neighbor | link }
       OPTIONS := { -s[tatistics] | -j[son] | -p[retty] | -4 | --ctl PATH }
       ip link show [ [ dev ] DEVICE ] [ up ]
       ip link set [ dev ] DEVICE [ up | down ] [ mtu MTU ] [ arp { on | off } ]
       ip addr { show | flush } [ [ dev ] DEVICE ] [ up ]
       ip addr { add | del } IFADDR dev DEVICE
       ip route { show | flush } [ dev DEVICE ] [ table main ]
       ip route { add | del } { PREFIX | default } [ via ADDRESS ] [ dev DEVICE ] [ metric N ]
       ip neigh { show | flush } [ [ to ] ADDRESS ] [ dev DEVICE ] [ all ]
       ip neigh { add | replace | change } ADDRESS [ lladdr LLADDR ] dev DEVICE [ nud STATE ]
       ip neigh del ADDRESS dev DEVICE
";

/// A failed command: what to print on stderr and the exit status.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// The message (one or more lines, without the final newline).
    pub msg: String,
}

type R<T> = Result<T, Failure>;

fn fail(code: u8, msg: impl Into<String>) -> Failure {
    Failure {
        code,
        msg: msg.into(),
    }
}

/// `duparg2`.
fn garbage(key: &str, arg: &str) -> Failure {
    fail(
        255,
        format!("Error: either \"{key}\" is duplicate, or \"{arg}\" is a garbage."),
    )
}

/// `invarg`.
fn invarg(msg: &str, arg: &str) -> Failure {
    fail(255, format!("Error: argument \"{arg}\" is wrong: {msg}"))
}

/// A refusal from the stack, as `rtnl_talk` prints it (no extended ack).
fn rtnl(errno: i32) -> Failure {
    fail(2, format!("RTNETLINK answers: {}", strerror(errno)))
}

/// A refusal with the kernel's extended-ack message.
fn extack(msg: &str) -> Failure {
    fail(2, format!("Error: {msg}"))
}

fn unsupported(what: &str) -> Failure {
    fail(2, format!("Error: linnet does not support {what} yet."))
}

fn no_device(name: &str) -> Failure {
    fail(1, format!("Cannot find device \"{name}\""))
}

fn incomplete(what: &str) -> Failure {
    fail(
        255,
        format!("Command line is not complete. Try option \"help\"{what}"),
    )
}

/// `get_prefix`: `a.b.c.d[/len]`; the length is 32 when absent (second value false).
pub fn parse_prefix(s: &str) -> Option<(Prefix, bool)> {
    let (addr, len, explicit) = match s.split_once('/') {
        Some((a, l)) => {
            if l.is_empty() || !l.bytes().all(|b| b.is_ascii_digit()) || l.len() > 2 {
                return None;
            }
            (a, l.parse::<u8>().ok()?, true)
        }
        None => (s, 32, false),
    };
    if len > 32 {
        return None;
    }
    let addr: Ipv4Addr = addr.parse().ok()?;
    Some((Prefix { addr, len }, explicit))
}

fn get_prefix(s: &str) -> R<(Prefix, bool)> {
    if s == "default" || s == "all" || s == "any" {
        return Ok((
            Prefix {
                addr: Ipv4Addr::UNSPECIFIED,
                len: 0,
            },
            true,
        ));
    }
    parse_prefix(s).ok_or_else(|| {
        fail(
            1,
            format!("Error: any valid prefix is expected rather than \"{s}\"."),
        )
    })
}

fn get_addr(s: &str) -> R<Ipv4Addr> {
    s.parse().map_err(|_| {
        fail(
            1,
            format!("Error: any valid address is expected rather than \"{s}\"."),
        )
    })
}

/// A route as `ip route add|del` and `linnet daemon --route` give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination (`default` is 0.0.0.0/0).
    pub dst: Prefix,
    /// Gateway.
    pub via: Option<Ipv4Addr>,
    /// Output device.
    pub dev: Option<String>,
    /// Metric.
    pub metric: u32,
}

impl RouteSpec {
    /// The control request that adds this route.
    pub fn add_request(&self) -> CtlRequest {
        CtlRequest::RouteAdd {
            dst: self.dst,
            via: self.via,
            dev: self.dev.clone(),
            metric: self.metric,
        }
    }
}

fn next<'a>(it: &mut std::slice::Iter<'a, String>, what: &str) -> R<&'a str> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| incomplete(&format!(" (\"{what}\" needs a value).")))
}

/// `iproute_modify`'s argument loop: `[to] PREFIX|default [via ADDR] [dev|oif DEV]
/// [metric|priority|preference N] [table main] [proto static|boot]`.
pub fn parse_route_spec(args: &[String]) -> R<RouteSpec> {
    let mut dst = None;
    let mut spec = RouteSpec {
        dst: Prefix {
            addr: Ipv4Addr::UNSPECIFIED,
            len: 0,
        },
        via: None,
        dev: None,
        metric: 0,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "via" => {
                let v = next(&mut it, "via")?;
                let v = v.strip_prefix("inet ").unwrap_or(v);
                if spec.via.is_some() {
                    return Err(garbage("via", v));
                }
                spec.via = Some(get_addr(v)?);
            }
            "dev" | "oif" => {
                let d = next(&mut it, a)?;
                if spec.dev.is_some() {
                    return Err(garbage("dev", d));
                }
                spec.dev = Some(d.to_string());
            }
            "metric" | "priority" | "preference" => {
                let m = next(&mut it, a)?;
                spec.metric = m
                    .parse()
                    .map_err(|_| invarg("\"metric\" value is invalid", m))?;
            }
            "table" => {
                let t = next(&mut it, "table")?;
                if t != "main" && t != "254" {
                    return Err(unsupported(&format!("routing table \"{t}\"")));
                }
            }
            "proto" | "protocol" => {
                let p = next(&mut it, "proto")?;
                if !matches!(p, "static" | "boot") {
                    return Err(unsupported(&format!("\"proto {p}\"")));
                }
            }
            "src" | "scope" | "mtu" | "onlink" | "nexthop" | "tos" | "dsfield" => {
                return Err(unsupported(&format!("route attribute \"{a}\"")));
            }
            _ => {
                let p = if a == "to" {
                    next(&mut it, "to")?
                } else {
                    a.as_str()
                };
                if dst.is_some() {
                    return Err(garbage("to", p));
                }
                dst = Some(get_prefix(p)?.0);
            }
        }
    }
    let Some(dst) = dst else {
        return Err(incomplete("."));
    };
    if dst.len < 32 && u32::from(dst.addr) & !prefix_mask(dst.len) != 0 {
        return Err(extack("Invalid prefix for given prefix length."));
    }
    spec.dst = dst;
    Ok(spec)
}

fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// Global options (`-j`, `-s`, `-p`).
#[derive(Clone, Copy, Debug, Default)]
struct Opts {
    json: bool,
    stats: bool,
    pretty: bool,
}

/// A parsed command.
#[derive(Debug, PartialEq, Eq)]
enum Cmd {
    Usage,
    Version,
    LinkShow {
        dev: Option<String>,
        up: bool,
    },
    LinkSet {
        dev: String,
        up: Option<bool>,
        mtu: Option<u32>,
        arp: Option<bool>,
    },
    LinkAddDummy {
        name: String,
        mtu: Option<u32>,
    },
    LinkDel {
        dev: String,
    },
    AddrShow {
        dev: Option<String>,
        up: bool,
    },
    AddrFlush {
        dev: String,
    },
    AddrAdd {
        dev: String,
        prefix: Prefix,
    },
    AddrDel {
        dev: String,
        prefix: Prefix,
        explicit_len: bool,
        arg: String,
    },
    RouteShow {
        dev: Option<String>,
    },
    RouteFlush {
        dev: Option<String>,
    },
    RouteAdd(RouteSpec),
    RouteDel(RouteSpec),
    NeighShow {
        dev: Option<String>,
        addr: Option<Ipv4Addr>,
    },
    NeighFlush {
        dev: Option<String>,
        addr: Option<Ipv4Addr>,
    },
    NeighAdd {
        dev: String,
        addr: Ipv4Addr,
        lladdr: Option<[u8; 6]>,
        state: NudState,
        /// `replace`/`change` rather than `add` (NLM_F_EXCL).
        replace: bool,
    },
    NeighDel {
        dev: String,
        addr: Ipv4Addr,
    },
}

/// Parses the global options; returns them, a `--ctl` given among them, and the rest.
fn parse_opts(args: &[String]) -> R<(Opts, Option<PathBuf>, &[String])> {
    let mut o = Opts::default();
    let mut ctl = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(p) = a.strip_prefix("--ctl") {
            if let Some(p) = p.strip_prefix('=') {
                ctl = Some(PathBuf::from(p));
            } else if p.is_empty() {
                i += 1;
                let p = args.get(i).ok_or_else(|| incomplete("."))?;
                ctl = Some(PathBuf::from(p));
            } else {
                return Err(unknown_option(a));
            }
            i += 1;
            continue;
        }
        // iproute2 accepts `--json` as `-json`.
        let opt = if a.starts_with("--") { &a[1..] } else { a };
        if opt == "-4" {
        } else if opt == "-6" {
            return Err(fail(255, "linnet ip: IPv6 is not supported yet"));
        } else if matches(opt, "-stats") || matches(opt, "-statistics") {
            o.stats = true;
        } else if matches(opt, "-json") {
            o.json = true;
        } else if matches(opt, "-pretty") {
            o.pretty = true;
        } else if opt == "-V" || matches(opt, "-Version") {
            return Ok((o, ctl, &[]));
        } else if matches(opt, "-help") {
            return Ok((o, ctl, &args[i..i]));
        } else {
            return Err(unknown_option(a));
        }
        i += 1;
    }
    Ok((o, ctl, &args[i..]))
}

fn unknown_option(a: &str) -> Failure {
    fail(255, format!("Option \"{a}\" is unknown, try \"ip -help\"."))
}

fn is_show(c: &str) -> bool {
    matches(c, "show") || matches(c, "list") || matches(c, "lst")
}

/// `[dev] NAME` and `up` filters of `show`.
fn parse_dev_filter(args: &[String], allow_bare: bool) -> R<(Option<String>, bool)> {
    let mut dev = None;
    let mut up = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "up" => up = true,
            "dev" => {
                let d = next(&mut it, "dev")?;
                if dev.is_some() {
                    return Err(garbage("dev", d));
                }
                dev = Some(d.to_string());
            }
            "table" => {
                let t = next(&mut it, "table")?;
                if t != "main" && t != "254" {
                    return Err(unsupported(&format!("routing table \"{t}\"")));
                }
            }
            d if allow_bare && dev.is_none() => dev = Some(d.to_string()),
            d => return Err(garbage("dev", d)),
        }
    }
    Ok((dev, up))
}

fn parse(args: &[String]) -> R<(Opts, Option<PathBuf>, Cmd)> {
    let (opts, ctl, rest) = parse_opts(args)?;
    if rest.is_empty() {
        let cmd = if args.iter().any(|a| a == "-V" || matches(a, "-Version")) {
            Cmd::Version
        } else {
            Cmd::Usage
        };
        return Ok((opts, ctl, cmd));
    }
    let obj = rest[0].as_str();
    let args = &rest[1..];
    let cmd = if matches(obj, "address") {
        parse_addr(args)?
    } else if matches(obj, "route") {
        parse_route(args)?
    } else if matches(obj, "neighbor") || matches(obj, "neighbour") {
        parse_neigh(args)?
    } else if matches(obj, "link") {
        parse_link(args)?
    } else if matches(obj, "help") {
        Cmd::Usage
    } else {
        return Err(fail(
            1,
            format!("Object \"{obj}\" is unknown, try \"ip help\"."),
        ));
    };
    Ok((opts, ctl, cmd))
}

fn parse_link(args: &[String]) -> R<Cmd> {
    let Some(c) = args.first() else {
        return Ok(Cmd::LinkShow {
            dev: None,
            up: false,
        });
    };
    let args = &args[1..];
    if is_show(c) {
        let (dev, up) = parse_dev_filter(args, true)?;
        return Ok(Cmd::LinkShow { dev, up });
    }
    if matches(c, "set") || matches(c, "change") {
        let mut dev = None;
        let (mut up, mut mtu, mut arp) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "up" => up = Some(true),
                "down" => up = Some(false),
                "mtu" => {
                    let m = next(&mut it, "mtu")?;
                    mtu = Some(m.parse().map_err(|_| invarg("Invalid \"mtu\" value", m))?);
                }
                "arp" => {
                    let v = next(&mut it, "arp")?;
                    arp = Some(match v {
                        "on" => true,
                        "off" => false,
                        _ => return Err(invarg("\"arp\" value is invalid", v)),
                    });
                }
                "dev" => {
                    let d = next(&mut it, "dev")?;
                    if dev.is_some() {
                        return Err(garbage("dev", d));
                    }
                    dev = Some(d.to_string());
                }
                "address" | "name" | "txqueuelen" | "txqlen" | "qlen" | "promisc" | "multicast"
                | "alias" | "master" | "nomaster" | "netns" | "group" => {
                    return Err(unsupported(&format!("\"ip link set {a}\"")))
                }
                d if dev.is_none() => dev = Some(d.to_string()),
                d => return Err(garbage("dev", d)),
            }
        }
        let Some(dev) = dev else {
            return Err(fail(
                255,
                "Not enough information: \"dev\" argument is required.",
            ));
        };
        return Ok(Cmd::LinkSet { dev, up, mtu, arp });
    }
    if matches(c, "add") {
        // ip link add [name] NAME [mtu N] type dummy
        let (mut name, mut mtu, mut ty) = (None, None, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "name" => name = Some(next(&mut it, "name")?.to_string()),
                "mtu" => {
                    let m = next(&mut it, "mtu")?;
                    mtu = Some(m.parse().map_err(|_| invarg("Invalid \"mtu\" value", m))?);
                }
                "type" => ty = Some(next(&mut it, "type")?.to_string()),
                d if name.is_none() => name = Some(d.to_string()),
                d => return Err(garbage("name", d)),
            }
        }
        let Some(name) = name else {
            return Err(fail(
                255,
                "Not enough information: \"dev\" argument is required.",
            ));
        };
        return match ty.as_deref() {
            Some("dummy") => Ok(Cmd::LinkAddDummy { name, mtu }),
            Some(t) => Err(unsupported(&format!("link type \"{t}\" (only \"dummy\")"))),
            None => Err(fail(
                2,
                "Not enough information: \"type\" argument is required.",
            )),
        };
    }
    if matches(c, "delete") {
        let mut it = args.iter();
        let dev = match it.next().map(String::as_str) {
            Some("dev") => next(&mut it, "dev")?.to_string(),
            Some(d) => d.to_string(),
            None => {
                return Err(fail(
                    255,
                    "Not enough information: \"dev\" argument is required.",
                ))
            }
        };
        return Ok(Cmd::LinkDel { dev });
    }
    if matches(c, "help") {
        return Ok(Cmd::Usage);
    }
    Err(fail(
        255,
        format!("Command \"{c}\" is unknown, try \"ip link help\"."),
    ))
}

fn parse_addr(args: &[String]) -> R<Cmd> {
    let Some(c) = args.first() else {
        return Ok(Cmd::AddrShow {
            dev: None,
            up: false,
        });
    };
    let args = &args[1..];
    if matches(c, "add") || matches(c, "replace") || matches(c, "change") || matches(c, "delete") {
        let mut local: Option<(Prefix, bool, String)> = None;
        let mut dev = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "dev" => {
                    let d = next(&mut it, "dev")?;
                    if dev.is_some() {
                        return Err(garbage("dev", d));
                    }
                    dev = Some(d.to_string());
                }
                "brd" | "broadcast" | "label" | "scope" => {
                    next(&mut it, a)?;
                }
                "peer" | "remote" | "anycast" | "valid_lft" | "preferred_lft" | "metric" => {
                    return Err(unsupported(&format!("address attribute \"{a}\"")));
                }
                _ => {
                    let p = if a == "local" {
                        next(&mut it, "local")?
                    } else {
                        a.as_str()
                    };
                    if local.is_some() {
                        return Err(garbage("local", p));
                    }
                    let (prefix, explicit) = get_prefix(p)?;
                    local = Some((prefix, explicit, p.to_string()));
                }
            }
        }
        let Some(dev) = dev else {
            return Err(fail(
                1,
                "Not enough information: \"dev\" argument is required.",
            ));
        };
        let Some((prefix, explicit_len, arg)) = local else {
            return Err(incomplete("."));
        };
        return Ok(if matches(c, "delete") {
            Cmd::AddrDel {
                dev,
                prefix,
                explicit_len,
                arg,
            }
        } else {
            Cmd::AddrAdd { dev, prefix }
        });
    }
    if is_show(c) {
        let (dev, up) = parse_dev_filter(args, true)?;
        return Ok(Cmd::AddrShow { dev, up });
    }
    if matches(c, "flush") {
        if args.is_empty() {
            return Err(fail(255, "Flush requires arguments."));
        }
        let (dev, _) = parse_dev_filter(args, true)?;
        let Some(dev) = dev else {
            return Err(fail(255, "Flush requires arguments."));
        };
        return Ok(Cmd::AddrFlush { dev });
    }
    if matches(c, "help") {
        return Ok(Cmd::Usage);
    }
    Err(fail(
        255,
        format!("Command \"{c}\" is unknown, try \"ip address help\"."),
    ))
}

fn parse_route(args: &[String]) -> R<Cmd> {
    let Some(c) = args.first() else {
        return Ok(Cmd::RouteShow { dev: None });
    };
    let args = &args[1..];
    if matches(c, "add") || matches(c, "append") {
        return Ok(Cmd::RouteAdd(parse_route_spec(args)?));
    }
    if matches(c, "delete") {
        return Ok(Cmd::RouteDel(parse_route_spec(args)?));
    }
    if is_show(c) {
        let (dev, _) = parse_dev_filter(args, false)?;
        return Ok(Cmd::RouteShow { dev });
    }
    if matches(c, "flush") {
        if args.is_empty() {
            return Err(fail(255, "\"ip route flush\" requires arguments."));
        }
        let (dev, _) = parse_dev_filter(args, false)?;
        return Ok(Cmd::RouteFlush { dev });
    }
    if matches(c, "replace") || matches(c, "change") || matches(c, "get") {
        return Err(unsupported(&format!("\"ip route {c}\"")));
    }
    if matches(c, "help") {
        return Ok(Cmd::Usage);
    }
    Err(fail(
        255,
        format!("Command \"{c}\" is unknown, try \"ip route help\"."),
    ))
}

fn parse_neigh(args: &[String]) -> R<Cmd> {
    let Some(c) = args.first() else {
        return Ok(Cmd::NeighShow {
            dev: None,
            addr: None,
        });
    };
    let args = &args[1..];
    let modify = matches(c, "add")
        || matches(c, "replace")
        || matches(c, "change")
        || matches(c, "chg")
        || matches(c, "delete");
    if modify {
        let mut dev = None;
        let mut addr = None;
        let mut lladdr = None;
        let mut state = NudState::Permanent;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "lladdr" => {
                    let m = next(&mut it, "lladdr")?;
                    if lladdr.is_some() {
                        return Err(garbage("lladdr", m));
                    }
                    let mac: EthernetAddress = m
                        .parse()
                        .map_err(|_| fail(1, format!("\"{m}\" is invalid lladdr.")))?;
                    lladdr = Some(mac.0);
                }
                "nud" => {
                    let s = next(&mut it, "nud")?;
                    state = NudState::from_name(s).ok_or_else(|| invarg("nud state is bad", s))?;
                }
                "dev" => {
                    let d = next(&mut it, "dev")?;
                    if dev.is_some() {
                        return Err(garbage("dev", d));
                    }
                    dev = Some(d.to_string());
                }
                "proxy" | "router" | "extern_learn" | "use" | "managed" => {
                    return Err(unsupported(&format!("neighbour flag \"{a}\"")));
                }
                _ => {
                    let p = if a == "to" {
                        next(&mut it, "to")?
                    } else {
                        a.as_str()
                    };
                    if addr.is_some() {
                        return Err(garbage("to", p));
                    }
                    addr = Some(get_addr(p)?);
                }
            }
        }
        let (Some(dev), Some(addr)) = (dev, addr) else {
            return Err(fail(255, "Device and destination are required arguments."));
        };
        return Ok(if matches(c, "delete") {
            Cmd::NeighDel { dev, addr }
        } else {
            Cmd::NeighAdd {
                dev,
                addr,
                lladdr,
                state,
                replace: !matches(c, "add"),
            }
        });
    }
    let show = is_show(c);
    if show || matches(c, "flush") {
        let mut dev = None;
        let mut addr = None;
        let mut all = false;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "dev" => {
                    let d = next(&mut it, "dev")?;
                    if dev.is_some() {
                        return Err(garbage("dev", d));
                    }
                    dev = Some(d.to_string());
                }
                "all" => all = true,
                _ => {
                    let p = if a == "to" {
                        next(&mut it, "to")?
                    } else {
                        a.as_str()
                    };
                    if addr.is_some() {
                        return Err(garbage("to", p));
                    }
                    addr = Some(get_addr(p)?);
                }
            }
        }
        if show {
            return Ok(Cmd::NeighShow { dev, addr });
        }
        if dev.is_none() && addr.is_none() && !all {
            return Err(fail(255, "Flush requires arguments."));
        }
        return Ok(Cmd::NeighFlush { dev, addr });
    }
    if matches(c, "help") {
        return Ok(Cmd::Usage);
    }
    Err(fail(
        255,
        format!("Command \"{c}\" is unknown, try \"ip neigh help\"."),
    ))
}

/// Runs `linnet ip` with `args`; returns the exit status.
pub fn run(args: &IpArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(args, out, err) {
        Ok(()) => 0,
        Err(f) => {
            if !f.msg.is_empty() {
                let _ = writeln!(err, "{}", f.msg);
            }
            f.code
        }
    }
}

fn run_inner(args: &IpArgs, out: &mut dyn Write, err: &mut dyn Write) -> R<()> {
    let (opts, ctl, cmd) = parse(&args.args)?;
    match cmd {
        Cmd::Usage => {
            let _ = write!(err, "{USAGE}");
            return Err(fail(255, ""));
        }
        Cmd::Version => {
            let _ = writeln!(out, "ip utility, linnet-{}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        _ => {}
    }
    let ctl = ctl.or_else(|| args.ctl.clone());
    let client = tool::connect(ctl.as_deref()).map_err(|e| fail(1, format!("linnet ip: {e}")))?;
    let mut ip = Ip {
        client,
        opts,
        links: None,
        out,
        err,
    };
    ip.exec(cmd)
}

/// One `ip` invocation on a daemon connection.
struct Ip<'a> {
    client: Client,
    opts: Opts,
    links: Option<Vec<LinkInfo>>,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

fn transport(e: ClientError) -> Failure {
    match e {
        ClientError::Remote { errno, .. } => rtnl(errno),
        e => fail(1, format!("linnet ip: {e}")),
    }
}

impl Ip<'_> {
    fn ctl(&mut self, req: CtlRequest) -> R<CtlResponse> {
        self.client.ctl(req).map_err(transport)
    }

    fn links(&mut self) -> R<Vec<LinkInfo>> {
        if let Some(l) = &self.links {
            return Ok(l.clone());
        }
        match self.ctl(CtlRequest::LinkList)? {
            CtlResponse::Links(l) => {
                self.links = Some(l.clone());
                Ok(l)
            }
            r => Err(protocol(&r)),
        }
    }

    /// `ll_name_to_index`: `Cannot find device "X"` (exit 1) when it does not exist.
    fn need_dev(&mut self, name: &str) -> R<LinkInfo> {
        self.links()?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| no_device(name))
    }

    fn addrs(&mut self) -> R<Vec<AddrInfo>> {
        match self.ctl(CtlRequest::AddrList)? {
            CtlResponse::Addrs(a) => Ok(a),
            r => Err(protocol(&r)),
        }
    }

    fn routes(&mut self) -> R<Vec<RouteInfo>> {
        match self.ctl(CtlRequest::RouteList)? {
            CtlResponse::Routes(r) => Ok(r),
            r => Err(protocol(&r)),
        }
    }

    fn neighs(&mut self) -> R<Vec<NeighInfo>> {
        match self.ctl(CtlRequest::NeighList)? {
            CtlResponse::Neighs(n) => Ok(n),
            r => Err(protocol(&r)),
        }
    }

    fn print(&mut self, text: String) -> R<()> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| fail(1, format!("linnet ip: stdout: {e}")))
    }

    fn print_json(&mut self, json: String) -> R<()> {
        let text = if self.opts.pretty {
            let v: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| fail(1, e.to_string()))?;
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&v, &mut ser).map_err(|e| fail(1, e.to_string()))?;
            String::from_utf8_lossy(&buf).into_owned()
        } else {
            json
        };
        self.print(text + "\n")
    }

    /// The links a `show` lists: all, or the one named (`Device "X" does not exist.`).
    fn shown_links(&mut self, dev: &Option<String>, up: bool) -> R<Vec<LinkInfo>> {
        let mut links = self.links()?;
        if let Some(d) = dev {
            links.retain(|l| &l.name == d);
            if links.is_empty() {
                return Err(fail(1, format!("Device \"{d}\" does not exist.")));
            }
        }
        if up {
            links.retain(|l| l.flags & DevFlags::UP.0 != 0);
        }
        Ok(links)
    }

    fn exec(&mut self, cmd: Cmd) -> R<()> {
        match cmd {
            Cmd::Usage | Cmd::Version => Ok(()),
            Cmd::LinkShow { dev, up } => {
                let links = self.shown_links(&dev, up)?;
                if self.opts.json {
                    self.print_json(render::ip_link_json(&links))
                } else {
                    self.print(render::ip_link(&links, self.opts.stats))
                }
            }
            Cmd::LinkAddDummy { name, mtu } => {
                self.ctl(CtlRequest::LinkAddDummy { name, mtu }).map(drop)
            }
            Cmd::LinkDel { dev } => {
                self.need_dev(&dev)?;
                self.ctl(CtlRequest::LinkDel { dev }).map(drop)
            }
            Cmd::LinkSet { dev, up, mtu, arp } => {
                self.need_dev(&dev)?;
                let r = self.client.ctl(CtlRequest::LinkSet { dev, up, mtu, arp });
                match r {
                    Ok(_) => Ok(()),
                    Err(ClientError::Remote { errno, .. }) if errno == libc::EINVAL => match mtu {
                        Some(m) if m < 68 => Err(extack("mtu less than device minimum.")),
                        Some(_) => Err(extack("mtu greater than device maximum.")),
                        None => Err(rtnl(errno)),
                    },
                    Err(e) => Err(transport(e)),
                }
            }
            Cmd::AddrShow { dev, up } => {
                let links = self.shown_links(&dev, up)?;
                let addrs = self.addrs()?;
                if self.opts.json {
                    self.print_json(render::ip_addr_json(&links, &addrs))
                } else {
                    self.print(render::ip_addr(&links, &addrs))
                }
            }
            Cmd::AddrAdd { dev, prefix } => {
                self.need_dev(&dev)?;
                self.ctl(CtlRequest::AddrAdd { dev, prefix }).map(drop)
            }
            Cmd::AddrDel {
                dev,
                mut prefix,
                explicit_len,
                arg,
            } => {
                self.need_dev(&dev)?;
                if !explicit_len {
                    // Linux deletes the first address that matches whatever its length.
                    if let Some(a) = self
                        .addrs()?
                        .into_iter()
                        .find(|a| a.dev == dev && a.prefix.addr == prefix.addr)
                    {
                        prefix.len = a.prefix.len;
                    }
                    let _ = write!(
                        self.err,
                        "Warning: Executing wildcard deletion to stay compatible with old \
                         scripts.\n         Explicitly specify the prefix length ({arg}/{}) to \
                         avoid this warning.\n         This special behaviour is likely to \
                         disappear in further releases,\n         fix your scripts!\n",
                        prefix.len
                    );
                }
                self.ctl(CtlRequest::AddrDel { dev, prefix }).map(drop)
            }
            Cmd::AddrFlush { dev } => {
                self.need_dev(&dev)?;
                for a in self.addrs()?.into_iter().filter(|a| a.dev == dev) {
                    self.ctl(CtlRequest::AddrDel {
                        dev: dev.clone(),
                        prefix: a.prefix,
                    })?;
                }
                Ok(())
            }
            Cmd::RouteShow { dev } => {
                if let Some(d) = &dev {
                    self.need_dev(d)?;
                }
                let mut routes = self.routes()?;
                if let Some(d) = &dev {
                    routes.retain(|r| &r.dev == d);
                }
                if self.opts.json {
                    self.print_json(render::ip_route_json(&routes, dev.is_some()))
                } else {
                    self.print(render::ip_route(&routes, dev.is_some()))
                }
            }
            Cmd::RouteFlush { dev } => {
                if let Some(d) = &dev {
                    self.need_dev(d)?;
                }
                let routes = self.routes()?;
                for r in routes
                    .into_iter()
                    .filter(|r| dev.as_ref().is_none_or(|d| &r.dev == d))
                {
                    let dev = Some(r.dev.clone());
                    let metric = Some(r.metric);
                    self.ctl(CtlRequest::RouteDel {
                        dst: r.dst,
                        via: r.gateway,
                        dev,
                        metric,
                    })?;
                }
                Ok(())
            }
            Cmd::RouteAdd(spec) => {
                if let Some(d) = &spec.dev {
                    self.need_dev(d)?;
                }
                match self.client.ctl(spec.add_request()) {
                    Ok(_) => Ok(()),
                    Err(ClientError::Remote { errno, .. }) if errno == libc::ENETUNREACH => {
                        Err(extack("Nexthop has invalid gateway."))
                    }
                    Err(e) => Err(transport(e)),
                }
            }
            Cmd::RouteDel(spec) => {
                if let Some(d) = &spec.dev {
                    self.need_dev(d)?;
                }
                self.ctl(CtlRequest::RouteDel {
                    dst: spec.dst,
                    via: spec.via,
                    dev: spec.dev.clone(),
                    // fib_table_delete: metric 0 matches any.
                    metric: (spec.metric != 0).then_some(spec.metric),
                })
                .map(drop)
            }
            Cmd::NeighShow { dev, addr } => {
                if let Some(d) = &dev {
                    self.need_dev(d)?;
                }
                let mut n = self.neighs()?;
                n.retain(|n| {
                    dev.as_ref().is_none_or(|d| &n.dev == d) && addr.is_none_or(|a| n.addr == a)
                });
                if self.opts.json {
                    self.print_json(render::ip_neigh_json(&n, dev.is_some()))
                } else {
                    self.print(render::ip_neigh(&n, dev.is_some()))
                }
            }
            Cmd::NeighFlush { dev, addr } => {
                let devs: Vec<String> = match &dev {
                    Some(d) => vec![self.need_dev(d)?.name],
                    None => self.links()?.into_iter().map(|l| l.name).collect(),
                };
                match addr {
                    // One address: delete it wherever it is not permanent.
                    Some(a) => {
                        for n in self.neighs()? {
                            let flushable =
                                n.state != NudState::Permanent && n.state != NudState::Noarp;
                            if n.addr == a && devs.contains(&n.dev) && flushable {
                                self.ctl(CtlRequest::NeighDel {
                                    dev: n.dev,
                                    addr: a,
                                })?;
                            }
                        }
                    }
                    None => {
                        for d in devs {
                            self.ctl(CtlRequest::NeighFlush { dev: d })?;
                        }
                    }
                }
                Ok(())
            }
            Cmd::NeighAdd {
                dev,
                addr,
                lladdr,
                state,
                replace,
            } => {
                self.need_dev(&dev)?;
                self.ctl(CtlRequest::NeighAdd {
                    dev,
                    addr,
                    lladdr,
                    state,
                    replace,
                })
                .map(drop)
            }
            Cmd::NeighDel { dev, addr } => {
                self.need_dev(&dev)?;
                self.ctl(CtlRequest::NeighDel { dev, addr }).map(drop)
            }
        }
    }
}

fn protocol(r: &CtlResponse) -> Failure {
    fail(
        1,
        format!("linnet ip: unexpected answer from the daemon: {r:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn p(a: [u8; 4], len: u8) -> Prefix {
        Prefix {
            addr: a.into(),
            len,
        }
    }

    fn cmd(s: &str) -> R<Cmd> {
        parse(&v(s)).map(|(_, _, c)| c)
    }

    #[test]
    fn objects_and_commands_abbreviate_like_iproute2() {
        assert_eq!(
            cmd("a").unwrap(),
            Cmd::AddrShow {
                dev: None,
                up: false
            }
        );
        assert_eq!(cmd("r s").unwrap(), Cmd::RouteShow { dev: None });
        assert_eq!(
            cmd("n").unwrap(),
            Cmd::NeighShow {
                dev: None,
                addr: None
            }
        );
        assert_eq!(
            cmd("l sh dev eth0").unwrap(),
            Cmd::LinkShow {
                dev: Some("eth0".into()),
                up: false
            }
        );
        assert_eq!(
            cmd("addr list eth0 up").unwrap(),
            Cmd::AddrShow {
                dev: Some("eth0".into()),
                up: true
            }
        );
        let (o, ctl, _) = parse(&v("-j -s -p --ctl /x.sock link")).unwrap();
        assert!(o.json && o.stats && o.pretty);
        assert_eq!(ctl, Some(PathBuf::from("/x.sock")));
    }

    #[test]
    fn addr_add_and_del_parse_prefixes() {
        assert_eq!(
            cmd("addr add 10.0.0.1/24 dev eth0").unwrap(),
            Cmd::AddrAdd {
                dev: "eth0".into(),
                prefix: p([10, 0, 0, 1], 24)
            }
        );
        assert_eq!(
            cmd("a a local 10.0.0.1 brd + dev eth0").unwrap(),
            Cmd::AddrAdd {
                dev: "eth0".into(),
                prefix: p([10, 0, 0, 1], 32)
            }
        );
        assert_eq!(
            cmd("addr del 10.0.0.1 dev eth0").unwrap(),
            Cmd::AddrDel {
                dev: "eth0".into(),
                prefix: p([10, 0, 0, 1], 32),
                explicit_len: false,
                arg: "10.0.0.1".into()
            }
        );
    }

    #[test]
    fn routes_parse_default_via_dev_metric() {
        assert_eq!(
            cmd("route add default via 10.0.0.254").unwrap(),
            Cmd::RouteAdd(RouteSpec {
                dst: p([0, 0, 0, 0], 0),
                via: Some([10, 0, 0, 254].into()),
                dev: None,
                metric: 0
            })
        );
        assert_eq!(
            parse_route_spec(&v("10.1.0.0/16 dev eth1 metric 5 table main")).unwrap(),
            RouteSpec {
                dst: p([10, 1, 0, 0], 16),
                via: None,
                dev: Some("eth1".into()),
                metric: 5
            }
        );
    }

    #[test]
    fn link_add_dummy_and_delete_parse_like_iproute2() {
        assert_eq!(
            cmd("link add d0 type dummy").unwrap(),
            Cmd::LinkAddDummy {
                name: "d0".into(),
                mtu: None
            }
        );
        assert_eq!(
            cmd("link add name d0 mtu 9000 type dummy").unwrap(),
            Cmd::LinkAddDummy {
                name: "d0".into(),
                mtu: Some(9000)
            }
        );
        assert_eq!(
            cmd("link del dev d0").unwrap(),
            Cmd::LinkDel { dev: "d0".into() }
        );
        assert_eq!(
            cmd("link delete d0").unwrap(),
            Cmd::LinkDel { dev: "d0".into() }
        );
        assert!(cmd("link add v0 type veth").is_err());
    }

    #[test]
    fn neigh_add_defaults_to_permanent() {
        assert_eq!(
            cmd("neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0").unwrap(),
            Cmd::NeighAdd {
                dev: "eth0".into(),
                addr: [10, 0, 0, 2].into(),
                lladdr: Some([2, 0, 0, 0, 0, 2]),
                state: NudState::Permanent,
                replace: false,
            }
        );
        assert_eq!(
            cmd("neigh replace 10.0.0.2 lladdr 2:0:0:0:0:2 dev eth0 nud stale").unwrap(),
            Cmd::NeighAdd {
                dev: "eth0".into(),
                addr: [10, 0, 0, 2].into(),
                lladdr: Some([2, 0, 0, 0, 0, 2]),
                state: NudState::Stale,
                replace: true,
            }
        );
        assert_eq!(
            cmd("neigh flush all").unwrap(),
            Cmd::NeighFlush {
                dev: None,
                addr: None
            }
        );
    }

    /// iproute2's messages and exit statuses for bad command lines.
    #[test]
    fn syntax_errors_print_iproute2_messages_and_statuses() {
        let e = cmd("addr add 10.0.0.300/24 dev eth0").unwrap_err();
        assert_eq!(
            e,
            fail(
                1,
                "Error: any valid prefix is expected rather than \"10.0.0.300/24\"."
            )
        );
        let e = cmd("addr add 10.0.0.1/24").unwrap_err();
        assert_eq!(
            e,
            fail(1, "Not enough information: \"dev\" argument is required.")
        );
        let e = cmd("foo").unwrap_err();
        assert_eq!(e, fail(1, "Object \"foo\" is unknown, try \"ip help\"."));
        let e = cmd("addr frob").unwrap_err();
        assert_eq!(e.code, 255);
        assert_eq!(
            e.msg,
            "Command \"frob\" is unknown, try \"ip address help\"."
        );
        let e = cmd("route add 10.0.0.0/24 via 1.2.3.4 via 1.2.3.5").unwrap_err();
        assert_eq!(
            e,
            fail(
                255,
                "Error: either \"via\" is duplicate, or \"1.2.3.5\" is a garbage."
            )
        );
        let e = cmd("route add 10.0.0.1/24 dev eth0").unwrap_err();
        assert_eq!(e, fail(2, "Error: Invalid prefix for given prefix length."));
        let e = cmd("link set eth0 mtu big").unwrap_err();
        assert_eq!(
            e,
            fail(
                255,
                "Error: argument \"big\" is wrong: Invalid \"mtu\" value"
            )
        );
        let e = cmd("neigh add 10.0.0.2 lladdr zz dev eth0").unwrap_err();
        assert_eq!(e, fail(1, "\"zz\" is invalid lladdr."));
        let e = cmd("neigh flush").unwrap_err();
        assert_eq!(e, fail(255, "Flush requires arguments."));
        let e = cmd("-x link").unwrap_err();
        assert_eq!(e, fail(255, "Option \"-x\" is unknown, try \"ip -help\"."));
    }
}
