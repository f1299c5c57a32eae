#!/usr/bin/env bash
# Device-level benchmark, side by side in one run (docs/PERFORMANCE.md, "linnet on a TAP
# device against Linux"):
#
#   - UDP echo packets per second: one Linux client (kernel UDP socket, host namespace)
#     against a linnet echo server on a TAP device (10.77.0.2; host side 10.77.0.1/24) and
#     against a Linux echo server in a network namespace behind a veth pair (10.78.0.2; host
#     side 10.78.0.1/24), with 1 and 32 requests in flight;
#   - ping RTT: iputils `ping -c 200 -i 0.01 -q` of both.
#
# Each measurement runs BENCH_TAP_REPS times (alternating which side goes first) and the
# median is reported with the linnet/Linux ratio. The program is
# crates/linnet/examples/tap_bench.rs; its output goes to target/bench/tap.txt and the summary
# tables to target/bench/tap.md.
#
# Usage: sudo bash scripts/bench-tap.sh        (also run by scripts/bench.sh)
# Needs root, /dev/net/tun, iproute2 and iputils-ping; without root it says so and exits 0.
# Knobs (environment): BENCH_TAP=0 skips it, BENCH_TAP_SECONDS=3 (per UDP run),
# BENCH_TAP_REPS=3, BENCH_TAP_WINDOWS=1,32, BENCH_TAP_PING_COUNT=200.
# About 70 s once built (3 reps: 12 UDP runs of 3 s, 6 ping runs of 2-3 s, set-up).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/examples/tap_bench

echo
echo "=== linnet on TAP vs Linux in a netns over veth: UDP echo rate and ping RTT"
if [ "${BENCH_TAP:-1}" = 0 ]; then
    echo "skipped (BENCH_TAP=0)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "skipped: needs root to create a TAP device, a veth pair and a network namespace."
    echo "Run: sudo bash scripts/bench-tap.sh"
    exit 0
fi
if [ ! -e /dev/net/tun ]; then
    echo "scripts/bench-tap.sh: /dev/net/tun is missing (modprobe tun)" >&2
    exit 1
fi
for pair in ip:iproute2 ping:iputils-ping; do
    tool=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$tool" >/dev/null; then
        if command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null
        else
            echo "scripts/bench-tap.sh needs $tool ($pkg)" >&2
            exit 1
        fi
    fi
done

# Build. Under sudo, root's PATH usually lacks cargo: build as the invoking user then.
mkdir -p "$OUT"
BUILD=(cargo build --release -p linnet --example tap_bench)
if command -v cargo >/dev/null; then
    build_ok() { "${BUILD[@]}"; }
elif [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    build_ok() {
        sudo -u "$SUDO_USER" -H bash -lc 'cd "$1" && shift && "$@"' _ "$ROOT" "${BUILD[@]}"
    }
else
    echo "scripts/bench-tap.sh: cargo not found; build first: ${BUILD[*]}" >&2
    exit 1
fi
if ! build_ok >"$OUT/tap-build.log" 2>&1; then
    cat "$OUT/tap-build.log" >&2
    echo "scripts/bench-tap.sh: the build failed" >&2
    exit 1
fi
tail -n 1 "$OUT/tap-build.log"

# Unique names (IFNAMSIZ is 16: at most 15 bytes), removed on any exit, also on Ctrl-C and
# when the program dies without running its own clean-up.
TAP=ltb$$
VETH=lvb$$
NS=linnet-tapbench-$$
cleanup() {
    ip link del "$TAP" 2>/dev/null || true
    ip link del "$VETH" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
"$BIN" --tap "$TAP" --veth "$VETH" --netns "$NS" \
    --seconds "${BENCH_TAP_SECONDS:-3}" --reps "${BENCH_TAP_REPS:-3}" \
    --windows "${BENCH_TAP_WINDOWS:-1,32}" --ping-count "${BENCH_TAP_PING_COUNT:-200}" \
    --out "$OUT/tap.md" 2>&1 | tee "$OUT/tap.txt"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Reproduce: sudo bash scripts/bench-tap.sh (or bash scripts/bench.sh as root)"
