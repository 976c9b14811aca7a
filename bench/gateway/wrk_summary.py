#!/usr/bin/python3
"""Summarises interleaved wrk --latency runs: req/s, p50 and p99 per target, and gateway/direct ratios.

    /usr/bin/python3 wrk_summary.py DIR     # DIR holds direct-1.txt gateway-1.txt direct-2.txt ... (wrk output)

Round i of the gateway is paired with round i of the direct run (they ran back to back, so the machine's noise
hits both alike). Prints each round, then min/median/max over the rounds. Socket errors (wrk's 2 s timeouts)
are shown per round; the script exits non-zero only when a run had non-2xx responses (a refused token or
session would otherwise pass for speed).
"""
import pathlib
import re
import statistics
import sys

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def millis(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse(path):
    text = path.read_text()
    bad = [line.strip() for line in text.splitlines() if "Non-2xx" in line or "Socket errors" in line]
    rps = float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    p50 = millis(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = millis(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    drops = re.search(r"^ListenDrops: (\d+)", text, re.M)  # appended by run.sh
    return {"rps": rps, "p50": p50, "p99": p99, "bad": bad, "drops": int(drops.group(1)) if drops else -1}


def spread(values, fmt):
    return " ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main():
    d = pathlib.Path(sys.argv[1])
    rounds = sorted(int(p.stem.split("-")[1]) for p in d.glob("direct-*.txt"))
    rows = {name: [parse(d / f"{name}-{r}.txt") for r in rounds] for name in ("direct", "gateway")}
    failed = False
    print(f"{'round':<6} {'target':<8} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'listen drops':>13}")
    for i, r in enumerate(rounds):
        for name in ("direct", "gateway"):
            x = rows[name][i]
            print(f"{r:<6} {name:<8} {x['rps']:10.0f} {x['p50']:8.3f} {x['p99']:8.3f} {x['drops']:13d}  {' '.join(x['bad'])}")
            failed |= any("Non-2xx" in b for b in x["bad"])
    print(f"\n{'over ' + str(len(rounds)) + ' rounds':<22} {'min':>9} {'median':>9} {'max':>9}")
    for name in ("direct", "gateway"):
        print(f"{name + ' req/s':<22} {spread([x['rps'] for x in rows[name]], '9.0f')}")
        print(f"{name + ' p50 ms':<22} {spread([x['p50'] for x in rows[name]], '9.3f')}")
        print(f"{name + ' p99 ms':<22} {spread([x['p99'] for x in rows[name]], '9.3f')}")
    pairs = list(zip(rows["direct"], rows["gateway"]))
    print(f"{'ratio req/s g/d':<22} {spread([g['rps'] / d['rps'] for d, g in pairs], '9.3f')}")
    print(f"{'ratio p50 g/d':<22} {spread([g['p50'] / d['p50'] for d, g in pairs], '9.3f')}")
    print(f"{'ratio p99 g/d':<22} {spread([g['p99'] / d['p99'] for d, g in pairs], '9.3f')}")
    if failed:
        print("some runs had non-2xx responses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
