// End-to-end, OAuth mode, SDK v2, stateless: the MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0,
// pinned to protocol 2026-07-28: no initialize, no session) with an OAuthClientProvider against the v2 stateless
// server (server.mjs, createMcpHandler) through `mcpgate serve`, the fake Stytch as authorization server
// (tests/e2e/fake_stytch.mjs: RFC 9728 discovery through the gateway, RFC 8414 metadata, RFC 7591 registration,
// PKCE S256, authorization code). Then a step-up: its mcp:read token calls create_page (a rule asks mcp:write), the
// gateway answers 403 insufficient_scope with the union scope (held + needed), the SDK starts a new authorization
// with exactly that scope; the app finishes it (finishAuth with the code) and retries. A denied tool (run_sql) is a
// 403 without a challenge: no re-authorization. Run by tests/e2e/v2/stateless_server_test.sh (route: scopes
// mcp:read; run_sql denied; create_* needs mcp:write). The authorization redirect is followed programmatically, as
// in oauth_step_up_v2_test.mjs; the v2 SDK adds offline_access (the fake lists it in scopes_supported).
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { OAuthTestProvider } from "../oauth_provider.mjs";

import {
  Client,
  StreamableHTTPClientTransport,
  SdkHttpError,
  InsufficientScopeError,
  UnauthorizedError,
} from "@modelcontextprotocol/client";

const url = new URL(required("MCPGATE_E2E_URL"));
const upstream = required("MCPGATE_E2E_UPSTREAM");
const VERSION = "2026-07-28";
const stytch = required("MCPGATE_E2E_STYTCH");

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

async function stytchLog(endpoint) {
  const log = await (await fetch(`${stytch}/_test/log`)).json();
  return log.filter((e) => e.endpoint === endpoint);
}


// Every request says Accept-Encoding: identity, as in oauth_step_up_v2_test.mjs. The fetch keeps every POST's
// MCP-Protocol-Version and Mcp-Session-Id, and the WWW-Authenticate of every 403, to check the gateway's challenges.
const challenges403 = [];
const posts = [];
async function identityFetch(input, init) {
  const headers = new Headers(init?.headers);
  headers.set("accept-encoding", "identity");
  const response = await fetch(input, { ...init, headers });
  if (init?.method === "POST" && `${input}` === url.href) {
    posts.push({
      version: headers.get("mcp-protocol-version"),
      session: headers.get("mcp-session-id") ?? response.headers.get("mcp-session-id"),
      method: typeof init.body === "string" ? JSON.parse(init.body).method : undefined,
      status: response.status,
    });
  }
  if (response.status === 403) challenges403.push(response.headers.get("www-authenticate"));
  return response;
}

const provider = new OAuthTestProvider("mcpgate-e2e-v2-oauth");
function transport() {
  return new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: identityFetch });
}
function newClient() {
  return new Client({ name: "mcpgate-e2e-v2-stateless-oauth", version: "1.0.0" }, {
    versionNegotiation: { mode: { pin: VERSION } },
  });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let client, current;

check("connect without a token: 401 → discovery → registration → authorization with scope mcp:read (+ offline_access)", async () => {
  const first = newClient();
  const t = transport();
  await assert.rejects(first.connect(t), (e) => {
    assert.ok(e instanceof UnauthorizedError, `UnauthorizedError (the SDK waits for the redirect), got ${e}`);
    return true;
  });
  assert.equal((await stytchLog("register")).length, 1, "one dynamic client registration");
  assert.equal(provider.authorizeUrls.length, 1);
  const asked = provider.authorizeUrls[0];
  assert.equal(`${asked.origin}${asked.pathname}`, `${stytch}/oauth/authorize`);
  assert.equal(asked.searchParams.get("scope"), "mcp:read offline_access",
    "the scope of the gateway's 401 challenge, plus the offline_access the v2 SDK adds");
  assert.equal(asked.searchParams.get("prompt"), "consent", "v2 asks for consent along with offline_access");
  assert.equal(asked.searchParams.get("code_challenge_method"), "S256");
  assert.equal(asked.searchParams.get("resource"), url.href, "RFC 8707 resource: the gateway's public URL");
  await t.finishAuth(provider.code);
  assert.equal(provider.tokens()?.scope, "mcp:read offline_access");
  assert.ok(provider.tokens()?.refresh_token, "offline_access brings a refresh token");
});

check(`connect again with the mcp:read token on ${VERSION}: no initialize, no session`, async () => {
  posts.length = 0;
  client = newClient();
  current = transport();
  await client.connect(current);
  assert.equal(client.getServerVersion()?.name, "mcpgate-e2e-v2", "the server's identity came through");
  assert.equal(current.sessionId, undefined, "stateless: the transport holds no session id");
  assert.ok(posts.length > 0, "the connect went over HTTP");
  for (const p of posts) {
    assert.equal(p.version, VERSION, `${p.method} says ${VERSION}`);
    assert.equal(p.session, null, "no Mcp-Session-Id either way");
    assert.ok(p.status >= 200 && p.status < 300, `${p.method} answered ${p.status}`);
  }
  assert.ok(!posts.some((p) => p.method === "initialize"), "2026-07-28 has no initialize handshake");
});

check("an allowed tool works with the JWT: read_page reaches the server with the Stytch subject and mcp:read", async () => {
  assert.equal(textOf(await client.callTool({ name: "read_page", arguments: { title: "home" } })), "Welcome home");
  const call = (await stats()).requests.filter((r) => r.method === "tools/call").at(-1);
  assert.equal(call.subject, "user-test-e2e-0000-1111");
  assert.equal(call.scopes, "mcp:read offline_access");
  assert.equal(call.authorization, null, "the gateway does not pass the JWT upstream");
  assert.equal(call.protocol_version, VERSION);
  assert.deepEqual(await upstreamCalls(), { read_page: 1 });
});

check("tools/list hides the denied run_sql and marks create_page as needing mcp:write", async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["create_page", "read_page"]);
  const create = tools.find((t) => t.name === "create_page");
  const schemes = create._meta?.securitySchemes ?? create.securitySchemes;
  assert.deepEqual(schemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
});

check("create_page with mcp:read: 403 insufficient_scope → the SDK re-authorizes with the union scope, adding mcp:write", async () => {
  await assert.rejects(client.callTool({ name: "create_page", arguments: { title: "up", body: "stepped up" } }), (e) => {
    // The v2 SDK handles the 403 itself up to the redirect (its auth() returns REDIRECT for a browser flow), then
    // throws UnauthorizedError: it does not retry the call; the app finishes the authorization and calls again.
    assert.ok(e instanceof UnauthorizedError, `UnauthorizedError (step-up redirect started), got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof InsufficientScopeError), "with an OAuth provider the step-up is not surfaced as InsufficientScopeError");
    return true;
  });
  assert.equal(challenges403.length, 1, "one 403: the SDK does not resend the call before the app finishes");
  assert.match(challenges403[0] ?? "", /error="insufficient_scope"/);
  assert.match(challenges403[0], /scope="mcp:read offline_access mcp:write"/, "held + route + needed scopes");
  assert.equal(provider.authorizeUrls.length, 2, "a second authorization request");
  const asked = provider.authorizeUrls[1];
  // The gateway's challenge is held + route + needed = "mcp:read offline_access mcp:write"; the SDK asks for
  // exactly that union (computeScopeUnion of its scope, the token's and the challenge's).
  assert.equal(asked.searchParams.get("scope"), "mcp:read offline_access mcp:write", "the union scope of the 403 challenge");
  assert.equal(asked.searchParams.get("resource"), url.href);
  assert.equal((await stytchLog("register")).length, 1, "the registered client is reused");
  assert.equal((await upstreamCalls()).create_page, undefined, "the refused create_page never reached the server");
});

check("after the redirect: the new token holds both scopes and the retried create_page succeeds, still stateless", async () => {
  posts.length = 0;
  await current.finishAuth(provider.code);
  assert.equal(provider.tokens()?.scope, "mcp:read offline_access mcp:write");
  const result = await client.callTool({ name: "create_page", arguments: { title: "up", body: "stepped up" } });
  assert.equal(textOf(result), "created up");
  assert.equal(current.sessionId, undefined);
  assert.equal((await upstreamCalls()).create_page, 1, "create_page reached the server once");
  const call = (await stats()).requests.filter((r) => r.method === "tools/call").at(-1);
  assert.equal(call.subject, "user-test-e2e-0000-1111");
  assert.equal(call.scopes, "mcp:read offline_access mcp:write");
  assert.equal(textOf(await client.callTool({ name: "read_page", arguments: { title: "up" } })), "stepped up");
  for (const p of posts) assert.deepEqual([p.version, p.session], [VERSION, null], `${p.method}`);
});

check("a denied tool (run_sql) with an auth provider: 403 -32003 surfaces as an SdkHttpError, no re-authorization", async () => {
  const before = provider.authorizeUrls.length;
  challenges403.length = 0;
  await assert.rejects(client.callTool({ name: "run_sql", arguments: { sql: "drop table pages" } }), (e) => {
    assert.ok(e instanceof SdkHttpError, `an SdkHttpError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof InsufficientScopeError), "a deny is no step-up");
    assert.equal(e.data?.status, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.equal(provider.authorizeUrls.length, before, "a deny is not a challenge: the SDK does not re-authorize");
  assert.deepEqual(challenges403, [null], "one 403, without WWW-Authenticate");
  assert.equal((await upstreamCalls()).run_sql, undefined, "the denied run_sql never reached the server");
});

check("close: two code exchanges, no refresh; the upstream got read_page x2 and create_page once, never a session", async () => {
  await client.close();
  const tokens = await stytchLog("token");
  assert.deepEqual(tokens.map((t) => t.grant_type), ["authorization_code", "authorization_code"], "two code exchanges, no refresh");
  assert.deepEqual(await upstreamCalls(), { read_page: 2, create_page: 1 });
  assert.ok(!(await stats()).requests.some((r) => r.session), "no request upstream carried a session");
});

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
process.exit(0);
