//! `linnet ss`'s renderer and command line against iproute2's `ss`.
//!
//! Every expected string below is the output of the real `ss` (iproute2 6.1.0, Linux
//! 6.18) piped through a file, captured in a fresh network namespace (`unshare -n`, `lo`
//! up) holding only the sockets of a small Python script: a listener on 127.0.0.1:60000
//! (backlog 5), one on 127.0.0.1:22 (backlog 128), a connection 127.0.0.1:50000 ->
//! 127.0.0.1:60000 that sent 5 unread bytes, a TIME-WAIT 50002 -> 60000, a keepalive
//! connection 50003 -> 60000, a UDP socket bound to 127.0.0.1:60001 holding one 10-byte
//! datagram and a UDP socket 50001 connected to it. The command is named above each
//! sample. The inputs are the values the kernel answered (read off the samples).
//!
//! Linux: iproute2 misc/ss.c.
//! RFCs: none.

use std::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::tcp::diag::{timer, InetDiagMsg, IPPROTO_TCP, IPPROTO_UDP};
use linnet_core::tcp::{TcpInfo, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE};

use super::*;

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

fn a(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn msg(proto: u8, state: u8, src: u16, dst: Option<u16>, rq: u32, wq: u32) -> InetDiagMsg {
    InetDiagMsg {
        protocol: proto,
        state,
        timer: timer::OFF,
        retrans: 0,
        src: a(LO, src),
        dst: dst.map_or(a(Ipv4Addr::UNSPECIFIED, 0), |p| a(LO, p)),
        expires: 0,
        rqueue: rq,
        wqueue: wq,
        uid: 0,
        inode: 0,
        cookie: 0,
        shutdown: Some(0),
        cong: None,
        info: None,
    }
}

fn tcp(state: u8, src: u16, dst: Option<u16>, rq: u32, wq: u32) -> InetDiagMsg {
    msg(IPPROTO_TCP, state, src, dst, rq, wq)
}

fn udp(state: u8, src: u16, dst: Option<u16>, rq: u32) -> InetDiagMsg {
    msg(IPPROTO_UDP, state, src, dst, rq, 0)
}

/// The namespace's TCP sockets in the kernel's dump order (listeners, then the
/// established hash).
fn tcp_sockets() -> Vec<InetDiagMsg> {
    let mut tw = tcp(6, 50002, Some(60000), 0, 0);
    tw.shutdown = None;
    vec![
        tcp(10, 60000, None, 0, 5),
        tcp(10, 22, None, 0, 128),
        tcp(1, 60000, Some(50003), 0, 0),
        tcp(1, 50000, Some(60000), 0, 0),
        tw,
        tcp(1, 50003, Some(60000), 0, 0),
        tcp(1, 60000, Some(50000), 5, 0),
    ]
}

fn udp_sockets() -> Vec<InetDiagMsg> {
    vec![udp(7, 60001, None, 832), udp(1, 50001, Some(60001), 0)]
}

/// Parses `args`, keeps what the kernel would have answered for the states asked, and
/// renders (no /etc/services unless given).
fn ss_with(args: &str, tcp_in: &[InetDiagMsg], udp_in: &[InetDiagMsg], svc: &Services) -> String {
    let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    let (cmd, _) = parse(&argv).unwrap();
    let Cmd::Show(o) = cmd else { panic!("{cmd:?}") };
    let keep = |v: &[InetDiagMsg]| -> Vec<InetDiagMsg> {
        v.iter()
            .filter(|m| o.states & (1 << m.state) != 0)
            .cloned()
            .collect()
    };
    let dumps: Vec<(Db, Vec<InetDiagMsg>)> = o
        .dbs
        .iter()
        .map(|&db| {
            let v = match db {
                Db::Tcp => keep(tcp_in),
                Db::Udp => keep(udp_in),
                Db::Raw => Vec::new(),
            };
            (db, v)
        })
        .collect();
    render(&o, &dumps, svc)
}

fn ss(args: &str) -> String {
    ss_with(args, &tcp_sockets(), &udp_sockets(), &Services::default())
}

/// The `cat -A` form of a capture back to bytes: `$` ends a line, `^I` is a tab.
fn uncat(s: &str) -> String {
    s.lines()
        .map(|l| l.strip_suffix('$').unwrap_or(l).replace("^I", "\t") + "\n")
        .collect()
}

/// `ss -tn`, `ss -tHn`, `ss -tan`: the columns as wide as their widest entry, Recv-Q and
/// Send-Q padded to 6 (`%-6d`), addresses right-aligned against their ports, the empty
/// Process column padded to its header.
#[test]
fn tcp_views_match_iproute2() {
    // ss -tn
    let expected = uncat(
        "State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
ESTAB 0      0          127.0.0.1:60000    127.0.0.1:50003       $
ESTAB 0      0          127.0.0.1:50000    127.0.0.1:60000       $
ESTAB 0      0          127.0.0.1:50003    127.0.0.1:60000       $
ESTAB 5      0          127.0.0.1:60000    127.0.0.1:50000       $",
    );
    assert_eq!(ss("-tn"), expected);
    // ss -tHn
    let expected = uncat(
        "ESTAB 0      0      127.0.0.1:60000 127.0.0.1:50003$
ESTAB 0      0      127.0.0.1:50000 127.0.0.1:60000$
ESTAB 0      0      127.0.0.1:50003 127.0.0.1:60000$
ESTAB 5      0      127.0.0.1:60000 127.0.0.1:50000$",
    );
    assert_eq!(ss("-tHn"), expected);
    // ss -tan
    let expected = uncat(
        "State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
LISTEN    0      5          127.0.0.1:60000      0.0.0.0:*           $
LISTEN    0      128        127.0.0.1:22         0.0.0.0:*           $
ESTAB     0      0          127.0.0.1:60000    127.0.0.1:50003       $
ESTAB     0      0          127.0.0.1:50000    127.0.0.1:60000       $
TIME-WAIT 0      0          127.0.0.1:50002    127.0.0.1:60000       $
ESTAB     0      0          127.0.0.1:50003    127.0.0.1:60000       $
ESTAB     5      0          127.0.0.1:60000    127.0.0.1:50000       $",
    );
    assert_eq!(ss("-tan"), expected);
    // ss -tn state time-wait: one state asked, so no State column.
    let expected = uncat(
        "Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
0      0          127.0.0.1:50002    127.0.0.1:60000       $",
    );
    assert_eq!(ss("-tn state time-wait"), expected);
}

/// `ss -ltn` shows listeners with the accept queue and backlog; `ss -lt` names port 22
/// from /etc/services and leaves the ephemeral 60000 numeric; `ss -tln state listening`
/// drops the State column.
#[test]
fn listeners_match_iproute2_with_and_without_service_names() {
    // ss -ltn
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess$
LISTEN 0      5          127.0.0.1:60000      0.0.0.0:*          $
LISTEN 0      128        127.0.0.1:22         0.0.0.0:*          $",
    );
    assert_eq!(ss("-ltn"), expected);
    let svc = Services::parse("# comment\nssh\t\t22/tcp\t# SSH\nssh 22/udp\nx 60000/tcp\n");
    // ss -lt
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess$
LISTEN 0      5          127.0.0.1:60000      0.0.0.0:*          $
LISTEN 0      128        127.0.0.1:ssh        0.0.0.0:*          $",
    );
    assert_eq!(ss_with("-lt", &tcp_sockets(), &[], &svc), expected);
    assert_eq!(ss_with("-ltn", &tcp_sockets(), &[], &svc), ss("-ltn"));
    // ss -tln state listening
    let expected = uncat(
        "Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess$
0      5          127.0.0.1:60000      0.0.0.0:*          $
0      128        127.0.0.1:22         0.0.0.0:*          $",
    );
    assert_eq!(ss("-tln state listening"), expected);
}

/// UDP: `ss -uan` (UNCONN with the receive memory as Recv-Q), `ss -un` (connected only,
/// no State column), `ss -tuan` and `ss -tuln` (the Netid column, udp before tcp), and
/// `ss -wn` / `ss -wan` with no raw sockets: the header alone.
#[test]
fn udp_mixed_and_raw_views_match_iproute2() {
    // ss -uan
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
UNCONN 832    0          127.0.0.1:60001      0.0.0.0:*           $
ESTAB  0      0          127.0.0.1:50001    127.0.0.1:60001       $",
    );
    assert_eq!(ss("-uan"), expected);
    // ss -un
    let expected = uncat(
        "Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
0      0          127.0.0.1:50001    127.0.0.1:60001       $",
    );
    assert_eq!(ss("-un"), expected);
    // ss -tuan
    let expected = uncat(
        "Netid State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
udp   UNCONN    832    0          127.0.0.1:60001      0.0.0.0:*           $
udp   ESTAB     0      0          127.0.0.1:50001    127.0.0.1:60001       $
tcp   LISTEN    0      5          127.0.0.1:60000      0.0.0.0:*           $
tcp   LISTEN    0      128        127.0.0.1:22         0.0.0.0:*           $
tcp   ESTAB     0      0          127.0.0.1:60000    127.0.0.1:50003       $
tcp   ESTAB     0      0          127.0.0.1:50000    127.0.0.1:60000       $
tcp   TIME-WAIT 0      0          127.0.0.1:50002    127.0.0.1:60000       $
tcp   ESTAB     0      0          127.0.0.1:50003    127.0.0.1:60000       $
tcp   ESTAB     5      0          127.0.0.1:60000    127.0.0.1:50000       $",
    );
    assert_eq!(ss("-tuan"), expected);
    // ss -tuln
    let expected = uncat(
        "Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess$
udp   UNCONN 832    0          127.0.0.1:60001      0.0.0.0:*          $
tcp   LISTEN 0      5          127.0.0.1:60000      0.0.0.0:*          $
tcp   LISTEN 0      128        127.0.0.1:22         0.0.0.0:*          $",
    );
    assert_eq!(ss("-tuln"), expected);
    // ss -wn, ss -wan
    assert_eq!(
        ss("-wn"),
        uncat("Recv-Q Send-Q Local Address:Port Peer Address:PortProcess$")
    );
    assert_eq!(
        ss("-wan"),
        uncat("State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess$")
    );
}

/// `ss -tano` (captured separately: a TIME-WAIT 51772 -> 60000 and a keepalive connection
/// 51786 -> 60000): the timers in the Process column, whose width ignores the last
/// socket's text; `ss -ue`: `ino:` and `sk:` and the shutdown arrows.
#[test]
fn timers_and_details_match_iproute2() {
    let mut tw = tcp(6, 51772, Some(60000), 0, 0);
    (tw.timer, tw.expires, tw.shutdown) = (timer::TIMEWAIT, 59_400, None);
    let mut ka = tcp(1, 51786, Some(60000), 0, 0);
    (ka.timer, ka.expires) = (timer::KEEPALIVE, 7_199_300);
    let socks = [
        tcp(10, 60000, None, 0, 5),
        tcp(1, 60000, Some(51786), 0, 0),
        tw,
        ka,
    ];
    // ss -tano
    let expected = uncat(
        "State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process                  $
LISTEN    0      5          127.0.0.1:60000      0.0.0.0:*                             $
ESTAB     0      0          127.0.0.1:60000    127.0.0.1:51786                         $
TIME-WAIT 0      0          127.0.0.1:51772    127.0.0.1:60000 timer:(timewait,59sec,0)$
ESTAB     0      0          127.0.0.1:51786    127.0.0.1:60000 timer:(keepalive,119min,0)$",
    );
    assert_eq!(
        ss_with("-tano", &socks, &[], &Services::default()),
        expected
    );
    // ss -ue, less the " cgroup:/" linnet has no cgroups for.
    let real = "Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
0      0          127.0.0.1:50001    127.0.0.1:60001 ino:468722 sk:2c cgroup:/ <->$";
    let mut u = udp_sockets();
    (u[1].inode, u[1].cookie) = (468722, 0x2c);
    assert_eq!(
        ss_with("-ue", &[], &u, &Services::default()),
        uncat(&real.replace(" cgroup:/", ""))
    );
}

/// Drops what linnet's `TCP_INFO` has no figures for from a real `-i` line: BBR's own
/// block, `pacing_rate`, `delivered`, `app_limited`.
fn without_unsupported(real: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut skip_next = false;
    for w in real.split(' ') {
        if skip_next {
            skip_next = false;
            continue;
        }
        if w == "pacing_rate" {
            skip_next = true;
            continue;
        }
        if w.starts_with("bbr:(") || w.starts_with("delivered:") || w == "app_limited" {
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

fn info() -> TcpInfo {
    TcpInfo {
        state: 1,
        ca_state: 0,
        retransmits: 0,
        probes: 0,
        backoff: 0,
        options: TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE,
        snd_wscale: 10,
        rcv_wscale: 10,
        rto: 204_000,
        ato: 0,
        snd_mss: 32768,
        rcv_mss: 536,
        unacked: 0,
        sacked: 0,
        lost: 0,
        retrans: 0,
        last_data_sent: 0,
        last_ack_sent: 0,
        last_data_recv: 0,
        last_ack_recv: 0,
        pmtu: 65535,
        rcv_ssthresh: 0,
        rtt: 0,
        rttvar: 0,
        snd_ssthresh: 0x7fff_ffff,
        snd_cwnd: 10,
        advmss: 65483,
        reordering: 3,
        rcv_rtt: 0,
        rcv_space: 0,
        total_retrans: 0,
        bytes_acked: 0,
        bytes_received: 0,
        segs_out: 0,
        segs_in: 0,
        notsent_bytes: 0,
        min_rtt: u32::MAX,
        data_segs_in: 0,
        data_segs_out: 0,
        delivery_rate: 0,
        bytes_sent: 0,
        bytes_retrans: 0,
        rcv_ooopack: 0,
        snd_wnd: 0,
        rcv_wnd: 0,
    }
}

/// `ss -tin`, `ss -tino`, `ss -ti` on one connection each (selected on the real side with
/// `src`/`dst` filters) and `ss -tlin`: the second line, a tab then tcp_stats_print's
/// fields in its order, `%g` times in ms, `send` from cwnd*mss/rtt (`%.0f` with `-n`,
/// `%.3g` and a unit without), `ts sack` only with `-o`, a listener's line only its
/// congestion control and cwnd.
#[test]
fn tcp_info_lines_match_iproute2() {
    let mut c = tcp(1, 50000, Some(60000), 0, 0);
    c.cong = Some("bbr".into());
    c.info = Some(TcpInfo {
        snd_cwnd: 11,
        rtt: 42,
        rttvar: 23,
        bytes_sent: 5,
        bytes_acked: 6,
        segs_out: 3,
        segs_in: 2,
        data_segs_out: 1,
        last_data_sent: 1240,
        last_data_recv: 1240,
        last_ack_recv: 1240,
        delivery_rate: 21_845_333_328 / 8,
        rcv_space: 65495,
        rcv_ssthresh: 65495,
        min_rtt: 12,
        snd_wnd: 65536,
        ..info()
    });
    // ss -tin src 127.0.0.1:50000
    let real = "State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
ESTAB 0      0          127.0.0.1:50000    127.0.0.1:60000$
^I bbr wscale:10,10 rto:204 rtt:0.042/0.023 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11 bytes_sent:5 bytes_acked:6 segs_out:3 segs_in:2 data_segs_out:1 bbr:(bw:21845328120bps,mrtt:0.012,pacing_gain:2.88672,cwnd_gain:2.88672) send 68656761905bps lastsnd:1240 lastrcv:1240 lastack:1240 pacing_rate 159266224424bps delivery_rate 21845333328bps delivered:2 app_limited rcv_space:65495 rcv_ssthresh:65495 minrtt:0.012 snd_wnd:65536$";
    let got = ss_with("-tin", &[c.clone()], &[], &Services::default());
    assert_eq!(got, without_unsupported(&uncat(real)));

    let mut r = tcp(1, 60000, Some(50000), 5, 0);
    r.cong = Some("bbr".into());
    r.info = Some(TcpInfo {
        rtt: 31,
        rttvar: 15,
        ato: 40_000,
        bytes_received: 5,
        segs_out: 1,
        segs_in: 3,
        data_segs_in: 1,
        last_data_sent: 1260,
        last_data_recv: 1260,
        last_ack_recv: 1260,
        rcv_space: 65483,
        rcv_ssthresh: 65483,
        min_rtt: 31,
        snd_wnd: 65536,
        ..info()
    });
    // ss -tino src 127.0.0.1:60000 dst 127.0.0.1:50000
    let real = "State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
ESTAB 5      0          127.0.0.1:60000    127.0.0.1:50000$
^I ts sack bbr wscale:10,10 rto:204 rtt:0.031/0.015 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_received:5 segs_out:1 segs_in:3 data_segs_in:1 bbr:(bw:0bps,mrtt:0.031) send 84562580645bps lastsnd:1260 lastrcv:1260 lastack:1260 pacing_rate 241667296016bps delivered:1 app_limited rcv_space:65483 rcv_ssthresh:65483 minrtt:0.031 snd_wnd:65536$";
    let got = ss_with("-tino", &[r], &[], &Services::default());
    assert_eq!(got, without_unsupported(&uncat(real)));

    let mut k = tcp(1, 50003, Some(60000), 0, 0);
    k.cong = Some("bbr".into());
    k.info = Some(TcpInfo {
        rto: 200_000,
        rtt: 5,
        rttvar: 2,
        snd_mss: 32741,
        bytes_acked: 1,
        segs_out: 2,
        segs_in: 1,
        last_data_sent: 1284,
        last_data_recv: 1284,
        last_ack_recv: 1284,
        rcv_space: 65495,
        rcv_ssthresh: 65495,
        min_rtt: 5,
        snd_wnd: 65483,
        ..info()
    });
    // ss -ti src 127.0.0.1:50003
    let real = "State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process$
ESTAB 0      0          127.0.0.1:50003    127.0.0.1:60000$
^I bbr wscale:10,10 rto:200 rtt:0.005/0.002 mss:32741 pmtu:65535 rcvmss:536 advmss:65483 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 bbr:(bw:0bps,mrtt:0.005,pacing_gain:1,cwnd_gain:1) send 524Gbps lastsnd:1284 lastrcv:1284 lastack:1284 pacing_rate 1.5Tbps delivered:1 app_limited rcv_space:65495 rcv_ssthresh:65495 minrtt:0.005 snd_wnd:65483$";
    let got = ss_with("-ti", &[k], &[], &Services::default());
    assert_eq!(got, without_unsupported(&uncat(real)));

    // ss -tlin: what tcp_get_info fills for a listener.
    let mut l = tcp_sockets()[..2].to_vec();
    for m in &mut l {
        m.cong = Some("bbr".into());
        m.info = Some(TcpInfo {
            state: 10,
            reordering: 3,
            snd_cwnd: 10,
            sacked: m.wqueue,
            ..zero_info()
        });
    }
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess       $
LISTEN 0      5          127.0.0.1:60000      0.0.0.0:*   $
^I bbr cwnd:10$
LISTEN 0      128        127.0.0.1:22         0.0.0.0:*   $
^I bbr cwnd:10$",
    );
    assert_eq!(ss_with("-tlin", &l, &[], &Services::default()), expected);
}

fn zero_info() -> TcpInfo {
    TcpInfo {
        options: 0,
        snd_wscale: 0,
        rcv_wscale: 0,
        rto: 0,
        snd_mss: 0,
        rcv_mss: 0,
        pmtu: 0,
        snd_ssthresh: 0,
        snd_cwnd: 0,
        advmss: 0,
        min_rtt: 0,
        ..info()
    }
}

/// ss's command line: the default is TCP and UDP in the connected states with a Netid
/// column; `-l` and `-a` set the states, the last one winning; `state`/`exclude` filters;
/// a filter selecting no state prints ss's message and shows nothing.
#[test]
fn command_line_selects_tables_and_states() {
    let p = |s: &str| {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&v).map(|(c, _)| c)
    };
    let Ok(Cmd::Show(o)) = p("") else { panic!() };
    assert_eq!(o.dbs, [Db::Raw, Db::Udp, Db::Tcp]);
    assert_eq!(o.states, SS_CONN);
    let Ok(Cmd::Show(o)) = p("-u -t -l") else {
        panic!()
    };
    assert_eq!(o.dbs, [Db::Udp, Db::Tcp]);
    assert_eq!(o.states, (1 << 10) | (1 << 7));
    let Ok(Cmd::Show(o)) = p("-tla") else {
        panic!()
    };
    assert_eq!(o.states, SS_ALL);
    let Ok(Cmd::Show(o)) = p("--tcp --all --numeric exclude listening") else {
        panic!()
    };
    assert_eq!((o.states, o.numeric), (SS_ALL & !(1 << 10), true));
    let Ok(Cmd::Show(o)) = p("-t state established state close-wait") else {
        panic!()
    };
    assert_eq!(o.states, (1 << 1) | (1 << 8));
    assert_eq!(
        p("-t exclude all"),
        Ok(Cmd::Nothing(
            "ss: no socket states to show with such filter."
        ))
    );
    assert_eq!(p("-V"), Ok(Cmd::Version));
    let (_, ctl) = parse(&["--ctl".into(), "/x.sock".into(), "-t".into()]).unwrap();
    assert_eq!(ctl, Some(PathBuf::from("/x.sock")));
}

/// Bad input: ss's messages and status 255 (`exit(-1)`), the usage after an unknown
/// option; options ss has and linnet cannot honour are named.
#[test]
fn bad_flags_are_refused_with_ss_messages() {
    let p = |s: &str| {
        let v: Vec<String> = s.split_whitespace().map(String::from).collect();
        parse(&v).map(|(c, _)| c)
    };
    let e = p("-tk").unwrap_err();
    assert_eq!(e.code, 255);
    assert!(
        e.msg
            .starts_with("ss: invalid option -- 'k'\nUsage: ss [ OPTIONS ]\n"),
        "{}",
        e.msg
    );
    let e = p("--frob").unwrap_err();
    assert!(e.msg.starts_with("ss: unrecognized option '--frob'\n"));
    assert_eq!(e.code, 255);
    let e = p("-t state bogus").unwrap_err();
    assert_eq!(
        (e.code, e.msg.as_str()),
        (255, "ss: wrong state name: bogus")
    );
    let e = p("-tp").unwrap_err();
    assert_eq!(
        (e.code, e.msg.as_str()),
        (255, "linnet ss: option -p is not supported by linnet")
    );
    let e = p("-t dport = :22").unwrap_err();
    assert_eq!(e.code, 255);
    assert!(e.msg.contains("filter expressions are not supported"));
    let e = p("-t state").unwrap_err();
    assert_eq!(e.code, 255);
}

/// C's `%g` and ss's `print_ms_timer` and `sprint_bw`.
#[test]
fn number_formats_follow_c() {
    assert_eq!(fmt_g(204.0, 6), "204");
    assert_eq!(fmt_g(0.031, 6), "0.031");
    assert_eq!(fmt_g(2.886_718_75, 6), "2.88672");
    assert_eq!(fmt_g(1_234_567.0, 6), "1.23457e+06");
    assert_eq!(fmt_g(0.000_012_5, 6), "1.25e-05");
    assert_eq!(fmt_g(523.856, 3), "524");
    assert_eq!(fmt_g(1.5, 3), "1.5");
    assert_eq!(print_ms_timer(59_400), "59sec");
    assert_eq!(print_ms_timer(7_199_300), "119min");
    assert_eq!(print_ms_timer(204), "204ms");
    assert_eq!(print_ms_timer(1_500), "1.500sec");
    assert_eq!(print_ms_timer(61_000), "1min1sec");
    assert_eq!(print_ms_timer(0), "");
    assert_eq!(sprint_bw(523_856_000_000.0, false), "524G");
    assert_eq!(sprint_bw(1.5e12, false), "1.5T");
    assert_eq!(sprint_bw(999.0, false), "999");
    assert_eq!(sprint_bw(68_656_761_904.76, true), "68656761905");
}

/// The raw sockets of a second capture (`unshare -n`, `lo` up; iproute2 6.1.0 on Linux
/// 6.18), in the order the kernel listed them: IPPROTO_RAW and protocol 253 unbound, a
/// UDP raw socket bound to 127.0.0.1 and connected to 127.0.0.2, a TCP raw socket
/// connected to 127.0.0.1 port 7, an ICMP raw socket unbound. That kernel has no
/// `CONFIG_INET_RAW_DIAG`, so ss read /proc/net/raw, which reports every remote port as 0
/// (`raw_sock_seq_show`); the inputs say what it answered.
fn raw_sockets() -> Vec<InetDiagMsg> {
    let any = Ipv4Addr::UNSPECIFIED;
    let m = |state: u8, src: SocketAddrV4, dst: SocketAddrV4| InetDiagMsg {
        src,
        dst,
        ..msg(src.port() as u8, state, 0, None, 0, 0)
    };
    vec![
        m(7, a(any, 255), a(any, 0)),
        m(7, a(any, 253), a(any, 0)),
        m(1, a(LO, 17), a(Ipv4Addr::new(127, 0, 0, 2), 0)),
        m(1, a(LO, 6), a(LO, 0)),
        m(7, a(any, 1), a(any, 0)),
    ]
}

/// The lines of that machine's /etc/protocols for the numbers above (255 and 253 have
/// none).
const PROTOCOLS: &str = "ip\t0\tIP\t\t# internet protocol, pseudo protocol number
icmp\t1\tICMP\t\t# internet control message protocol
tcp\t6\tTCP\t\t# transmission control protocol
udp\t17\tUDP\t\t# user datagram protocol
";

fn ss_raw(args: &str, svc: &Services) -> String {
    let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    let (cmd, _) = parse(&argv).unwrap();
    let Cmd::Show(o) = cmd else { panic!("{cmd:?}") };
    let v: Vec<InetDiagMsg> = raw_sockets()
        .into_iter()
        .filter(|m| o.states & (1 << m.state) != 0)
        .collect();
    let dumps: Vec<(Db, Vec<InetDiagMsg>)> = o.dbs.iter().map(|&db| (db, v.clone())).collect();
    render(&o, &dumps, svc)
}

/// misc/ss.c `resolve_service` with `dg_proto == RAW_PROTO`: a raw socket's port is its
/// protocol, named by `inet_proto_n2a` (the /etc/protocols name, else `ipproto-N`) unless
/// `-n`, which prints the number; a port 0 is `*` either way.
#[test]
fn raw_views_name_the_protocol_as_iproute2() {
    let svc = Services::default().with_protocols(PROTOCOLS);
    // ss -wa
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port        Peer Address:PortProcess$
UNCONN 0      0            0.0.0.0:ipproto-255      0.0.0.0:*          $
UNCONN 0      0            0.0.0.0:ipproto-253      0.0.0.0:*          $
ESTAB  0      0          127.0.0.1:udp            127.0.0.2:*          $
ESTAB  0      0          127.0.0.1:tcp            127.0.0.1:*          $
UNCONN 0      0            0.0.0.0:icmp             0.0.0.0:*          $",
    );
    assert_eq!(ss_raw("-wa", &svc), expected);
    // ss -wan
    let expected = uncat(
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess$
UNCONN 0      0            0.0.0.0:255       0.0.0.0:*          $
UNCONN 0      0            0.0.0.0:253       0.0.0.0:*          $
ESTAB  0      0          127.0.0.1:17      127.0.0.2:*          $
ESTAB  0      0          127.0.0.1:6       127.0.0.1:*          $
UNCONN 0      0            0.0.0.0:1         0.0.0.0:*          $",
    );
    assert_eq!(ss_raw("-wan", &svc), expected);
    // ss -w
    let expected = uncat(
        "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess$
0      0          127.0.0.1:udp     127.0.0.2:*          $
0      0          127.0.0.1:tcp     127.0.0.1:*          $",
    );
    assert_eq!(ss_raw("-w", &svc), expected);
    // ss -wn
    let expected = uncat(
        "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess$
0      0          127.0.0.1:17      127.0.0.2:*          $
0      0          127.0.0.1:6       127.0.0.1:*          $",
    );
    assert_eq!(ss_raw("-wn", &svc), expected);
    // No /etc/protocols: every protocol is ipproto-N (getprotobynumber finds nothing).
    assert!(ss_raw("-w", &Services::default()).contains("127.0.0.1:ipproto-17 "));
    // The first entry of a number wins.
    let dup = Services::default().with_protocols("first 17 A\nsecond 17 B\n");
    assert!(ss_raw("-w", &dup).contains("127.0.0.1:first "));
}
