#!/usr/bin/python3
"""Hold many SSE streams open through the gateway from one process (non-blocking sockets + selectors), check
that every stream keeps receiving, read the gateway's memory and thread count, then close them all and wait
for the gateway's mcpgate_open_streams gauge to return to 0.

    /usr/bin/python3 sse_hold.py --url 'http://127.0.0.1:P/sse?interval_ms=1000' --token "$TOKEN" \\
        --pid "$GATEWAY_PID" --metrics http://127.0.0.1:ADMIN/metrics --streams 1000

Streams are opened with at most --parallel connections waiting for their response headers at a time (the
gateway listens with a short backlog). Every wait is bounded; the script exits non-zero when a stream fails,
when not every stream receives --fresh new events in time, or when the gauge does not come back to 0.
"""
import argparse
import re
import selectors
import socket
import sys
import time
import urllib.parse
import urllib.request


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["Threads"]


def open_streams_gauge(url):
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    m = re.search(r"^mcpgate_open_streams(?:\{\})? (\S+)$", text, re.M)
    if not m:
        raise RuntimeError("mcpgate_open_streams not found in the metrics")
    return float(m.group(1))


class Stream:
    def __init__(self, request):
        self.request = request
        self.sent = 0
        self.head = b""
        self.open = False  # response headers received with status 200
        self.events = 0
        self.tail = b""


def report(label, pid):
    rss, threads = proc_status(pid)
    print(f"{label:<44} VmRSS {rss / 1024:8.1f} MiB   Threads {threads:5d}", flush=True)
    return rss, threads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--parallel", type=int, default=32)
    ap.add_argument("--fresh", type=int, default=2, help="new events each stream must receive once all are open")
    ap.add_argument("--open-timeout", type=float, default=120.0)
    ap.add_argument("--fresh-timeout", type=float, default=30.0)
    ap.add_argument("--close-timeout", type=float, default=30.0)
    args = ap.parse_args()

    u = urllib.parse.urlsplit(args.url)
    target = u.path + (("?" + u.query) if u.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: text/event-stream\r\n"
    if args.token:
        request += f"Authorization: Bearer {args.token}\r\n"
    request = (request + "\r\n").encode()

    report("gateway before the streams", args.pid)
    sel = selectors.DefaultSelector()
    streams = []
    pending = 0  # connected or connecting, headers not yet received

    def start_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((u.hostname, u.port))
        st = Stream(request)
        streams.append((s, st))
        sel.register(s, selectors.EVENT_WRITE, st)

    def pump(timeout):
        nonlocal pending
        for key, mask in sel.select(timeout):
            s, st = key.fileobj, key.data
            if mask & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise RuntimeError(f"connect failed: {err}")
                st.sent += s.send(st.request[st.sent:])
                if st.sent == len(st.request):
                    sel.modify(s, selectors.EVENT_READ, st)
                continue
            data = s.recv(65536)
            if not data:
                raise RuntimeError(f"a stream was closed by the gateway (events so far: {st.events})")
            if not st.open:
                st.head += data
                if b"\r\n\r\n" not in st.head:
                    continue
                head, _, data = st.head.partition(b"\r\n\r\n")
                status = head.split(b"\r\n", 1)[0]
                if b" 200 " not in status + b" ":
                    raise RuntimeError(f"stream refused: {status.decode(errors='replace')}")
                st.open = True
                pending -= 1
            buf = st.tail + data
            st.events += buf.count(b"\n\n")
            st.tail = buf[buf.rfind(b"\n\n") + 2:] if b"\n\n" in buf else buf

    started = time.monotonic()
    deadline = started + args.open_timeout
    while len(streams) < args.streams or pending > 0:
        while len(streams) < args.streams and pending < args.parallel:
            start_one()
            pending += 1
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(streams) - pending} of {args.streams} streams opened in time")
        pump(0.5)
    print(f"{args.streams} streams open after {time.monotonic() - started:.1f} s", flush=True)

    baseline = [st.events for _, st in streams]
    deadline = time.monotonic() + args.fresh_timeout
    while True:
        behind = sum(1 for (_, st), b in zip(streams, baseline) if st.events < b + args.fresh)
        if behind == 0:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{behind} of {args.streams} streams did not receive {args.fresh} new events in time")
        pump(0.5)
    total = sum(st.events for _, st in streams)
    print(f"all {args.streams} streams received >= {args.fresh} new events ({total} events in all)", flush=True)
    gauge = open_streams_gauge(args.metrics)
    report(f"gateway with {args.streams} open streams", args.pid)
    print(f"mcpgate_open_streams = {gauge:g}", flush=True)
    if gauge != args.streams:
        raise SystemExit(f"mcpgate_open_streams is {gauge:g}, expected {args.streams}")

    for s, _ in streams:
        sel.unregister(s)
        s.close()
    closed = time.monotonic()
    deadline = closed + args.close_timeout
    while (gauge := open_streams_gauge(args.metrics)) != 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"mcpgate_open_streams still {gauge:g} {args.close_timeout:g} s after closing")
        time.sleep(0.1)
    print(f"mcpgate_open_streams back to 0 {time.monotonic() - closed:.1f} s after closing", flush=True)
    report("gateway after the streams closed", args.pid)


if __name__ == "__main__":
    sys.exit(main())
