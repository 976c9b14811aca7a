// End-to-end, OAuth mode: the official MCP TypeScript SDK v1 client (@modelcontextprotocol/sdk 1.32.2) with an
// OAuthClientProvider runs the whole OAuth 2.1 flow against the fake Stytch (fake_stytch.mjs: RFC 9728 discovery
// through the gateway, RFC 8414 metadata, RFC 7591 registration, PKCE S256, authorization code) and then steps up:
// its mcp:read token calls echo (a rule asks mcp:write), the gateway answers 403 insufficient_scope with
// scope="mcp:read mcp:write", the SDK re-authorizes with exactly that scope and the retried call succeeds.
// Run by tests/e2e/rules_test.sh (route: scopes mcp:read; countdown denied; echo needs mcp:write).
// The authorization redirect is followed programmatically: redirectToAuthorization fetches the authorize URL the
// SDK hands it (the fake approves at once) and keeps the code from the 302's Location, as a browser would.
// Each check prints one "ok" or "FAIL" line; the exit status is 1 when any failed.
import assert from "node:assert/strict";
import { OAuthTestProvider } from "./oauth_provider.mjs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const url = new URL(required("MCPGATE_E2E_URL"));
const recorder = required("MCPGATE_E2E_RECORDER");
const stytch = required("MCPGATE_E2E_STYTCH");

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

async function upstreamCalls() {
  const recorded = await (await fetch(`${recorder}/_recorded`)).json();
  return recorded.flatMap((r) => r.rpc).filter((m) => m.method === "tools/call").map((m) => m.name);
}

async function stytchLog(endpoint) {
  const log = await (await fetch(`${stytch}/_test/log`)).json();
  return log.filter((e) => e.endpoint === endpoint);
}


// Every request says Accept-Encoding: identity: a compressed list answer is a separate gateway defect, covered by
// rules_client_test.mjs; here the subject is the OAuth flow.
async function identityFetch(input, init) {
  const headers = new Headers(init?.headers);
  headers.set("accept-encoding", "identity");
  return fetch(input, { ...init, headers });
}

const provider = new OAuthTestProvider("mcpgate-e2e-oauth");
function transport() {
  return new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: identityFetch });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let client, current;

check("connect without a token: 401 → discovery → registration → authorization with scope mcp:read", async () => {
  const first = new Client({ name: "mcpgate-e2e-oauth", version: "1.0.0" });
  const t = transport();
  await assert.rejects(first.connect(t), (e) => {
    assert.ok(e instanceof UnauthorizedError, `UnauthorizedError (the SDK waits for the redirect), got ${e}`);
    return true;
  });
  assert.equal((await stytchLog("register")).length, 1, "one dynamic client registration");
  assert.equal(provider.authorizeUrls.length, 1);
  const asked = provider.authorizeUrls[0];
  assert.equal(`${asked.origin}${asked.pathname}`, `${stytch}/oauth/authorize`);
  assert.equal(asked.searchParams.get("scope"), "mcp:read", "the scope of the gateway's 401 challenge");
  assert.equal(asked.searchParams.get("code_challenge_method"), "S256");
  assert.equal(asked.searchParams.get("resource"), url.href, "RFC 8707 resource: the gateway's public URL");
  await t.finishAuth(provider.code);
  assert.equal(provider.tokens()?.scope, "mcp:read");
});

check("connect again with the mcp:read token: initialize goes through", async () => {
  client = new Client({ name: "mcpgate-e2e-oauth", version: "1.0.0" });
  current = transport();
  await client.connect(current);
  assert.equal(client.getServerVersion()?.name, "mcpgate-example");
  assert.ok(current.sessionId);
});

check("an allowed tool works with the JWT: whoami sees the Stytch subject and mcp:read", async () => {
  const who = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Source"], "jwt");
  assert.equal(who["X-Auth-Subject"], "user-test-e2e-0000-1111");
  assert.equal(who["X-Auth-Scopes"], "mcp:read");
});

check("tools/list hides the denied countdown and marks echo as needing mcp:write", async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["echo", "whoami"]);
  const echo = tools.find((t) => t.name === "echo");
  assert.deepEqual(echo._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
});

check("echo with mcp:read: 403 insufficient_scope → the SDK re-authorizes with scope \"mcp:read mcp:write\"", async () => {
  await assert.rejects(client.callTool({ name: "echo", arguments: { text: "stepped up" } }), (e) => {
    assert.ok(e instanceof UnauthorizedError, `UnauthorizedError (step-up redirect started), got ${e}`);
    return true;
  });
  assert.equal(provider.authorizeUrls.length, 2, "a second authorization request");
  const asked = provider.authorizeUrls[1];
  assert.equal(asked.searchParams.get("scope"), "mcp:read mcp:write", "the union scope of the 403 challenge");
  assert.equal(asked.searchParams.get("resource"), url.href);
  assert.equal((await stytchLog("register")).length, 1, "the registered client is reused");
  assert.ok(!(await upstreamCalls()).includes("echo"), "the refused echo never reached the server");
});

check("after the redirect: the new token holds both scopes and the retried echo succeeds on the same session", async () => {
  const session = current.sessionId;
  await current.finishAuth(provider.code);
  assert.equal(provider.tokens()?.scope, "mcp:read mcp:write");
  const result = await client.callTool({ name: "echo", arguments: { text: "stepped up" } });
  assert.equal(textOf(result), "stepped up");
  assert.equal(current.sessionId, session, "the sealed session belongs to the same principal");
  assert.deepEqual((await upstreamCalls()).filter((n) => n === "echo"), ["echo"], "echo reached the server once");
  const who = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Scopes"], "mcp:read mcp:write");
});

check("a denied tool with an auth provider: 403 -32003 surfaces as a StreamableHTTPError, no re-authorization", async () => {
  const before = provider.authorizeUrls.length;
  await assert.rejects(client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.ok(e instanceof StreamableHTTPError, `a StreamableHTTPError, got ${e?.constructor?.name}: ${e}`);
    assert.equal(e.code, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.equal(provider.authorizeUrls.length, before, "a deny is not a challenge: the SDK does not re-authorize");
  assert.ok(!(await upstreamCalls()).includes("countdown"));
});

check("close the session", async () => {
  await client.close();
  const tokens = await stytchLog("token");
  assert.deepEqual(
    tokens.map((t) => t.grant_type),
    ["authorization_code", "authorization_code"],
    "two code exchanges, no refresh",
  );
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
