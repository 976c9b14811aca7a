// A pass-through HTTP proxy between `mcpgate serve` and an MCP server that records what reaches the server, so an
// end-to-end test can prove a refused request was never forwarded. Used by tests/e2e/rules_test.sh:
//   node upstream_recorder.mjs http://127.0.0.1:PORT      # prints "listening on http://127.0.0.1:PORT2"
// Every request is forwarded unchanged (bodies and answers stream; SSE is not buffered), except:
//   GET  /_recorded   → JSON array of {method, path, rpc: [{method, name}]} for each request forwarded so far
//   POST /_reset      → forget them
// Runs until SIGTERM.
import http from "node:http";

const target = new URL(process.argv[2] ?? "");
const recorded = [];

function rpcSummary(body) {
  try {
    const parsed = JSON.parse(body);
    return (Array.isArray(parsed) ? parsed : [parsed]).map((m) => ({ method: m?.method, name: m?.params?.name }));
  } catch {
    return [];
  }
}

const server = http.createServer((req, res) => {
  if (req.url === "/_recorded" && req.method === "GET") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(recorded));
    return;
  }
  if (req.url === "/_reset" && req.method === "POST") {
    recorded.length = 0;
    res.writeHead(204).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    recorded.push({ method: req.method, path: req.url, rpc: body.length ? rpcSummary(body.toString("utf8")) : [] });
    const headers = { ...req.headers, host: target.host };
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on("close", () => upstream.destroy());
    upstream.end(body);
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
