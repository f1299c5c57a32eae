//! The pcap captures read cleanly in the real tcpdump (Debian package `tcpdump`).
//!
//! Without tcpdump the test is skipped, except under `CI=true`, where it fails.

mod common;

use std::net::SocketAddrV4;
use std::process::Command;

use common::{two_hosts, udp_bound, TwoHosts, A_IP, B_IP};
use linnet_core::{Duration, Instant};
use linnet_testkit::LinkConfig;

fn tcpdump_available() -> bool {
    match Command::new("tcpdump").arg("--version").output() {
        Ok(o) => o.status.success(),
        Err(_) => false,
    }
}

#[test]
fn pcap_capture_reads_cleanly_in_tcpdump() {
    if !tcpdump_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tcpdump not installed, and CI=true: install it (apt-get install -y tcpdump)");
        }
        println!("skipping: tcpdump not installed");
        return;
    }
    let cfg = LinkConfig {
        latency: Duration::from_millis(3),
        jitter: Duration::from_millis(1),
        loss: 0.05,
        duplicate: 0.05,
        reorder: 0.05,
        ..LinkConfig::default()
    };
    let TwoHosts {
        mut net,
        a,
        b,
        link,
    } = two_hosts(17, cfg);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link0.pcap");
    net.capture(link.id, &path).unwrap();

    let sa = udp_bound(&mut net, a, A_IP, 40000);
    let sb = udp_bound(&mut net, b, B_IP, 7);
    for i in 0..20u16 {
        net.schedule(Instant::from_millis(50 * u64::from(i)), move |net| {
            net.stack_mut(a)
                .ping_send(B_IP, 3, i, None, &[i as u8; 56])
                .unwrap();
            let payload = vec![b'x'; 1 + usize::from(i) * 60];
            let to = Some(SocketAddrV4::new(B_IP, 7));
            net.stack_mut(a).udp_send_to(sa, &payload, to).unwrap();
            let to = Some(SocketAddrV4::new(A_IP, 40000));
            net.stack_mut(b).udp_send_to(sb, b"reply", to).unwrap();
        });
    }
    // A datagram to a closed port draws an ICMP port unreachable.
    net.schedule(Instant::from_millis(1100), move |net| {
        net.stack_mut(a)
            .udp_send_to(sa, b"nobody", Some(SocketAddrV4::new(B_IP, 9)))
            .unwrap();
    });
    // A datagram larger than the MTU leaves in fragments.
    net.schedule(Instant::from_millis(1200), move |net| {
        let to = Some(SocketAddrV4::new(B_IP, 7));
        net.stack_mut(a).udp_send_to(sa, &[7; 4000], to).unwrap();
    });
    net.run_for(Duration::from_secs(3)).unwrap();
    let frames = net.stop_capture(link.id).unwrap();
    assert_eq!(frames, net.link_stats(link.id).sent);

    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(&path)
        .args(["-nn", "-vv"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if std::env::var("LINNET_SHOW_TCPDUMP").is_ok() {
        eprintln!("{stdout}\n{stderr}");
    }
    assert!(out.status.success(), "tcpdump failed: {stderr}\n{stdout}");
    let packets = stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('\t'))
        .count();
    assert!(packets >= 60, "only {packets} packets:\n{stdout}");
    assert_eq!(packets as u64, frames, "{stdout}");
    for line in stdout.lines() {
        let l = line.to_ascii_lowercase();
        for bad in ["bad cksum", "truncated", "[|", "malformed", "wrong"] {
            assert!(
                !l.contains(bad),
                "tcpdump complains ({bad}): {line}\n{stdout}"
            );
        }
    }
    assert!(stdout.contains("ICMP echo request"), "{stdout}");
    assert!(stdout.contains("udp port 9 unreachable"), "{stdout}");
    assert!(
        stdout.contains("Request who-has 10.0.0.2 tell 10.0.0.1"),
        "{stdout}"
    );
}
