// End-to-end, bearer mode: the MCP TypeScript SDK v1 client (@modelcontextprotocol/sdk 1.32.2, no auth provider,
// static bearer tokens) against the v2 stateless server (v2/server.mjs: @modelcontextprotocol/server 2.4.0,
// createMcpHandler) through `mcpgate serve` on a route with [[routes.rules]]. Run by v2/stateless_server_test.sh:
//   route scopes mcp:read; tools/call run_sql: deny; tools/call create_*: needs mcp:write; read_page: route scope.
// The v2 stateless server accepts a v1 client: v1 sends initialize offering 2025-11-25, the server answers it with
// 2025-11-25 and no Mcp-Session-Id (createMcpHandler builds one McpServer per request), so the v1 client runs
// sessionless on 2025-11-25; its standalone GET SSE stream is refused (405) and the client carries on without it.
// Every refusal is also checked to have never reached the server (server.mjs counts calls, GET /_stats).
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

const V1_VERSION = "2025-11-25";
const url = new URL(required("MCPGATE_E2E_URL"));
const readerToken = required("MCPGATE_E2E_READER_TOKEN");
const writerToken = required("MCPGATE_E2E_WRITER_TOKEN");
const upstream = required("MCPGATE_E2E_UPSTREAM");
const gatewayLog = required("MCPGATE_E2E_GATEWAY_LOG");
const metadataUrl = `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`FAIL: ${name} is not set (tests/e2e/v2/stateless_server_test.sh sets it)`);
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

// A v1 client whose transport records every exchange (request method, headers and body, response status, headers
// and body). A POST's answer is read whole here and handed to the transport as a new Response: the v1 transport
// never finishes reading an SSE answer while an unread clone of it is kept (with or without the gateway in
// between), and every POST answer of this stateless server is finite. A GET's body is left to the transport.
async function connect(token) {
  const exchanges = [];
  const recordingFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    let response = await fetch(input, init);
    const method = init?.method ?? "GET";
    const text = method === "POST" ? await response.text() : undefined;
    if (text !== undefined) {
      response = new Response(response.status === 202 || response.status === 204 ? null : text, {
        status: response.status,
        headers: response.headers,
      });
    }
    exchanges.push({
      method,
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      status: response.status,
      response: { headers: response.headers, text, json: () => JSON.parse(text) },
    });
    return response;
  };
  const client = new Client({ name: "mcpgate-e2e-v1-stateless", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: recordingFetch,
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return { client, transport, exchanges };
}

// The JSON-RPC answer of a recorded exchange, JSON or an SSE stream's last data line.
async function answerOf(exchange) {
  const text = exchange.response.text;
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

check(`the v1 reader connects: initialize offers ${V1_VERSION}, the v2 stateless server accepts it, no session`, async () => {
  reader = await connect(readerToken);
  const init = reader.exchanges.find((x) => x.body?.method === "initialize");
  assert.ok(init, "v1 sends initialize");
  assert.equal(init.body.params.protocolVersion, V1_VERSION);
  assert.equal(init.status, 200);
  const answer = await answerOf(init);
  assert.equal(answer.result?.protocolVersion, V1_VERSION, "the server answers the 2025 version v1 offered");
  assert.equal(answer.result?.serverInfo?.name, "mcpgate-e2e-v2");
  assert.equal(reader.client.getServerVersion()?.name, "mcpgate-e2e-v2", "the server's identity came through");
  assert.equal(reader.transport.sessionId, undefined, "no Mcp-Session-Id: the gateway seals no session it was not given");
  for (const x of reader.exchanges) {
    assert.equal(x.response.headers.get("mcp-session-id"), null, `no Mcp-Session-Id on the ${x.method} ${x.body?.method ?? ""} answer`);
    assert.equal(x.headers.get("mcp-session-id"), null, "the client sent no Mcp-Session-Id");
  }
  const initialized = reader.exchanges.find((x) => x.body?.method === "notifications/initialized");
  assert.equal(initialized?.status, 202, "notifications/initialized is accepted");
  assert.equal(initialized.headers.get("mcp-protocol-version"), V1_VERSION);
  const seen = (await stats()).requests;
  assert.deepEqual(seen.map((r) => r.method), ["initialize", "notifications/initialized"]);
  for (const r of seen) assert.equal(r.session, null, "the upstream got no Mcp-Session-Id");
  assert.equal(seen[1].protocol_version, V1_VERSION);
});

check("the v1 client's standalone GET SSE stream is refused with 405 (the stateless server has none), the client carries on", async () => {
  // The transport opens it in the background after notifications/initialized; give it a moment.
  for (let i = 0; i < 50 && !reader.exchanges.some((x) => x.method === "GET"); i++) await new Promise((r) => setTimeout(r, 20));
  const gets = reader.exchanges.filter((x) => x.method === "GET");
  assert.equal(gets.length, 1, "one GET");
  assert.equal(gets[0].status, 405, "the server's 405 passes through the gateway");
  assert.equal(gets[0].response.headers.get("www-authenticate"), null);
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
  assert.equal(call.protocol_version, V1_VERSION);
});

check("tools/list for the reader hides the denied run_sql, create_page keeps _meta.securitySchemes naming mcp:write", async () => {
  reader.exchanges.length = 0;
  const { tools } = await reader.client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.deepEqual(Object.keys(byName).sort(), ["create_page", "read_page"], "run_sql (deny) is filtered out");
  // v1's ToolSchema drops the top-level member the gateway writes; what its callers see is _meta.securitySchemes.
  assert.equal(byName.create_page.securitySchemes, undefined, "v1 SDK 1.32.2 strips the top-level member");
  assert.deepEqual(byName.create_page._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
  assert.deepEqual(byName.read_page._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read"] }]);
  assert.ok(byName.create_page.inputSchema?.properties?.body, "the rest of the tool is as the server sent it");
  const list = reader.exchanges.find((x) => x.body?.method === "tools/list");
  assert.equal(list?.status, 200);
  const answer = await answerOf(list);
  assert.ok(!answer.result.tools.some((t) => t.name === "run_sql"), "run_sql is not on the wire either");
  assert.deepEqual(answer.result.tools.find((t) => t.name === "create_page").securitySchemes,
    [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }], "on the wire the gateway writes the member too");
});

check("create_page with the reader (mcp:read): a 403 StreamableHTTPError, the challenge asks for the union scope", async () => {
  reader.exchanges.length = 0;
  await assert.rejects(reader.client.callTool({ name: "create_page", arguments: { title: "x", body: "not for readers" } }), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof McpError), "not a JSON-RPC error: the answer is an HTTP refusal");
    assert.equal(e.code, 403);
    assert.match(e.message, /insufficient_scope/);
    return true;
  });
  const refused = reader.exchanges.filter((x) => x.status !== 200);
  assert.equal(refused.length, 1, "exactly one refused request: without an auth provider v1 does not retry");
  assert.equal(refused[0].status, 403);
  const params = extractWWWAuthenticateParams(refused[0].response);
  assert.equal(params.error, "insufficient_scope");
  assert.equal(params.scope, "mcp:read mcp:write", "held + route + needed scopes");
  assert.equal(params.resourceMetadataUrl?.href, metadataUrl);
  assert.equal((await upstreamCalls()).create_page, undefined, "the refused create_page never reached the server");
});

check("run_sql (denied): a 403 StreamableHTTPError carrying JSON-RPC -32003, no challenge, never reaches the server", async () => {
  reader.exchanges.length = 0;
  await assert.rejects(reader.client.callTool({ name: "run_sql", arguments: { sql: "drop table pages" } }), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof McpError), "the v1 transport does not turn a 403 body into an McpError");
    assert.equal(e.code, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  const refused = reader.exchanges.filter((x) => x.status !== 200);
  assert.equal(refused.length, 1);
  assert.equal(refused[0].response.headers.get("www-authenticate"), null, "a deny carries no challenge");
  const body = refused[0].response.json();
  assert.equal(body.error?.code, -32003, JSON.stringify(body));
  assert.equal(body.id, refused[0].body.id, "the error answers the request's id");
  assert.equal((await upstreamCalls()).run_sql, undefined, "the denied run_sql never reached the server");
});

check("the reader's client still works after the refusals: read_page again", async () => {
  assert.equal(textOf(await reader.client.callTool({ name: "read_page", arguments: { title: "home" } })), "Welcome home");
});

check("the v1 writer (mcp:read mcp:write) sees create_page, not run_sql, and may call create_page", async () => {
  writer = await connect(writerToken);
  assert.equal(writer.transport.sessionId, undefined);
  const { tools } = await writer.client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["create_page", "read_page"]);
  const result = await writer.client.callTool({ name: "create_page", arguments: { title: "notes", body: "written" } });
  assert.equal(textOf(result), "created notes");
  const call = (await stats()).requests.filter((r) => r.method === "tools/call").at(-1);
  assert.equal(call.subject, "e2e-v2-writer-subject");
  assert.equal(call.scopes, "mcp:read mcp:write");
  // The server is stateless per request but its page store is shared: the write is visible to the next request.
  assert.equal(textOf(await writer.client.callTool({ name: "read_page", arguments: { title: "notes" } })), "written");
});

check("the writer's run_sql is denied all the same (-32003)", async () => {
  await assert.rejects(writer.client.callTool({ name: "run_sql", arguments: { sql: "select 1" } }), (e) => {
    assert.equal(e.code, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
});

check("the upstream never received a refused call: read_page x3 and the writer's create_page only", async () => {
  assert.deepEqual(await upstreamCalls(), { read_page: 3, create_page: 1 });
  assert.ok(!(await stats()).requests.some((r) => r.session), "no request upstream carried a session");
});

check("the access log names the rule and the reason of each refusal", async () => {
  const refused = accessLog()
    .filter((l) => l.msg === "access" && l.reason)
    .map((l) => [l.subject, l.mcp_method, l.mcp_target, l.rule, l.reason, l.status]);
  assert.deepEqual(refused, [
    ["e2e-v2-reader-subject", "tools/call", "create_page", "creates-write", "insufficient_scope", 403],
    ["e2e-v2-reader-subject", "tools/call", "run_sql", "no-sql", "call_denied", 403],
    ["e2e-v2-writer-subject", "tools/call", "run_sql", "no-sql", "call_denied", 403],
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
