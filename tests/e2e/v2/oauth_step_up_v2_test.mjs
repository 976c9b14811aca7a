// End-to-end, OAuth mode, SDK v2: the MCP TypeScript SDK v2 client (@modelcontextprotocol/client 2.4.0, unpinned:
// 2025 sessions with the example server) with an OAuthClientProvider runs the whole OAuth 2.1 flow against the fake
// Stytch (tests/e2e/fake_stytch.mjs: RFC 9728 discovery through the gateway, RFC 8414 metadata, RFC 7591
// registration, PKCE S256, authorization code) and then steps up: its mcp:read token calls echo (a rule asks
// mcp:write), the gateway answers 403 insufficient_scope with the union scope (held + needed), the SDK starts a new
// authorization with exactly that scope; the app finishes it (finishAuth with the code) and retries, as with v1.
// Run by tests/e2e/v2/example_server_test.sh (route: scopes mcp:read; countdown denied; echo needs mcp:write).
// The authorization redirect is followed programmatically: redirectToAuthorization fetches the authorize URL the
// SDK hands it (the fake approves at once) and keeps the code from the 302's Location, as a browser would.
// Unlike v1, the v2 SDK adds offline_access to the scope it asks for (the fake's metadata lists it in
// scopes_supported and the client registers the refresh_token grant), so the fake issues a refresh token too; the
// step-up still re-authorizes (not refreshes: the union scope is a strict superset of the token's).
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
const recorder = required("MCPGATE_E2E_RECORDER");
const stytch = required("MCPGATE_E2E_STYTCH");

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
// It also keeps the WWW-Authenticate of every 403, to check the gateway's step-up challenge.
const challenges403 = [];
async function identityFetch(input, init) {
  const headers = new Headers(init?.headers);
  headers.set("accept-encoding", "identity");
  const response = await fetch(input, { ...init, headers });
  if (response.status === 403) challenges403.push(response.headers.get("www-authenticate"));
  return response;
}

const provider = new OAuthTestProvider("mcpgate-e2e-v2-oauth");
function transport() {
  return new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: identityFetch });
}

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

let client, current;

check("connect without a token: 401 → discovery → registration → authorization with scope mcp:read (+ offline_access)", async () => {
  const first = new Client({ name: "mcpgate-e2e-v2-oauth", version: "1.0.0" });
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

check("connect again with the mcp:read token: initialize goes through", async () => {
  client = new Client({ name: "mcpgate-e2e-v2-oauth", version: "1.0.0" });
  current = transport();
  await client.connect(current);
  assert.equal(client.getServerVersion()?.name, "mcpgate-example");
  assert.match(current.sessionId ?? "", /^ms1\./, "a sealed session id");
});

check("an allowed tool works with the JWT: whoami sees the Stytch subject and mcp:read", async () => {
  const who = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Source"], "jwt");
  assert.equal(who["X-Auth-Subject"], "user-test-e2e-0000-1111");
  assert.equal(who["X-Auth-Scopes"], "mcp:read offline_access");
});

check("tools/list hides the denied countdown and marks echo as needing mcp:write", async () => {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["echo", "whoami"]);
  const echo = tools.find((t) => t.name === "echo");
  assert.deepEqual(echo._meta?.securitySchemes, [{ type: "oauth2", scopes: ["mcp:read", "mcp:write"] }]);
});

check("echo with mcp:read: 403 insufficient_scope → the SDK re-authorizes with the union scope, adding mcp:write", async () => {
  await assert.rejects(client.callTool({ name: "echo", arguments: { text: "stepped up" } }), (e) => {
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
  assert.ok(!(await upstreamCalls()).includes("echo"), "the refused echo never reached the server");
});

check("after the redirect: the new token holds both scopes and the retried echo succeeds on the same session", async () => {
  const session = current.sessionId;
  await current.finishAuth(provider.code);
  assert.equal(provider.tokens()?.scope, "mcp:read offline_access mcp:write");
  const result = await client.callTool({ name: "echo", arguments: { text: "stepped up" } });
  assert.equal(textOf(result), "stepped up");
  assert.equal(current.sessionId, session, "the sealed session belongs to the same principal");
  assert.deepEqual((await upstreamCalls()).filter((n) => n === "echo"), ["echo"], "echo reached the server once");
  const who = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
  assert.equal(who["X-Auth-Scopes"], "mcp:read offline_access mcp:write");
});

check("a denied tool with an auth provider: 403 -32003 surfaces as an SdkHttpError, no re-authorization", async () => {
  const before = provider.authorizeUrls.length;
  challenges403.length = 0;
  await assert.rejects(client.callTool({ name: "countdown", arguments: { from: 1, interval_ms: 0 } }), (e) => {
    assert.ok(e instanceof SdkHttpError, `an SdkHttpError, got ${e?.constructor?.name}: ${e}`);
    assert.ok(!(e instanceof InsufficientScopeError), "a deny is no step-up");
    assert.equal(e.data?.status, 403);
    assert.match(e.message, /-32003/);
    return true;
  });
  assert.equal(provider.authorizeUrls.length, before, "a deny is not a challenge: the SDK does not re-authorize");
  assert.deepEqual(challenges403, [null], "one 403, without WWW-Authenticate");
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
process.exit(0);
