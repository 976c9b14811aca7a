// A fake Stytch project for the end-to-end tests: a real HTTP authorization server on 127.0.0.1 that plays the
// public endpoints of a Stytch Connected Apps project at Stytch's paths, so `mcpgate serve` can be configured with
// `[stytch] project_id / domain` pointing at it and a real MCP client can run the whole OAuth 2.1 flow.
//   node fake_stytch.mjs      # prints one JSON line: {"url":"http://127.0.0.1:PORT","project_id":"project-test-..."}
// Serves (the same documents and paths as tests/support/fake_stytch.cpp, plus the flow that one lacks):
//   GET  /.well-known/oauth-authorization-server, /.well-known/openid-configuration   RFC 8414 / OIDC metadata
//   GET  /.well-known/jwks.json          the RS256 public key
//   POST /v1/oauth2/register             RFC 7591 dynamic client registration (public clients, auth method none)
//   GET  /oauth/authorize                auto-approves: 302 to redirect_uri?code&state (PKCE S256 required)
//   POST /v1/oauth2/token                authorization_code (code_verifier checked) and refresh_token grants
//   GET  /_test/log                      every registration, authorization and token request, for assertions
// Tokens are Stytch-shaped JWTs: iss = the base URL, aud = [project_id], sub, scope (space-separated, exactly the
// scope the authorization request asked for), client_id, iat, nbf, exp. A refresh token is issued only when the
// scope holds offline_access (as Stytch does). Runs until SIGTERM.
import crypto from "node:crypto";
import http from "node:http";

const projectId = "project-test-11111111-2222-3333-4444-555555555555";
const subject = "user-test-e2e-0000-1111";
const kid = "fake-stytch-key-1";
const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };

const clients = new Map(); // client_id → registration
const codes = new Map(); // code → {client_id, redirect_uri, scope, challenge, resource}
const refreshTokens = new Map(); // refresh token → {client_id, scope, resource}
const log = [];
let base = "";

const b64url = (buf) => Buffer.from(buf).toString("base64url");
function sign(claims) {
  const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));
  const body = b64url(JSON.stringify(claims));
  const sig = crypto.sign("sha256", Buffer.from(`${head}.${body}`), privateKey);
  return `${head}.${body}.${b64url(sig)}`;
}

function metadata() {
  return {
    issuer: base,
    jwks_uri: `${base}/.well-known/jwks.json`,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/v1/oauth2/token`,
    registration_endpoint: `${base}/v1/oauth2/register`,
    introspection_endpoint: `${base}/v1/oauth2/introspect`,
    revocation_endpoint: `${base}/v1/oauth2/revoke`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_post"],
    scopes_supported: ["openid", "email", "profile", "offline_access"],
  };
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}
const oauthError = (res, error, description) => json(res, 400, { error, error_description: description });

function mint(clientId, scope, resource) {
  const now = Math.floor(Date.now() / 1000);
  const access = sign({
    iss: base,
    aud: [projectId],
    sub: subject,
    scope,
    client_id: clientId,
    iat: now,
    nbf: now,
    exp: now + 3600,
    jti: crypto.randomUUID(),
  });
  const answer = { access_token: access, token_type: "Bearer", expires_in: 3600, scope };
  if (scope.split(" ").includes("offline_access")) {
    const refresh = b64url(crypto.randomBytes(24));
    refreshTokens.set(refresh, { client_id: clientId, scope, resource });
    answer.refresh_token = refresh;
  }
  return answer;
}

function token(res, form) {
  const grant = form.get("grant_type");
  const clientId = form.get("client_id");
  if (!clients.has(clientId)) return json(res, 401, { error: "invalid_client" });
  if (grant === "authorization_code") {
    const entry = codes.get(form.get("code") ?? "");
    codes.delete(form.get("code") ?? "");
    if (!entry || entry.client_id !== clientId) return oauthError(res, "invalid_grant", "unknown or used code");
    if (entry.redirect_uri !== form.get("redirect_uri")) return oauthError(res, "invalid_grant", "redirect_uri");
    const verifier = form.get("code_verifier") ?? "";
    if (b64url(crypto.createHash("sha256").update(verifier).digest()) !== entry.challenge)
      return oauthError(res, "invalid_grant", "PKCE verification failed");
    return json(res, 200, mint(clientId, entry.scope, entry.resource));
  }
  if (grant === "refresh_token") {
    const entry = refreshTokens.get(form.get("refresh_token") ?? "");
    if (!entry || entry.client_id !== clientId) return oauthError(res, "invalid_grant", "unknown refresh token");
    // RFC 6749 §6: the refreshed token keeps the original scope (a narrower one may be asked for, never more).
    return json(res, 200, mint(clientId, entry.scope, entry.resource));
  }
  return oauthError(res, "unsupported_grant_type", String(grant));
}

function authorize(res, q) {
  const client = clients.get(q.get("client_id") ?? "");
  const redirect = q.get("redirect_uri") ?? "";
  if (!client || !client.redirect_uris.includes(redirect)) return oauthError(res, "invalid_request", "client");
  if (q.get("response_type") !== "code") return oauthError(res, "unsupported_response_type", "code only");
  if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
    return oauthError(res, "invalid_request", "PKCE S256 required");
  const code = b64url(crypto.randomBytes(18));
  codes.set(code, {
    client_id: client.client_id,
    redirect_uri: redirect,
    scope: q.get("scope") ?? "",
    challenge: q.get("code_challenge"),
    resource: q.get("resource"),
  });
  const to = new URL(redirect);
  to.searchParams.set("code", code);
  if (q.get("state") !== null) to.searchParams.set("state", q.get("state"));
  res.writeHead(302, { location: to.href }).end();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, base);
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = url.pathname;
    if (req.method === "GET" && path === "/_test/log") return json(res, 200, log);
    if (req.method === "GET" && (path === "/.well-known/oauth-authorization-server" || path === "/.well-known/openid-configuration"))
      return json(res, 200, metadata(), { "cache-control": "public, max-age=300" });
    if (req.method === "GET" && path === "/.well-known/jwks.json")
      return json(res, 200, { keys: [jwk] }, { "cache-control": "public, max-age=300" });
    if (req.method === "POST" && path === "/v1/oauth2/register") {
      let meta;
      try {
        meta = JSON.parse(body);
      } catch {
        return oauthError(res, "invalid_client_metadata", "not JSON");
      }
      if (!Array.isArray(meta.redirect_uris) || meta.redirect_uris.length === 0)
        return oauthError(res, "invalid_redirect_uri", "redirect_uris required");
      const registered = {
        ...meta,
        client_id: `connected-app-test-${crypto.randomUUID()}`,
        client_id_issued_at: Math.floor(Date.now() / 1000),
        token_endpoint_auth_method: "none",
      };
      clients.set(registered.client_id, registered);
      log.push({ endpoint: "register", client_id: registered.client_id, scope: meta.scope ?? null });
      return json(res, 201, registered);
    }
    if (req.method === "GET" && path === "/oauth/authorize") {
      log.push({ endpoint: "authorize", ...Object.fromEntries(url.searchParams) });
      return authorize(res, url.searchParams);
    }
    if (req.method === "POST" && path === "/v1/oauth2/token") {
      const form = new URLSearchParams(body);
      const entry = { endpoint: "token", ...Object.fromEntries(form) };
      for (const secret of ["code", "code_verifier", "refresh_token"]) if (entry[secret]) entry[secret] = "(set)";
      log.push(entry);
      return token(res, form);
    }
    json(res, 404, { error: "not_found" });
  });
});
server.listen(0, "127.0.0.1", () => {
  base = `http://127.0.0.1:${server.address().port}`;
  console.log(JSON.stringify({ url: base, project_id: projectId, subject }));
});
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
