#!/usr/bin/env bash
# TCP throughput, side by side in one run (docs/PERFORMANCE.md, "TCP throughput"):
#
#   - single-stream linnet <-> Linux over a TAP device, both directions (linnet sending,
#     linnet receiving): linnet 10.75.0.2 on the TAP, the kernel 10.75.0.1/24;
#   - Linux <-> Linux over a veth pair into a network namespace (10.76.0.1 <-> 10.76.0.2),
#     both directions, with the same client/server code on kernel sockets;
#   - linnet <-> linnet in one process (two runtimes joined by a MemoryDevice pair);
#   - smoltcp's own TAP benchmark (examples/benchmark.rs of the smoltcp crate, version
#     SMOLTCP_VERSION below) against a Linux client, as its README describes: a TAP with
#     192.168.69.100/24 on the host, smoltcp at 192.168.69.1; `reader` mode (the Linux
#     client reads 1 GB: smoltcp sends) and `writer` mode (smoltcp receives).
#
# The linnet/Linux program is crates/linnet/examples/tcp_bench.rs (release build). smoltcp's
# example is built from the crate source cargo downloads into its registry, through a
# throwaway manifest under target/smoltcp-bench/ (nothing of smoltcp is in this repository).
# Each round runs every measurement once (tcp_bench, then smoltcp reader and writer), for
# BENCH_TCP_REPS rounds; the table gives medians and the ratios linnet/Linux and
# linnet/smoltcp. Raw output: target/bench/tcp.txt; table: target/bench/tcp.md.
#
# Usage: sudo bash scripts/bench-tcp.sh        (also run by scripts/bench.sh)
# Needs root, /dev/net/tun and iproute2; without root it says so and exits 0.
# Knobs (environment): BENCH_TCP=0 skips it, BENCH_TCP_REPS=5 (rounds), BENCH_TCP_MB=200
# (MB per linnet/Linux transfer; smoltcp's example always moves 1 GB), BENCH_TCP_SMOLTCP=0
# leaves smoltcp out, BENCH_TCP_SMOLTCP_TIMEOUT=60 (seconds per smoltcp run),
# BENCH_TCP_ARGS="--tcp-wmem 262144" (more flags for tcp_bench: linnet's buffer sizes).
# About 90 s once built with the defaults (smoltcp's 1 GB runs are most of it); the first
# build of the smoltcp example takes about 2 minutes more.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/examples/tcp_bench
REPS=${BENCH_TCP_REPS:-5}
MB=${BENCH_TCP_MB:-200}
SMOLTCP=${BENCH_TCP_SMOLTCP:-1}
SMOLTCP_VERSION=0.14.0
SMOL_DIR=$TARGET/smoltcp-bench
SMOL_TIMEOUT=${BENCH_TCP_SMOLTCP_TIMEOUT:-60}

echo
echo "=== TCP throughput: linnet on TAP vs Linux over veth vs smoltcp on TAP, and linnet in process"
if [ "${BENCH_TCP:-1}" = 0 ]; then
    echo "skipped (BENCH_TCP=0)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "skipped: needs root to create TAP devices, a veth pair and a network namespace."
    echo "Run: sudo bash scripts/bench-tcp.sh"
    exit 0
fi
if [ ! -e /dev/net/tun ]; then
    echo "scripts/bench-tcp.sh: /dev/net/tun is missing (modprobe tun)" >&2
    exit 1
fi
for pair in ip:iproute2 python3:python3; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$tool" >/dev/null; then
        if command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null
        else
            echo "scripts/bench-tcp.sh needs $tool ($pkg)" >&2
            exit 1
        fi
    fi
done
mkdir -p "$OUT"

# Build. Under sudo, root's PATH usually lacks cargo: build as the invoking user then.
as_builder() {
    if command -v cargo >/dev/null; then
        "$@"
    elif [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        sudo -u "$SUDO_USER" -H bash -lc 'cd "$1" && shift && "$@"' _ "$PWD" "$@"
    else
        echo "scripts/bench-tcp.sh: cargo not found" >&2
        return 1
    fi
}
if ! as_builder cargo build --release -p linnet --example tcp_bench >"$OUT/tcp-build.log" 2>&1; then
    cat "$OUT/tcp-build.log" >&2
    echo "scripts/bench-tcp.sh: the build of tcp_bench failed" >&2
    exit 1
fi
tail -n 1 "$OUT/tcp-build.log"

SMOL_BIN=
if [ "$SMOLTCP" != 0 ]; then
    # A throwaway package whose only binary is smoltcp's examples/benchmark.rs (with its
    # examples/utils.rs), from the registry copy of the smoltcp crate; the example's own
    # feature set ("log" and "phy-tuntap_interface" are the ones its code tests).
    mkdir -p "$SMOL_DIR/src"
    echo 'fn main() {}' >"$SMOL_DIR/src/main.rs"
    manifest() {
        cat <<EOF
[package]
name = "smoltcp-benchmark"
version = "0.0.0"
edition = "2021"
publish = false
autobins = false

[workspace]

[dependencies]
smoltcp = "=$SMOLTCP_VERSION"
getopts = "0.2"
rand = "0.8"
env_logger = "0.10"
log = "0.4"

[features]
default = ["log", "phy-tuntap_interface"]
log = ["smoltcp/log"]
phy-tuntap_interface = ["smoltcp/phy-tuntap_interface"]

[profile.release]
debug = 1
$1
EOF
    }
    # First with a placeholder binary, to learn where cargo keeps smoltcp's source.
    manifest '
[[bin]]
name = "placeholder"
path = "src/main.rs"' >"$SMOL_DIR/Cargo.toml"
    smol_src=$(cd "$SMOL_DIR" && as_builder cargo metadata --format-version 1 2>>"$OUT/tcp-build.log" |
        python3 -c 'import json, os, sys
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "smoltcp"))')
    manifest "
[[bin]]
name = \"benchmark\"
path = \"$smol_src/examples/benchmark.rs\"" >"$SMOL_DIR/Cargo.toml"
    if ! (cd "$SMOL_DIR" && as_builder cargo build --release) >>"$OUT/tcp-build.log" 2>&1; then
        tail -n 30 "$OUT/tcp-build.log" >&2
        echo "scripts/bench-tcp.sh: the build of smoltcp's benchmark example failed" >&2
        exit 1
    fi
    SMOL_BIN=$SMOL_DIR/target/release/benchmark
    echo "smoltcp $SMOLTCP_VERSION benchmark example: $smol_src/examples/benchmark.rs"
    if ip -4 -o addr show | grep -q ' 192\.168\.69\.'; then
        echo "scripts/bench-tcp.sh: 192.168.69.0/24 (smoltcp's example network) is in use here" >&2
        exit 1
    fi
fi

# Unique names (at most 15 bytes), removed on any exit.
TAP=ltt$$
VETH=lvt$$
NS=linnet-tcpbench-$$
STAP=lst$$
cleanup() {
    ip link del "$TAP" 2>/dev/null || true
    ip link del "$VETH" 2>/dev/null || true
    ip link del "$STAP" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RAW=$OUT/tcp.txt
: >"$RAW"
start=$(date +%s)
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" | tee -a "$RAW"
for rep in $(seq 1 "$REPS"); do
    echo "--- round $rep/$REPS" | tee -a "$RAW"
    # shellcheck disable=SC2086 # BENCH_TCP_ARGS is a list of flags
    "$BIN" --tap "$TAP" --veth "$VETH" --netns "$NS" --mb "$MB" --reps 1 ${BENCH_TCP_ARGS:-} 2>&1 |
        grep -E '^(rep|median|frames|tcp_bench)' | tee -a "$RAW"
    if [ -n "$SMOL_BIN" ]; then
        ip tuntap add name "$STAP" mode tap
        ip link set "$STAP" up
        echo 1 >"/proc/sys/net/ipv6/conf/$STAP/disable_ipv6" 2>/dev/null || true
        ip addr add 192.168.69.100/24 dev "$STAP"
        for mode in reader writer; do
            # The example's client thread connects before the first poll has called
            # listen(), so the kernel's SYN can meet a RST: the client panics
            # (ECONNREFUSED) and the example then waits for ever. So the first SYN is sent
            # to a MAC that is not smoltcp's (a permanent neighbour entry, removed 0.3 s
            # later): smoltcp ignores it, and the kernel's SYN retransmission 1 s later finds
            # the listener. The example starts its clock after connect() returns, so its
            # figure is unchanged. A run that fails anyway is stopped and tried again (at
            # most 3 times), noted in the raw file.
            line=
            for try in 1 2 3; do
                ip neigh replace 192.168.69.1 lladdr 02:00:00:00:00:fe dev "$STAP" nud permanent
                log=$OUT/smoltcp-$mode.log
                "$SMOL_BIN" --tap "$STAP" "$mode" >"$log" 2>&1 &
                pid=$!
                sleep 0.3
                ip neigh del 192.168.69.1 dev "$STAP" 2>/dev/null || true
                waited=0
                while kill -0 "$pid" 2>/dev/null && ! grep -q -e '^throughput:' -e panicked "$log" &&
                    [ "$waited" -lt $((SMOL_TIMEOUT * 10)) ]; do
                    sleep 0.1
                    waited=$((waited + 1))
                done
                if grep -q '^throughput:' "$log"; then
                    wait "$pid" || true
                    line=$(grep '^throughput:' "$log")
                    break
                fi
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                echo "smoltcp $mode (try $try): no result; $(grep -m1 -e 'panicked' -A1 "$log" | tr '\n' ' ')" | tee -a "$RAW"
            done
            gbps=$(echo "$line" | awk '{print $2}')
            [ -n "$gbps" ] || continue
            key=smoltcp_tx_tap
            [ "$mode" = writer ] && key=smoltcp_rx_tap
            echo "smoltcp $mode: $line" | tee -a "$RAW"
            awk -v k="$key" -v g="$gbps" 'BEGIN { printf "median %s %.2f\n", k, g * 125 }' | tee -a "$RAW"
        done
        ip link del "$STAP"
    fi
done
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RAW"

python3 - "$RAW" "$MB" "$REPS" <<'PY' | tee "$OUT/tcp.md"
import statistics, sys
raw, mb, reps = sys.argv[1], sys.argv[2], sys.argv[3]
runs = {}
for line in open(raw):
    f = line.split()
    if len(f) == 3 and f[0] == "median":
        runs.setdefault(f[1], []).append(float(f[2]))
med = {k: statistics.median(v) for k, v in runs.items()}
rows = [
    ("linnet sends (linnet -> Linux, TAP)", "linnet_tx_tap"),
    ("linnet receives (Linux -> linnet, TAP)", "linnet_rx_tap"),
    ("Linux sends (host -> netns, veth)", "linux_tx_veth"),
    ("Linux receives (netns -> host, veth)", "linux_rx_veth"),
    ("smoltcp sends (benchmark `reader`, TAP)", "smoltcp_tx_tap"),
    ("smoltcp receives (benchmark `writer`, TAP)", "smoltcp_rx_tap"),
    ("linnet -> linnet, in process (MemoryDevice pair)", "linnet_memory"),
]
def fmt(v): return f"{v:.0f}" if v is not None else "n/a"
def ratio(a, b):
    a, b = med.get(a), med.get(b)
    return f"{a / b:.2f}" if a and b else "n/a"
print(f"\n## TCP throughput, single stream (median of {reps} rounds; linnet/Linux {mb} MB per transfer, smoltcp 1 GB)\n")
print("| transfer | MB/s | runs |")
print("|---|---:|---|")
for label, k in rows:
    v = runs.get(k)
    print(f"| {label} | {fmt(med.get(k))} | {', '.join(fmt(x) for x in v) if v else 'n/a'} |")
print("\n| ratio (> 1: linnet faster) | linnet sends | linnet receives |")
print("|---|---:|---:|")
print(f"| linnet / Linux (veth) | {ratio('linnet_tx_tap', 'linux_tx_veth')} | {ratio('linnet_rx_tap', 'linux_rx_veth')} |")
print(f"| linnet / smoltcp (both on TAP) | {ratio('linnet_tx_tap', 'smoltcp_tx_tap')} | {ratio('linnet_rx_tap', 'smoltcp_rx_tap')} |")
print(f"| linnet in process / linnet on TAP | {ratio('linnet_memory', 'linnet_tx_tap')} | {ratio('linnet_memory', 'linnet_rx_tap')} |")
PY
echo "run time: $(($(date +%s) - start)) s (after the builds)"
echo "Reproduce: sudo bash scripts/bench-tcp.sh (or bash scripts/bench.sh as root)"
