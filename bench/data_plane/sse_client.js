// Opens N concurrent SSE streams (GET, Authorization: Bearer TOKEN, one connection each, no keep-alive pool), at
// most 100 connecting at a time, and holds them. Prints, one JSON line each:
//   READY {"opened":..,"failed":..,"not_tried":..,"open_seconds":..,"failures":{..}}   all tried (or 60 s gone):
//         a stream counts as opened once its first event arrived; failures counts why the others did not
//         ("HTTP 503", "timeout", "ECONNRESET", "closed": ended before its first event)
//   RECEIVING {"receiving":..,"still_open":..}   3 s later: open streams that got an event in those 3 s
// then keeps them open until HOLD_S seconds after READY or SIGTERM, closes them all and exits.
//   node sse_client.js URL TOKEN N [HOLD_S=30]
'use strict';
const http = require('http');
const [url, token, nArg, holdArg] = process.argv.slice(2);
const n = Number(nArg), holdMs = 1000 * Number(holdArg || 30);
const CONCURRENT = 100, CONNECT_TIMEOUT_MS = 5000, OPEN_DEADLINE_MS = 60000, CHECK_MS = 3000;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

const streams = [];  // {req, events, open}
const failures = {};
let opened = 0, failed = 0, started = 0, inFlight = 0, ready = false, checking = false;
const t0 = Date.now();

function openOne() {
  started++; inFlight++;
  const s = { req: null, events: 0, open: false };
  let settled = false;
  const settle = (ok, why) => {
    if (settled) return;
    settled = true; inFlight--;
    if (ok) { opened++; s.open = true; } else { failed++; failures[why] = (failures[why] || 0) + 1; }
    pump();
  };
  s.req = http.get(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) { res.resume(); settle(false, `HTTP ${res.statusCode}`); s.req.destroy(); return; }
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const k = chunk.split('\n\n').length - 1;
      if (k > 0) { s.events += k; s.req.setTimeout(0); settle(true); }
    });
    res.on('close', () => { s.open = false; settle(false, 'closed'); });
  });
  s.req.setTimeout(CONNECT_TIMEOUT_MS, () => { settle(false, 'timeout'); s.req.destroy(); });
  s.req.on('error', (err) => { s.open = false; settle(false, err.code || err.message); });
  streams.push(s);
}

function pump() {
  if (ready) return;
  while (inFlight < CONCURRENT && started < n && Date.now() - t0 < OPEN_DEADLINE_MS) openOne();
  if (inFlight === 0 && (started === n || Date.now() - t0 >= OPEN_DEADLINE_MS)) onReady();
}

function onReady() {
  ready = true;
  console.log('READY ' + JSON.stringify({ opened, failed, not_tried: n - started, open_seconds: (Date.now() - t0) / 1000, failures }));
  const before = streams.map((s) => s.events);
  setTimeout(() => {
    let receiving = 0, stillOpen = 0;
    streams.forEach((s, i) => { if (s.open) { stillOpen++; if (s.events > before[i]) receiving++; } });
    console.log('RECEIVING ' + JSON.stringify({ receiving, still_open: stillOpen }));
  }, CHECK_MS);
  setTimeout(finish, holdMs);
}

function finish() {
  for (const s of streams) s.req.destroy();
  setTimeout(() => process.exit(0), 200);
}
process.on('SIGTERM', finish);
// The open phase is bounded even when connections hang without ever settling.
setTimeout(() => { if (!ready) { inFlight = 0; onReady(); } }, OPEN_DEADLINE_MS + CONNECT_TIMEOUT_MS + 1000);
pump();
