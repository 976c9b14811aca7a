#!/usr/bin/python3
"""SSE flush-to-receipt latency, straight to an upstream and through the gateway, interleaved round by round.

    /usr/bin/python3 sse_latency.py --direct http://127.0.0.1:P1/sse --gateway http://127.0.0.1:P2/sse \\
        --token "$TOKEN" --rounds 5 --events 150

The upstream (sse_upstream.py) stamps every event with time.monotonic_ns() just before writing it; this client
reads the stream as bytes arrive (raw socket, one recv at a time) and takes receipt - t_ns for each event, on
the same machine and the same monotonic clock. Each round opens one stream to each target in turn (direct,
gateway), drops the first --warmup events, keeps the next --events. Prints p50/p99/max per target per round,
the pooled figures, and the gateway-minus-direct difference of the p50 and p99 per round (min/median/max).
"""
import argparse
import re
import socket
import statistics
import time
import urllib.parse

EVENT = re.compile(rb'data: \{"t_ns": (\d+)\}\n\n')


def open_stream(url, token, timeout):
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    target = u.path + (("?" + u.query) if u.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {u.netloc}", "Accept: text/event-stream", "Cache-Control: no-cache"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise RuntimeError(f"{url}: closed before the response headers")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise RuntimeError(f"{url}: {status.decode(errors='replace')}")
    return sock, rest


def measure(url, token, warmup, events, timeout):
    """Latencies in microseconds of `events` consecutive events, after `warmup` dropped ones."""
    sock, buf = open_stream(url, token, timeout)
    latencies = []
    seen = 0
    try:
        while len(latencies) < events:
            data = sock.recv(65536)
            received = time.monotonic_ns()
            if not data:
                raise RuntimeError(f"{url}: stream ended after {seen} events")
            buf += data
            end = 0
            for m in EVENT.finditer(buf):
                seen += 1
                if seen > warmup and len(latencies) < events:
                    latencies.append((received - int(m.group(1))) / 1000.0)
                end = m.end()
            buf = buf[end:]
    finally:
        sock.close()
    return latencies


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def spread(values):
    return f"{min(values):8.1f} {statistics.median(values):8.1f} {max(values):8.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--direct", required=True)
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--events", type=int, default=150)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()

    pooled = {"direct": [], "gateway": []}
    per_round = {"direct": [], "gateway": []}
    print(f"{'round':<6} {'target':<8} {'p50 us':>8} {'p99 us':>8} {'max us':>8}")
    for r in range(1, args.rounds + 1):
        for name, url, token in (("direct", args.direct, ""), ("gateway", args.gateway, args.token)):
            lat = measure(url, token, args.warmup, args.events, args.timeout)
            pooled[name] += lat
            per_round[name].append((pct(lat, 50), pct(lat, 99), max(lat)))
            print(f"{r:<6} {name:<8} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {max(lat):8.1f}", flush=True)

    print(f"\npooled over {args.rounds} rounds x {args.events} events (microseconds):")
    print(f"{'target':<8} {'p50':>8} {'p99':>8} {'max':>8}")
    for name in ("direct", "gateway"):
        v = pooled[name]
        print(f"{name:<8} {pct(v, 50):8.1f} {pct(v, 99):8.1f} {max(v):8.1f}")
    d50 = [g[0] - d[0] for d, g in zip(per_round["direct"], per_round["gateway"])]
    d99 = [g[1] - d[1] for d, g in zip(per_round["direct"], per_round["gateway"])]
    print(f"\nadded by the gateway, per round (us)  {'min':>8} {'median':>8} {'max':>8}")
    print(f"  p50 gateway - p50 direct            {spread(d50)}")
    print(f"  p99 gateway - p99 direct            {spread(d99)}")


if __name__ == "__main__":
    main()
