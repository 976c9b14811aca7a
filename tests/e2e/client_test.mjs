// End-to-end: the official MCP TypeScript SDK (@modelcontextprotocol/sdk, StreamableHTTPClientTransport) talks
// to the example MCP server through `mcpgate serve`. Run by tests/e2e/e2e_test.sh, which starts both:
//   MCPGATE_E2E_URL=http://127.0.0.1:PORT/mcp MCPGATE_E2E_TOKEN=mcpg_... MCPGATE_E2E_SUBJECT=e2e-subject \
//     node tests/e2e/client_test.mjs
// Each check prints one "ok" line; the first failure prints "FAIL ..." and exits 1.
import assert from "node:assert/strict";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from "@modelcontextprotocol/sdk/client/auth.js";

const url = new URL(required("MCPGATE_E2E_URL"));
const token = required("MCPGATE_E2E_TOKEN");
const subject = required("MCPGATE_E2E_SUBJECT");

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: ${name} is not set (tests/e2e/e2e_test.sh sets it)`);
    process.exit(1);
  }
  return value;
}

function textOf(result) {
  assert.ok(Array.isArray(result.content) && result.content.length > 0, "a tool result has content");
  assert.equal(result.content[0].type, "text");
  return result.content[0].text;
}

async function connect(headers) {
  const client = new Client({ name: "mcpgate-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let client;

check("connect with the static token (initialize through the gateway)", async () => {
  client = await connect({ Authorization: `Bearer ${token}` });
  assert.equal(client.getServerVersion()?.name, "mcpgate-example");
});

check("tools/list shows echo, whoami and countdown", async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, ["countdown", "echo", "whoami"]);
});

check("tools/call echo returns the text", async () => {
  const result = await client.callTool({ name: "echo", arguments: { text: "héllo through mcpgate" } });
  assert.equal(textOf(result), "héllo through mcpgate");
});

check("tools/call countdown streams its progress over SSE before the result", async () => {
  const from = 3;
  const intervalMs = 300;
  const started = performance.now();
  const progress = [];
  const result = await client.callTool({ name: "countdown", arguments: { from, interval_ms: intervalMs } }, undefined, {
    onprogress: (p) => progress.push({ ...p, at: performance.now() - started }),
  });
  const resultAt = performance.now() - started;
  assert.equal(textOf(result), "liftoff");
  assert.deepEqual(
    progress.map((p) => p.progress),
    [1, 2, 3],
    "every progress notification arrived, in order, before the result",
  );
  assert.equal(progress[0].total, from);
  // The first notification is written before the server's first sleep: a gateway that buffered the response
  // would deliver it together with the result, about from * intervalMs later.
  assert.ok(
    resultAt - progress[0].at >= intervalMs,
    `first progress at ${progress[0].at.toFixed(0)} ms, result at ${resultAt.toFixed(0)} ms: not streamed`,
  );
});

check("tools/call whoami shows the subject the gateway injected (X-Auth-Subject)", async () => {
  const who = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Subject"], subject);
  assert.equal(who["X-Auth-Source"], "static");
  assert.equal(who["X-Auth-Scopes"], "mcp:read");
});

check("close the session", async () => {
  await client.close();
});

check("without the token: 401, and the SDK finds the RFC 9728 metadata from WWW-Authenticate", async () => {
  let challenged;
  const recordingFetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) challenged = response.clone();
    return response;
  };
  const bare = new Client({ name: "mcpgate-e2e-anonymous", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, { fetch: recordingFetch });
  await assert.rejects(bare.connect(transport), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e}`);
    assert.equal(e.code, 401);
    return true;
  });
  assert.ok(challenged, "the gateway answered 401");
  const { resourceMetadataUrl, error } = extractWWWAuthenticateParams(challenged);
  assert.equal(error, undefined, "no credentials: a challenge without error= (RFC 6750 §3.1)");
  assert.equal(
    resourceMetadataUrl?.href,
    `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`,
    "WWW-Authenticate carries resource_metadata",
  );
  const metadata = await discoverOAuthProtectedResourceMetadata(url, { resourceMetadataUrl });
  assert.equal(metadata.resource, url.href);
  assert.ok(metadata.authorization_servers?.length > 0, "the metadata names an authorization server");
});

check("a wrong token is refused with 401", async () => {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: "Bearer mcpg_not-the-right-token-000000000000" } },
  });
  await assert.rejects(new Client({ name: "mcpgate-e2e-wrong", version: "1.0.0" }).connect(transport), (e) => {
    assert.equal(e.code, 401);
    return true;
  });
});

for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    console.error(`FAIL ${name}\n${e?.stack ?? e}`);
    process.exit(1);
  }
}
console.log(`all ${checks.length} checks passed`);
