// End-to-end, 2025 sessions: the MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0, unpinned, no
// auth provider, static bearer tokens) through `mcpgate serve` on a route with [[routes.rules]], in front of the
// example MCP server behind a recording pass-through (tests/e2e/upstream_recorder.mjs). Run by
// tests/e2e/v2/example_server_test.sh, which starts everything:
//   route scopes mcp:read; tools/call countdown: deny; tools/call echo: needs mcp:write; whoami: route scope only.
// Unpinned, the v2 client offers 2025-11-25 in initialize; the example server answers 2025-06-18 (its version), which
// the client accepts, and the gateway hands out a sealed session id (ms1.…) that the client sends from then on.
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  Client,
  StreamableHTTPClientTransport,
  InsufficientScopeError,
  SdkHttpError,
  ProtocolError,
  extractWWWAuthenticateParams,
} from "@modelcontextprotocol/client";

const url = new URL(required("MCPGATE_E2E_URL"));
const readerToken = required("MCPGATE_E2E_READER_TOKEN");
const writerToken = required("MCPGATE_E2E_WRITER_TOKEN");
const recorder = required("MCPGATE_E2E_RECORDER");
const gatewayLog = required("MCPGATE_E2E_GATEWAY_LOG");
const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: ${name} is not set (tests/e2e/v2/example_server_test.sh sets it)`);
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

// An unpinned v2 client whose transport records every exchange (request headers and body, response status, headers
// and a clone). Accept-Encoding: identity keeps the answers plain to read back (compression is rules_client_test's).
async function connect(token) {
  const exchanges = [];
  const recordingFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("accept-encoding", "identity");
    const response = await fetch(input, { ...init, headers });
    exchanges.push({
      method: init?.method ?? "GET",
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      status: response.status,
      response: response.clone(),
    });
    return response;
  };
  const client = new Client({ name: "mcpgate-e2e-v2-example", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport, exchanges };
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

check("the unpinned reader offers 2025-11-25, gets 2025-06-18 from the example server and a sealed ms1. session", async () => {
  reader = await connect(readerToken);
  const init = reader.exchanges.find((x) => x.body?.method === "initialize");
  assert.ok(init, "a 2025 client starts with initialize");
  assert.equal(init.body.params.protocolVersion, "2025-11-25", "the v2 SDK's latest 2025 version");
  assert.equal(init.headers.get("mcp-session-id"), null, "no session before initialize");
  assert.equal(init.status, 200);
  const sessionId = init.response.headers.get("mcp-session-id");
  assert.match(sessionId ?? "", /^ms1\./, "the gateway seals the upstream's session id");
  assert.equal(reader.transport.sessionId, sessionId, "the transport keeps the sealed id");
  assert.equal(reader.client.getNegotiatedProtocolVersion(), "2025-06-18", "the example server's version is accepted");
  assert.equal(reader.client.getServerVersion()?.name, "mcpgate-example");
  const after = reader.exchanges.filter((x) => x !== init && x.body);
  assert.ok(after.some((x) => x.body.method === "notifications/initialized"));
  for (const x of after) {
    assert.equal(x.headers.get("mcp-session-id"), sessionId, `${x.body.method} carries the session`);
    assert.equal(x.headers.get("mcp-protocol-version"), "2025-06-18");
  }
});

check("an allowed tool works on the session: whoami reaches the server with the reader's identity", async () => {
  reader.exchanges.length = 0;
  const who = JSON.parse(textOf(await reader.client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Subject"], "e2e-reader-subject");
  assert.equal(who["X-Auth-Scopes"], "mcp:read");
  assert.equal(who["X-Auth-Source"], "static");
  const call = reader.exchanges.find((x) => x.body?.method === "tools/call");
  assert.match(call.headers.get("mcp-session-id") ?? "", /^ms1\./);
  assert.equal(call.status, 200);
  assert.deepEqual(await upstreamCalls(), ["whoami"]);
});

check("tools/list hides the denied countdown; echo keeps its step-up securitySchemes (in _meta: v2 drops the member)", async () => {
  reader.exchanges.length = 0;
  const { tools } = await reader.client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(byName).sort(), ["echo", "whoami"], "countdown (deny) is filtered out");
  // The gateway writes securitySchemes both as a tool member and in _meta; the v2 client's tool schema (2.4.0) does
  // not keep the top-level member either, so what its callers see is _meta.securitySchemes.
  assert.equal(byName.echo.securitySchemes, undefined, "v2 SDK 2.4.0 strips the top-level member");
  assert.deepEqual(byName.echo._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
  assert.deepEqual(byName.whoami._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read"] }]);
  assert.ok(byName.echo.inputSchema?.properties?.text, "the rest of the tool is as the server sent it");
  const list = reader.exchanges.find((x) => x.body?.method === "tools/list");
  const wire = await list.response.clone().text();
  assert.match(wire, /"securitySchemes"/);
  assert.doesNotMatch(wire, /countdown/, "countdown is not on the wire either");
});

check("echo (mcp:write) with the reader: InsufficientScopeError with the union scope, no retry, never forwarded", async () => {
  reader.exchanges.length = 0;
  await assert.rejects(reader.client.callTool({ name: "echo", arguments: { text: "not for readers" } }), (e) => {
    assert.ok(e instanceof InsufficientScopeError, `an InsufficientScopeError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof ProtocolError), "not a JSON-RPC error: the answer is an HTTP refusal");
    assert.equal(e.requiredScope, "mcp:read mcp:write", "the step-up asks for held + route + needed scopes");
    assert.equal(e.errorDescription, "The token lacks a scope this route requires.");
    // [stytch] is configured here, so the challenge names the gateway's protected-resource metadata.
    assert.equal(String(e.resourceMetadataUrl?.href ?? e.resourceMetadataUrl), metadataUrl);
    return true;
  });
  assert.equal(reader.exchanges.length, 1, "exactly one request: without an auth provider the SDK does not retry");
  const refused = reader.exchanges[0];
  assert.equal(refused.status, 403);
  assert.equal(refused.headers.get("mcp-name"), null, "a 2025 client sends no Mcp-Name header");
  const params = extractWWWAuthenticateParams(refused.response);
  assert.equal(params.error, "insufficient_scope");
  assert.equal(params.scope, "mcp:read mcp:write");
  assert.equal(params.resourceMetadataUrl?.href, metadataUrl);
  assert.deepEqual(await upstreamCalls(), ["whoami"], "the refused echo never reached the server");
});

check("countdown (denied): SdkHttpError 403 carrying JSON-RPC -32003, no challenge, never forwarded", async () => {
  reader.exchanges.length = 0;
  // The v2 transport throws an SdkHttpError (code CLIENT_HTTP_NOT_IMPLEMENTED, the generic non-2xx POST code) for a
  // 403 without insufficient_scope; it turns a 4xx body into a JSON-RPC error only for a 400 on 2026 requests.
  await assert.rejects(reader.client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.ok(e instanceof SdkHttpError, `an SdkHttpError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof InsufficientScopeError), "a deny is no step-up");
    assert.ok(!(e instanceof ProtocolError), "not surfaced as a JSON-RPC error");
    assert.equal(e.code, "CLIENT_HTTP_NOT_IMPLEMENTED");
    assert.equal(e.data?.status, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.equal(reader.exchanges.length, 1, "exactly one request");
  const refused = reader.exchanges[0];
  assert.equal(refused.status, 403);
  assert.equal(refused.response.headers.get("www-authenticate"), null, "a deny carries no challenge");
  const body = await refused.response.json();
  assert.equal(body.error?.code, -32003, JSON.stringify(body));
  assert.equal(body.id, refused.body.id, "the error answers the request's id");
  assert.deepEqual(await upstreamCalls(), ["whoami"], "the denied countdown never reached the server");
});

check("the session outlives the refusals: whoami again on the same session", async () => {
  const sessionBefore = reader.transport.sessionId;
  const who = JSON.parse(textOf(await reader.client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Subject"], "e2e-reader-subject");
  assert.equal(reader.transport.sessionId, sessionBefore);
  assert.deepEqual(await upstreamCalls(), ["whoami", "whoami"]);
});

check("the writer (mcp:read mcp:write) gets its own session, may call echo, and countdown is still denied", async () => {
  writer = await connect(writerToken);
  assert.match(writer.transport.sessionId ?? "", /^ms1\./);
  assert.notEqual(writer.transport.sessionId, reader.transport.sessionId);
  const { tools } = await writer.client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["echo", "whoami"]);
  assert.equal(textOf(await writer.client.callTool({ name: "echo", arguments: { text: "written" } })), "written");
  await assert.rejects(writer.client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.ok(e instanceof SdkHttpError && !(e instanceof InsufficientScopeError), `${e?.constructor?.name}: ${e}`);
    assert.equal(e.data?.status, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
});

check("the upstream never saw a refused call: only whoami x2 and the writer's echo", async () => {
  assert.deepEqual(await upstreamCalls(), ["whoami", "whoami", "echo"]);
});

check("the access log names the rule and the reason of each refusal", async () => {
  const refused = accessLog()
    .filter((l) => l.msg === "access" && l.reason)
    .map((l) => [l.subject, l.mcp_method, l.mcp_target, l.rule, l.reason, l.status]);
  assert.deepEqual(refused, [
    ["e2e-reader-subject", "tools/call", "echo", "echo-writes", "insufficient_scope", 403],
    ["e2e-reader-subject", "tools/call", "countdown", "no-countdown", "call_denied", 403],
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
await reader?.client.close().catch(() => {});
await writer?.client.close().catch(() => {});
if (failed) {
  console.error(`${failed} of ${checks.length} checks failed`);
  process.exit(1);
}
console.log(`all ${checks.length} checks passed`);
process.exit(0);
