// oauth_provider.mjs — the in-memory OAuthClientProvider the OAuth end-to-end tests use (SDK v1 and v2 share the
// interface), as an MCP host would implement one: dynamic registration, PKCE, state, discovery state; the
// "browser" is a fetch of the authorize URL that stops at the 302 and keeps the code for finishAuth().
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

export class OAuthTestProvider {
  redirectUrl = "http://127.0.0.1:9/oauth/callback"; // never contacted: the code is read from the 302
  clientMetadata = {
    client_name: "",
    redirect_uris: [this.redirectUrl],
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
  #client;
  #tokens;
  #verifier;
  #state;
  #discovery;
  authorizeUrls = [];
  code;

  constructor(clientName) {
    this.clientMetadata.client_name = clientName;
  }

  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens) {
    this.#tokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  saveDiscoveryState(state) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
  state() {
    this.#state = randomUUID();
    return this.#state;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizeUrls.push(new URL(authorizationUrl));
    const response = await fetch(authorizationUrl, { redirect: "manual" });
    assert.equal(response.status, 302, `the authorization server approves: ${await response.clone().text()}`);
    const back = new URL(response.headers.get("location"));
    assert.equal(`${back.origin}${back.pathname}`, this.redirectUrl);
    assert.equal(back.searchParams.get("state"), this.#state, "state comes back unchanged");
    this.code = back.searchParams.get("code");
    assert.ok(this.code, "the redirect carries a code");
  }
}
