// Reads results.tsv of run.sh (round, peer, req/s, p50 ms, p99 ms, non-2xx, socket errors, CPU µs per request of
// the serving process tree: one wrk run a line) and prints the markdown table: min / median / max over the
// rounds, and each peer's median req/s divided by nginx proxy_pass's median req/s (the same rounds, interleaved).
//   node summarize.js results.tsv
'use strict';
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const peers = [];
const by = {};
for (const [round, peer, rps, p50, p99, non2xx, errors, cpu] of rows) {
  if (!by[peer]) { by[peer] = { rps: [], p99: [], cpu: [], non2xx: 0, errors: 0 }; peers.push(peer); }
  by[peer].rps.push(Number(rps));
  if (cpu !== undefined) by[peer].cpu.push(Number(cpu));
  by[peer].p99.push(Number(p99));
  by[peer].non2xx += Number(non2xx);
  by[peer].errors += Number(errors);
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mmm = (v, f) => [Math.min(...v), median(v), Math.max(...v)].map(f).join(' / ');
const int = (x) => Math.round(x).toLocaleString('en-US');
const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
const ref = by['nginx'] ? median(by['nginx'].rps) : null;

const us = (x) => x.toFixed(1);
console.log('| peer | req/s min / median / max | p99 ms min / median / max | median req/s ÷ nginx | CPU µs per request, median | non-2xx, socket errors |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const p of peers) {
  const r = by[p];
  const ratio = ref ? (median(r.rps) / ref).toFixed(2) : 'n/a';
  const cpu = r.cpu.length ? us(median(r.cpu)) : 'n/a';
  console.log(`| ${p} | ${mmm(r.rps, int)} | ${mmm(r.p99, ms)} | ${ratio} | ${cpu} | ${r.non2xx}, ${r.errors} |`);
}
