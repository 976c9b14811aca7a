// The SSE upstream of --streams: GET /sse answers text/event-stream with one event at once and then one per
// second per connection (a single 1 s timer writes to every open stream); anything else 404.
//   node sse_upstream.js PORT
'use strict';
const http = require('http');
const port = Number(process.argv[2]);
const streams = new Set();
let seq = 0;

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' || !req.url.startsWith('/sse')) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not_found"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.socket.setNoDelay(true);
  res.write(`event: message\ndata: {"seq":${seq}}\n\n`);
  streams.add(res);
  res.on('close', () => streams.delete(res));
});
server.requestTimeout = 0;
server.keepAliveTimeout = 5000;
setInterval(() => {
  seq++;
  const event = `event: message\ndata: {"seq":${seq}}\n\n`;
  for (const res of streams) res.write(event);
}, 1000);
server.listen(port, '127.0.0.1', 4096, () => console.log(`listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
