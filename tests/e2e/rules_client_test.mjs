// End-to-end, bearer mode: the official MCP TypeScript SDK v1 client (@modelcontextprotocol/sdk,
// StreamableHTTPClientTransport, no auth provider) through `mcpgate serve` on a route with [[routes.rules]], in
// front of the example MCP server (2025 sessions). Run by tests/e2e/rules_test.sh, which starts everything:
//   route scopes mcp:read; tools/call countdown: deny; tools/call echo: needs mcp:write; whoami: route scope only.
// Two static tokens: reader (mcp:read) and writer (mcp:read mcp:write). The upstream is a recording pass-through,
// so every refusal is also checked to have never reached the server.
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

const url = new URL(required("MCPGATE_E2E_URL"));
const readerToken = required("MCPGATE_E2E_READER_TOKEN");
const writerToken = required("MCPGATE_E2E_WRITER_TOKEN");
const recorder = required("MCPGATE_E2E_RECORDER");
const gatewayLog = required("MCPGATE_E2E_GATEWAY_LOG");
const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: ${name} is not set (tests/e2e/rules_test.sh sets it)`);
    process.exit(1);
  }
  return value;
}

function textOf(result) {
  assert.ok(Array.isArray(result.content) && result.content.length > 0, "a tool result has content");
  assert.equal(result.content[0].type, "text");
  return result.content[0].text;
}

// The tools/call names the upstream (the example server) has received so far.
async function upstreamCalls() {
  const recorded = await (await fetch(`${recorder}/_recorded`)).json();
  return recorded.flatMap((r) => r.rpc).filter((m) => m.method === "tools/call").map((m) => m.name);
}

// A client whose transport keeps every non-2xx answer the gateway gave, to look at its headers.
// With identity: true every request says Accept-Encoding: identity instead of undici's default
// "gzip, deflate, br" (the example server, cpp-httplib with zlib, compresses when asked).
async function connect(token, { identity = false } = {}) {
  const refusals = [];
  const recordingFetch = async (input, init) => {
    if (identity) {
      const headers = new Headers(init?.headers);
      headers.set("accept-encoding", "identity");
      init = { ...init, headers };
    }
    const response = await fetch(input, init);
    if (!response.ok) refusals.push(response.clone());
    return response;
  };
  const client = new Client({ name: "mcpgate-e2e-rules", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport, refusals };
}

function accessLog() {
  return readFileSync(gatewayLog, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let reader, writer;

check("the reader (mcp:read) connects: initialize matches no rule", async () => {
  reader = await connect(readerToken);
  assert.equal(reader.client.getServerVersion()?.name, "mcpgate-example");
  assert.ok(reader.transport.sessionId, "the gateway handed out a (sealed) Mcp-Session-Id");
});

async function assertReaderList(client) {
  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(byName).sort(), ["echo", "whoami"], "countdown (deny) is filtered out");
  // The gateway writes securitySchemes both as a tool member and in _meta; the v1 SDK's ToolSchema (a plain
  // z.object) drops unknown members, so what its callers see is _meta.securitySchemes.
  assert.equal(byName.echo.securitySchemes, undefined, "v1 SDK 1.32.2 strips the top-level member");
  assert.deepEqual(byName.echo._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
  assert.deepEqual(byName.whoami._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read"] }]);
  assert.ok(byName.echo.inputSchema?.properties?.text, "the rest of the tool is as the server sent it");
}

check("tools/list for the reader (Accept-Encoding: identity) hides the denied countdown, echo has step-up _meta.securitySchemes", async () => {
  const plain = await connect(readerToken, { identity: true });
  await assertReaderList(plain.client);
  await plain.client.close();
});

check("the same tools/list with the SDK's default Accept-Encoding (gzip, deflate, br) from a compressing upstream", async () => {
  await assertReaderList(reader.client);
});

check("an allowed tool works: whoami reaches the server with the reader's identity", async () => {
  const who = JSON.parse(textOf(await reader.client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Subject"], "e2e-reader-subject");
  assert.equal(who["X-Auth-Scopes"], "mcp:read");
  assert.deepEqual(await upstreamCalls(), ["whoami"]);
});

check("a tool behind mcp:write: the SDK (no auth provider) rejects with a 403 StreamableHTTPError naming insufficient_scope", async () => {
  reader.refusals.length = 0;
  await assert.rejects(reader.client.callTool({ name: "echo", arguments: { text: "not for readers" } }), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof McpError), "not a JSON-RPC error: the answer is an HTTP refusal");
    assert.equal(e.code, 403);
    assert.match(e.message, /insufficient_scope/);
    return true;
  });
  assert.equal(reader.refusals.length, 1, "exactly one refused request");
  const refusal = reader.refusals[0];
  assert.equal(refusal.status, 403);
  const params = extractWWWAuthenticateParams(refusal);
  assert.equal(params.error, "insufficient_scope");
  assert.equal(params.scope, "mcp:read mcp:write", "the step-up asks for held + route + needed scopes");
  assert.equal(params.resourceMetadataUrl?.href, metadataUrl);
  assert.deepEqual(await upstreamCalls(), ["whoami"], "the refused echo never reached the server");
});

check("a denied tool: the SDK rejects with a 403 StreamableHTTPError carrying JSON-RPC -32003, no challenge", async () => {
  reader.refusals.length = 0;
  await assert.rejects(reader.client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof McpError), "the v1 transport does not turn a 403 body into an McpError");
    assert.equal(e.code, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.equal(reader.refusals.length, 1);
  const refusal = reader.refusals[0];
  assert.equal(refusal.headers.get("www-authenticate"), null, "a deny carries no challenge: no token would help");
  const body = await refusal.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.error.code, -32003);
  assert.equal(typeof body.id, "number", "the error answers the request's id");
  assert.deepEqual(await upstreamCalls(), ["whoami"], "the denied countdown never reached the server");
});

check("the session outlives the refusals: whoami again on the same session", async () => {
  const sessionBefore = reader.transport.sessionId;
  const who = JSON.parse(textOf(await reader.client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Subject"], "e2e-reader-subject");
  assert.equal(reader.transport.sessionId, sessionBefore);
});

check("a body that calls echo under an Mcp-Name of whoami is 400 -32020 and never forwarded", async () => {
  const before = await upstreamCalls();
  const response = await fetch(url, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${writerToken}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Mcp-Session-Id": reader.transport.sessionId,
      "Mcp-Method": "tools/call",
      "Mcp-Name": "whoami",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "countdown", arguments: { from: 1 } } }),
  });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error?.code, -32020, JSON.stringify(body));
  assert.deepEqual(await upstreamCalls(), before);
});

check("the writer (mcp:read mcp:write) lists echo and whoami, still without countdown", async () => {
  writer = await connect(writerToken, { identity: true });
  const { tools } = await writer.client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["echo", "whoami"]);
  const echo = tools.find((t) => t.name === "echo");
  assert.deepEqual(echo._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
});

check("the writer's echo is allowed and reaches the server", async () => {
  const result = await writer.client.callTool({ name: "echo", arguments: { text: "written through the rules" } });
  assert.equal(textOf(result), "written through the rules");
  assert.deepEqual((await upstreamCalls()).slice(-1), ["echo"]);
});

check("the writer's countdown is denied all the same (-32003)", async () => {
  await assert.rejects(writer.client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.equal(e.code, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.ok(!(await upstreamCalls()).includes("countdown"), "no countdown ever reached the server");
});

check("the access log names the rule and the reason of each refusal", async () => {
  await reader.client.close();
  await writer.client.close();
  const refused = accessLog()
    .filter((l) => l.msg === "access" && l.reason)
    .map((l) => [l.subject, l.mcp_method, l.mcp_target, l.rule, l.reason, l.status]);
  assert.deepEqual(refused, [
    ["e2e-reader-subject", "tools/call", "echo", "echo-writes", "insufficient_scope", 403],
    ["e2e-reader-subject", "tools/call", "countdown", "no-countdown", "call_denied", 403],
    // A body inspection refuses has no method yet (docs/authorization.md, Audit).
    ["e2e-writer-subject", undefined, undefined, undefined, "mcp_header_mismatch", 400],
    ["e2e-writer-subject", "tools/call", "countdown", "no-countdown", "call_denied", 403],
  ]);
});

// Every check runs (later ones do not depend on an earlier one passing); any failure makes the exit status 1.
let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}\n${e?.stack ?? e}`);
  }
}
if (failed) {
  console.error(`${failed} of ${checks.length} checks failed`);
  process.exit(1);
}
console.log(`all ${checks.length} checks passed`);
