// verify_bench.mjs — what the Node stack an MCP server author would otherwise pick (`jose`: createLocalJWKSet +
// jwtVerify, the usual pairing behind @modelcontextprotocol/sdk's bearer-auth middleware) pays per token.
//
//   node verify_bench.mjs FIXTURES.json [SECONDS_PER_ALG]
//
// FIXTURES.json comes from `jose_bench --export-fixtures=FILE`: the very tokens, key sets, issuer, audience and
// clock mcpgate's verifier checks in that run. Prints one JSON object per algorithm: wall-clock ns per
// verification of a sequential `await jwtVerify(...)` loop (the latency one request sees) and the process's CPU
// time per verification (all threads), after a warm-up.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [fixturesPath, secondsArg] = process.argv.slice(2);
if (!fixturesPath) {
  console.error('usage: node verify_bench.mjs FIXTURES.json [SECONDS_PER_ALG]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 2);
const fixtures = JSON.parse(readFileSync(fixturesPath, 'utf8'));

for (const [alg, f] of Object.entries(fixtures)) {
  const keys = createLocalJWKSet(f.jwks);
  const options = {
    issuer: f.issuer,
    audience: f.audience,
    algorithms: [alg],
    currentDate: new Date(f.now * 1000),
  };
  const verifyOnce = async () => {
    const { payload } = await jwtVerify(f.token, keys, options);
    if (payload.iss !== f.issuer) throw new Error(`${alg}: unexpected issuer`);
  };
  for (let i = 0; i < 200; i++) await verifyOnce();  // warm-up: key import cached, JIT settled
  let iterations = 0;
  const cpuStart = process.cpuUsage();  // every thread of the process: WebCrypto verifies on libuv's pool
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 100; i++) await verifyOnce();
    iterations += 100;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuStart);
  console.log(JSON.stringify({
    alg,
    iterations,
    ns_per_op: Number(now - start) / iterations,
    cpu_ns_per_op: ((cpu.user + cpu.system) * 1e3) / iterations,
  }));
}
