// End-to-end, stateless: the MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0, pinned to protocol
// 2026-07-28, no auth provider, static bearer tokens) through `mcpgate serve` on a route with [[routes.rules]], in
// front of server.mjs (a v2 stateless server: createMcpHandler). Run by tests/e2e/v2/v2_test.sh, which starts both:
//   route scopes mcp:read; tools/call run_sql: deny; tools/call create_*: needs mcp:write; read_page: route scope.
// Every refusal is also checked to have never reached the server (server.mjs counts calls, GET /_stats).
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import {
  Client,
  StreamableHTTPClientTransport,
  InsufficientScopeError,
  SdkHttpError,
  extractWWWAuthenticateParams,
} from "@modelcontextprotocol/client";

const VERSION = "2026-07-28";
const url = new URL(required("MCPGATE_E2E_URL"));
const readerToken = required("MCPGATE_E2E_READER_TOKEN");
const writerToken = required("MCPGATE_E2E_WRITER_TOKEN");
const upstream = required("MCPGATE_E2E_UPSTREAM");
const gatewayLog = required("MCPGATE_E2E_GATEWAY_LOG");

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: ${name} is not set (tests/e2e/v2/v2_test.sh sets it)`);
    process.exit(1);
  }
  return value;
}

function textOf(result) {
  assert.ok(Array.isArray(result.content) && result.content.length > 0, "a tool result has content");
  assert.equal(result.content[0].type, "text");
  return result.content[0].text;
}

async function stats() {
  return (await fetch(`${upstream}/_stats`)).json();
}
async function upstreamCalls() {
  return (await stats()).calls;
}

// A v2 client pinned to 2026-07-28 whose transport records every exchange (request headers and body, response
// status, headers and a clone) to look at what went over the wire.
async function connect(token) {
  const exchanges = [];
  const recordingFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const response = await fetch(input, init);
    exchanges.push({
      method: init?.method ?? "GET",
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      status: response.status,
      response: response.clone(),
    });
    return response;
  };
  const client = new Client({ name: "mcpgate-e2e-v2", version: "1.0.0" }, {
    versionNegotiation: { mode: { pin: VERSION } },
  });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport, exchanges };
}

// The JSON-RPC answer of a recorded exchange, JSON or an SSE stream's last data line.
async function answerOf(exchange) {
  const text = await exchange.response.clone().text();
  if ((exchange.response.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => JSON.parse(l.slice(5)));
    return data.filter((m) => "result" in m || "error" in m).at(-1);
  }
  return JSON.parse(text);
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

check(`the reader connects on ${VERSION}, stateless: no session is sent or handed out, and the exchange works end to end`, async () => {
  reader = await connect(readerToken);
  assert.ok(reader.exchanges.length > 0, "the connect went over HTTP");
  assert.equal(reader.transport.sessionId, undefined, "the transport holds no session id");
  for (const x of reader.exchanges) {
    assert.equal(x.headers.get("mcp-session-id"), null, "the client sent no Mcp-Session-Id");
    assert.equal(x.response.headers.get("mcp-session-id"), null, "the gateway handed out no Mcp-Session-Id");
    assert.ok(x.status >= 200 && x.status < 300, `connect exchange ${x.body?.method} answered ${x.status}`);
  }
  const posts = reader.exchanges.filter((x) => x.body);
  assert.ok(posts.length > 0);
  for (const x of posts) assert.equal(x.headers.get("mcp-protocol-version"), VERSION, `${x.body.method} says ${VERSION}`);
  assert.ok(!posts.some((x) => x.body.method === "initialize"), "2026-07-28 has no initialize handshake");
  assert.equal(reader.client.getServerVersion()?.name, "mcpgate-e2e-v2", "the server's identity came through");
  const seen = (await stats()).requests;
  assert.ok(seen.length > 0, "the upstream saw the connect");
  for (const r of seen) {
    assert.equal(r.session, null, "the upstream got no Mcp-Session-Id");
    assert.equal(r.protocol_version, VERSION);
  }
});

check("read_page (route scope only) works and reaches the server with the reader's identity, no bearer token", async () => {
  const result = await reader.client.callTool({ name: "read_page", arguments: { title: "home" } });
  assert.equal(textOf(result), "Welcome home");
  assert.deepEqual(await upstreamCalls(), { read_page: 1 });
  const call = (await stats()).requests.filter((r) => r.method === "tools/call").at(-1);
  assert.equal(call.subject, "e2e-v2-reader-subject");
  assert.equal(call.scopes, "mcp:read");
  assert.equal(call.authorization, null, "the gateway does not pass the bearer token upstream");
  assert.equal(call.session, null);
});

check("tools/list for the reader hides the denied run_sql, create_page names mcp:write, the result is cacheScope private", async () => {
  reader.exchanges.length = 0;
  const { tools } = await reader.client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(byName).sort(), ["create_page", "read_page"], "run_sql (deny) is filtered out");
  const schemes = byName.create_page._meta?.securitySchemes ?? byName.create_page.securitySchemes;
  assert.deepEqual(schemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
  const readSchemes = byName.read_page._meta?.securitySchemes ?? byName.read_page.securitySchemes;
  assert.deepEqual(readSchemes, [{ type: "oauth2", scopes: ["mcp:read"] }]);
  assert.ok(byName.create_page.inputSchema?.properties?.body, "the rest of the tool is as the server sent it");
  const list = reader.exchanges.find((x) => x.body?.method === "tools/list");
  assert.ok(list, "tools/list went over HTTP");
  assert.equal(list.status, 200);
  assert.equal(list.headers.get("mcp-method"), "tools/list");
  const answer = await answerOf(list);
  assert.equal(answer.result?.cacheScope, "private", `the list result: ${JSON.stringify(answer.result).slice(0, 200)}`);
  assert.ok(!answer.result.tools.some((t) => t.name === "run_sql"), "run_sql is not on the wire either");
});

check("create_page with the reader (mcp:read): InsufficientScopeError asking for the union scope mcp:read mcp:write", async () => {
  reader.exchanges.length = 0;
  await assert.rejects(reader.client.callTool({ name: "create_page", arguments: { title: "x", body: "not for readers" } }), (e) => {
    assert.ok(e instanceof InsufficientScopeError, `an InsufficientScopeError, got ${e?.constructor?.name}: ${e}`);
    assert.equal(e.requiredScope, "mcp:read mcp:write", "the step-up asks for held + route + needed scopes");
    // No [stytch] here (bearer tokens only), so the challenge carries no resource_metadata.
    assert.equal(e.errorDescription, "The token lacks a scope this route requires.");
    return true;
  });
  const refused = reader.exchanges.filter((x) => x.status !== 200);
  assert.equal(refused.length, 1, "exactly one refused request");
  assert.equal(refused[0].status, 403);
  assert.equal(refused[0].headers.get("mcp-name"), "create_page", "the client sent Mcp-Name");
  const params = extractWWWAuthenticateParams(refused[0].response);
  assert.equal(params.error, "insufficient_scope");
  assert.equal(params.scope, "mcp:read mcp:write");
  assert.equal((await upstreamCalls()).create_page, undefined, "the refused create_page never reached the server");
});

check("run_sql (denied): the call fails with JSON-RPC -32003, no challenge, never reaches the server", async () => {
  reader.exchanges.length = 0;
  // The v2 transport throws an SdkHttpError for a 403 without insufficient_scope (it parses a 4xx body as JSON-RPC
  // only for a 400); the body, with -32003, is in its message.
  await assert.rejects(reader.client.callTool({ name: "run_sql", arguments: { sql: "drop table pages" } }), (e) => {
    assert.ok(e instanceof SdkHttpError, `an SdkHttpError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof InsufficientScopeError), "a deny is no step-up");
    assert.equal(e.status ?? e.data?.status, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  const refused = reader.exchanges.filter((x) => x.status !== 200);
  assert.equal(refused.length, 1, "exactly one refused request");
  assert.equal(refused[0].status, 403);
  assert.equal(refused[0].response.headers.get("www-authenticate"), null, "a deny carries no challenge");
  const body = await refused[0].response.json();
  assert.equal(body.error?.code, -32003, JSON.stringify(body));
  assert.equal(body.id, refused[0].body.id, "the error answers the request's id");
  assert.equal((await upstreamCalls()).run_sql, undefined, "the denied run_sql never reached the server");
});

check("the writer (mcp:read mcp:write) sees create_page, not run_sql, and may call create_page", async () => {
  writer = await connect(writerToken);
  assert.equal(writer.transport.sessionId, undefined);
  const { tools } = await writer.client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["create_page", "read_page"]);
  const result = await writer.client.callTool({ name: "create_page", arguments: { title: "notes", body: "written" } });
  assert.equal(textOf(result), "created notes");
  assert.equal((await upstreamCalls()).create_page, 1);
  const call = (await stats()).requests.filter((r) => r.method === "tools/call").at(-1);
  assert.equal(call.subject, "e2e-v2-writer-subject");
  assert.equal(call.scopes, "mcp:read mcp:write");
  assert.equal(textOf(await writer.client.callTool({ name: "read_page", arguments: { title: "notes" } })), "written");
});

check("a raw POST whose Mcp-Name (read_page) disagrees with the body (create_page) is 400 -32020, never forwarded", async () => {
  const before = await upstreamCalls();
  const response = await fetch(url, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${writerToken}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": VERSION,
      "Mcp-Method": "tools/call",
      "Mcp-Name": "read_page",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "create_page", arguments: { title: "sneak", body: "in" } } }),
  });
  assert.equal(response.status, 400);
  const body = await response.json();
  assert.equal(body.error?.code, -32020, JSON.stringify(body));
  assert.match(body.error?.message ?? "", /Mcp-Name/i, "the message names the header");
  assert.deepEqual(await upstreamCalls(), before, "nothing reached the server");
});

check("the upstream never received a refused call: only read_page x2 and the writer's create_page", async () => {
  assert.deepEqual(await upstreamCalls(), { read_page: 2, create_page: 1 });
  assert.ok(!(await stats()).requests.some((r) => r.session), "no request upstream carried a session");
});

check("the access log names the rule and the reason of each refusal", async () => {
  const refused = accessLog()
    .filter((l) => l.msg === "access" && l.reason)
    .map((l) => [l.subject, l.mcp_method, l.mcp_target, l.rule, l.reason, l.status]);
  assert.deepEqual(refused, [
    ["e2e-v2-reader-subject", "tools/call", "create_page", "creates-write", "insufficient_scope", 403],
    ["e2e-v2-reader-subject", "tools/call", "run_sql", "no-sql", "call_denied", 403],
    ["e2e-v2-writer-subject", undefined, undefined, undefined, "mcp_header_mismatch", 400],
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
