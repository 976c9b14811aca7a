#!/usr/bin/python3
"""A tiny SSE upstream for the gateway benchmark: every GET answers a never-ending text/event-stream.

    /usr/bin/python3 sse_upstream.py            # prints "listening on http://127.0.0.1:PORT", then serves
    curl -N 'http://127.0.0.1:PORT/sse?interval_ms=20'

Each event is `data: {"t_ns": N}` where N is time.monotonic_ns() just before the event is written, so a client
on the same machine can compute flush-to-receipt latency with the same clock. Events go out every interval_ms
(query parameter, default 20) as HTTP/1.1 chunks on a TCP_NODELAY socket, each written and flushed at once.
One daemon thread per connection (ThreadingHTTPServer), with a listen backlog large enough for 1,000 streams.
"""
import http.server
import socket
import sys
import time
import urllib.parse


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: 1,000 streams would flood stderr
        pass

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        interval = float(query.get("interval_ms", ["20"])[0]) / 1000.0
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        next_at = time.monotonic()
        try:
            while True:
                payload = b'data: {"t_ns": %d}\n\n' % time.monotonic_ns()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_at = time.monotonic()  # fell behind (busy machine): do not burst to catch up
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the client (or the gateway) went away
        self.close_connection = True


def main():
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
