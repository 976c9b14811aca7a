// Peer "node-http-proxy": what a Node MCP author would put in front of a server — http-proxy (1.18.1) behind a
// bearer check. Authorization must equal "Bearer <token>" exactly (compared in constant time), else 401; /sse*
// goes to the SSE upstream, everything else to the JSON-RPC upstream, both over a keep-alive agent.
//   node node_proxy.js PORT UPSTREAM_PORT SSE_PORT TOKEN
'use strict';
const http = require('http');
const crypto = require('crypto');
const httpProxy = require('http-proxy');

const [port, upstreamPort, ssePort, token] = process.argv.slice(2);
const expected = Buffer.from(`Bearer ${token}`);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
const mcp = `http://127.0.0.1:${upstreamPort}`;
const sse = `http://127.0.0.1:${ssePort}`;

function authorized(req) {
  const got = Buffer.from(req.headers.authorization || '');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
}

proxy.on('error', (err, req, res) => {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
  res.end('{"error":"bad_gateway"}');
});

const server = http.createServer((req, res) => {
  if (!authorized(req)) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="node"' });
    res.end('{"error":"invalid_token"}');
    return;
  }
  proxy.web(req, res, { target: req.url.startsWith('/sse') ? sse : mcp });
});
server.keepAliveTimeout = 5000;
server.headersTimeout = 10000;  // Node's own slowloris guard (its default is 60 s)
server.requestTimeout = 0;      // event streams live on
server.listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
