#!/usr/bin/env bash
# Reproduces every number in docs/PERFORMANCE.md, in one run:
#
#   1. linnet-core's own criterion benches (cargo bench -p linnet-core);
#   2. linnet-core and smoltcp side by side under criterion (bench-compare/, not a
#      workspace member), then in alternating timed batches (bench-compare's `paired`);
#   3. instructions per packet under callgrind for both stacks, as
#      (Ir at N2 packets - Ir at N1 packets) / (N2 - N1), which removes setup and start-up;
#      perf stat too when the machine exposes the instructions counter;
#   4. Linux's own UDP over loopback in a fresh network namespace (root + `ip netns` only):
#      a different, syscall-bound measurement, printed apart;
#   5. a summary table with linnet/smoltcp ratios (also written to target/bench/summary.md);
#   then, as root, scripts/bench-tap.sh (UDP echo and ping on TAP vs Linux) and
#   scripts/bench-tcp.sh (TCP throughput: linnet on TAP vs Linux over veth vs smoltcp).
#
# Usage: bash scripts/bench.sh
# Knobs (environment): BENCH_WARMUP=1 BENCH_MEASURE=3 (seconds per criterion bench),
# BENCH_N1=10000 BENCH_N2=110000 (packets for the instruction counts), BENCH_LINUX=0 skips
# step 4. Takes about five minutes on the 2-core machine, most of it compiling.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WARMUP=${BENCH_WARMUP:-1}
MEASURE=${BENCH_MEASURE:-3}
N1=${BENCH_N1:-10000}
N2=${BENCH_N2:-110000}
OUT=$ROOT/target/bench
CORE_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CMP_TARGET=${CARGO_TARGET_DIR:-$ROOT/bench-compare/target}
mkdir -p "$OUT/callgrind"
rm -f "$OUT"/*.txt "$OUT"/callgrind/*

step() { printf '\n=== %s\n' "$*"; }
per_packet() { awk -v a="$1" -v b="$2" -v n1="$N1" -v n2="$N2" 'BEGIN { print (b - a) / (n2 - n1) }'; }

for tool in valgrind python3; do
    if ! command -v "$tool" >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
        else
            echo "scripts/bench.sh needs $tool" >&2
            exit 1
        fi
    fi
done

step "1/5 linnet-core criterion benches (warm-up ${WARMUP}s, measurement ${MEASURE}s)"
cargo bench -p linnet-core --bench per_packet -- \
    --warm-up-time "$WARMUP" --measurement-time "$MEASURE" 2>&1 | tee "$OUT/linnet-core.txt"

step "2/5 linnet-core vs smoltcp, same criterion run"
(cd bench-compare && cargo bench --bench compare -- \
    --warm-up-time "$WARMUP" --measurement-time "$MEASURE") 2>&1 | tee "$OUT/compare.txt"

(cd bench-compare && cargo build --release --bins 2>&1 | tail -n 1)
echo "Alternating batches (load from other processes hits both stacks alike):"
"$CMP_TARGET/release/paired" | tee "$OUT/paired.txt"

step "3/5 instructions per packet (callgrind, N1=$N1 N2=$N2)"
COUNT=$CMP_TARGET/release/count
SCENARIOS="linnet_udp_rx smoltcp_udp_rx smoltcp_poll_udp_rx
linnet_icmp_echo smoltcp_icmp_echo smoltcp_poll_icmp_echo
linnet_udp_tx smoltcp_udp_tx smoltcp_poll_udp_tx
linnet_udp_rx_many smoltcp_udp_rx_many"
for s in $SCENARIOS; do
    for n in "$N1" "$N2"; do
        valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind/$s.$n.out" \
            "$COUNT" "$s" "$n" >"$OUT/callgrind/$s.$n.txt" 2>"$OUT/callgrind/$s.$n.log"
    done
    a=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/callgrind/$s.$N1.out")
    b=$(awk '/^(summary|totals):/ {print $2; exit}' "$OUT/callgrind/$s.$N2.out")
    allocs=$(sed -n 's/.* allocs=\([0-9]*\).*/\1/p' "$OUT/callgrind/$s.$N2.txt")
    printf '%-24s %8.1f instructions/packet  (heap allocations in the loop: %s)\n' \
        "$s" "$(per_packet "$a" "$b")" "$allocs" | tee -a "$OUT/instructions.txt"
done
echo "(profiles for callgrind_annotate: $OUT/callgrind/*.$N2.out)"

if command -v perf >/dev/null; then
    probe=$(perf stat -x, -e instructions:u true 2>&1 >/dev/null || true)
    if echo "$probe" | grep -q '^[0-9]'; then
        echo "perf stat (instructions:u, same differencing):" | tee -a "$OUT/instructions.txt"
        for s in $SCENARIOS; do
            a=$(perf stat -x, -e instructions:u "$COUNT" "$s" "$N1" 2>&1 >/dev/null | awk -F, '/instructions/ {print $1}')
            b=$(perf stat -x, -e instructions:u "$COUNT" "$s" "$N2" 2>&1 >/dev/null | awk -F, '/instructions/ {print $1}')
            printf '  %-24s %8.1f\n' "$s" "$(per_packet "$a" "$b")" | tee -a "$OUT/instructions.txt"
        done
    else
        echo "perf stat: the instructions counter is not available here ($(echo "$probe" | head -n 1)); callgrind only."
    fi
fi

step "4/5 Linux UDP over loopback (a different, syscall-bound measurement)"
if [ "${BENCH_LINUX:-1}" = 0 ]; then
    echo "skipped (BENCH_LINUX=0)"
elif [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "linnet-bench-$$" 2>/dev/null; then
    trap 'ip netns del "linnet-bench-$$" 2>/dev/null || true' EXIT
    ip netns exec "linnet-bench-$$" ip link set lo up
    ip netns exec "linnet-bench-$$" "$CMP_TARGET/release/linux_udp" 2 | tee "$OUT/linux.txt"
    ip netns del "linnet-bench-$$"
    trap - EXIT
else
    echo "skipped: needs root and 'ip netns' (the Linux comparison comes with the TAP benchmarks)"
fi

step "5/5 summary"
python3 - "$CORE_TARGET/criterion" "$CMP_TARGET/criterion" "$OUT" "$N1" "$N2" <<'PY' | tee "$OUT/summary.md"
import json, os, re, sys

core_dir, cmp_dir, out, n1, n2 = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def median_ns(path):
    try:
        with open(os.path.join(path, "new", "estimates.json")) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None

def ir(scenario):
    tot = []
    for n in (n1, n2):
        try:
            with open(os.path.join(out, "callgrind", f"{scenario}.{n}.out")) as f:
                m = re.search(r"^(?:summary|totals):\s+(\d+)", f.read(), re.M)
                tot.append(int(m.group(1)))
        except (OSError, AttributeError):
            return None
    return (tot[1] - tot[0]) / (n2 - n1)

def fmt_pps(ns):
    return f"{1e3 / ns:.2f} M" if ns else "n/a"

def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"

paths = [("udp_rx", "frame -> UDP socket -> recv"), ("icmp_echo", "ICMP echo request in -> reply out"),
         ("udp_tx", "UDP send 64 B -> frame out"),
         ("udp_rx_many", "frame -> UDP socket -> recv, 256 other sockets bound")]
print("## Packets per second (criterion median, same run; ratio > 1: linnet faster)\n")
print("| path | linnet | smoltcp | linnet/smoltcp | smoltcp `poll()` | linnet/smoltcp `poll()` |")
print("|---|---:|---:|---:|---:|---:|")
for key, label in paths:
    l = median_ns(os.path.join(cmp_dir, key, "linnet"))
    s = median_ns(os.path.join(cmp_dir, key, "smoltcp"))
    p = median_ns(os.path.join(cmp_dir, key, "smoltcp_poll"))
    # packets/s ratio = smoltcp time / linnet time
    print(f"| {label} | {fmt_pps(l)} | {fmt_pps(s)} | {ratio(s, l)} | {fmt_pps(p)} | {ratio(p, l)} |")
try:
    with open(os.path.join(out, "paired.txt")) as f:
        rows = [dict(kv.split("=") for kv in line.split()[1:]) for line in f if line.startswith("paired ")]
    print("\n## Alternating batches (`paired`): fastest batch, ns/packet (ratio > 1: linnet faster)\n")
    print("| path | linnet | smoltcp | linnet/smoltcp packets/s | same, median batches |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        lm, sm = float(r["linnet_min_ns"]), float(r["smoltcp_min_ns"])
        ld, sd = float(r["linnet_med_ns"]), float(r["smoltcp_med_ns"])
        print(f"| {r['path']} | {lm:.0f} | {sm:.0f} | {sm / lm:.2f} | {sd / ld:.2f} |")
except OSError:
    pass
print("\n## Instructions per packet (callgrind; ratio < 1: linnet cheaper)\n")
print("| path | linnet | smoltcp | linnet/smoltcp | smoltcp `poll()` | linnet/smoltcp `poll()` |")
print("|---|---:|---:|---:|---:|---:|")
for key, label in paths:
    l, s, p = ir(f"linnet_{key}"), ir(f"smoltcp_{key}"), ir(f"smoltcp_poll_{key}")
    f = lambda v: f"{v:.0f}" if v else "n/a"
    print(f"| {label} | {f(l)} | {f(s)} | {ratio(l, s)} | {f(p)} | {ratio(l, p)} |")
print("\n## linnet-core's own bench (`cargo bench -p linnet-core`, separate run)\n")
print("| path | median ns/packet | packets/s |")
print("|---|---:|---:|")
for key, label in paths[:3]:
    ns = median_ns(os.path.join(core_dir, "linnet", key))
    print(f"| {label} | {ns:.0f} | {fmt_pps(ns)} |" if ns else f"| {label} | n/a | n/a |")
try:
    with open(os.path.join(out, "linux.txt")) as f:
        line = f.read().strip()
    m = dict(kv.split("=") for kv in line.split()[1:])
    print("\n## Linux, for scale only (NOT comparable: two syscalls + the kernel's send and receive paths per datagram)\n")
    print(f"UDP 64 B over loopback, send+recv on one thread: {float(m['pps'])/1e6:.2f} M datagrams/s "
          f"({m['ns_per_packet']} ns per datagram, {m['packets']} datagrams)")
except OSError:
    pass
PY

bash "$ROOT/scripts/bench-tap.sh"   # linnet on TAP vs Linux over veth (root only; else says why)
bash "$ROOT/scripts/bench-tcp.sh"   # TCP throughput: linnet/Linux/smoltcp (root only; else says why)
