// A legitimate client: COUNT sequential POST JSON-RPC requests, each on a new connection (as a client arriving
// while the proxy is under load would), each with a TIMEOUT_S deadline. Stops early after 3 timeouts in a row or
// after DEADLINE_S in all, so it is bounded whatever the proxy does. Prints one JSON line:
//   {"count":200,"ok":200,"non200":0,"errors":0,"timeouts":0,"gave_up":false,"p50_ms":..,"p99_ms":..,"max_ms":..,
//    "first_ms":..,"first_result":"ok"}   (percentiles over the successful requests; first_result: ok, non200,
//                                          timeout or error)
// WARMUP_URL (the upstream itself) gets 3 requests first, unmeasured, so that "first_ms" is the proxy's and not
// this process's cold start.
//   node probe.js URL TOKEN COUNT [TIMEOUT_S=5] [DEADLINE_S=60] [WARMUP_URL]
'use strict';
const http = require('http');
const [url, token, countArg, timeoutArg, deadlineArg, warmupUrl] = process.argv.slice(2);
const count = Number(countArg), timeoutMs = 1000 * Number(timeoutArg || 5), deadlineMs = 1000 * Number(deadlineArg || 60);
const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
const agent = new http.Agent({ keepAlive: false });

function once(target = url) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const done = (kind, status) => resolve({ kind, status, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json',
                 accept: 'application/json, text/event-stream', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode === 200 ? 'ok' : 'non200', res.statusCode));
      res.on('error', () => done('error'));
    });
    req.setTimeout(timeoutMs, () => { req.destroy(); done('timeout'); });
    req.on('error', () => done('error'));
    req.end(body);
  });
}

const pct = (sorted, p) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] : null;
const round = (x) => x === null ? null : Math.round(x * 1000) / 1000;

(async () => {
  if (warmupUrl) for (let i = 0; i < 3; i++) await once(warmupUrl);
  const start = Date.now();
  const out = { count: 0, ok: 0, non200: 0, errors: 0, timeouts: 0, gave_up: false };
  const ms = [];
  let inRow = 0, first = null;
  while (out.count < count) {
    if (Date.now() - start > deadlineMs || inRow >= 3) { out.gave_up = true; break; }
    const r = await once();  // a promise settles once: a destroy's 'error' after a timeout is not counted again
    out.count++;
    out[r.kind === 'ok' ? 'ok' : r.kind === 'non200' ? 'non200' : r.kind === 'timeout' ? 'timeouts' : 'errors']++;
    inRow = r.kind === 'timeout' ? inRow + 1 : 0;
    if (first === null) first = r;
    if (r.kind === 'ok') ms.push(r.ms);
  }
  ms.sort((a, b) => a - b);
  Object.assign(out, { p50_ms: round(pct(ms, 50)), p99_ms: round(pct(ms, 99)), max_ms: round(ms.length ? ms[ms.length - 1] : null),
                       first_ms: first ? round(first.ms) : null, first_result: first ? first.kind : null });
  console.log(JSON.stringify(out));
})();
