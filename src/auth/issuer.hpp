// issuer.hpp — what a configured token issuer accepts, and where its keys come from.
//
//   std::vector<mcpgate::auth::IssuerProfile> profiles = mcpgate::auth::derive_issuer_profiles(config);
//   const auto& stytch = profiles[0];
//   stytch.issuers;    // {"https://login.example.com", "stytch.com/project-live-123"}
//   stytch.audiences;  // {"project-live-123", <[stytch] audiences...>}
//   stytch.jwks_uri;   // "https://login.example.com/.well-known/jwks.json"
//   auto loader = mcpgate::auth::make_key_set_loader(stytch, fetcher);   // for JwksCache::create
//
// The Stytch profile derives everything from project_id and domain (docs/configuration.md [stytch]): both issuer
// spellings
// (`https://{domain}` and the scheme-less `stytch.com/{project_id}` used through the API host), the project
// id as audience, RS256 only, JWKS at {domain}/.well-known/jwks.json, and the B2B organization allow-list. A
// generic
// [[issuers]] entry gives its issuer, audiences and algorithms; without jwks_uri the loader discovers it from
// {issuer}/.well-known/openid-configuration (OIDC Discovery §4) and then the RFC 8414 §3
// oauth-authorization-server document, checking that the document's "issuer" is the configured one (RFC 8414
// §3.3).
#pragma once

#include <mcpgate/config.hpp>
#include <memory>
#include <string>
#include <vector>

#include "auth/jwks_cache.hpp"
#include "auth/jwks_fetcher.hpp"
#include "jose/algorithm.hpp"

namespace mcpgate::auth {

struct IssuerProfile {
  std::string name;  // "stytch" or the issuer URL: logs, metrics, the CLI
  bool is_stytch = false;
  std::vector<std::string> issuers;  // accepted "iss" values (exact match)
  std::vector<std::string> audiences;
  jose::AlgorithmSet algorithms;
  std::string jwks_uri;  // empty: discover from `discovery_issuer`
  std::string discovery_issuer;
  std::string jwks_file;  // a fixed local key set instead
  bool allow_insecure = false;
  std::vector<std::string> allowed_organizations;  // Stytch B2B: empty = any
};

std::vector<IssuerProfile> derive_issuer_profiles(const Config& config);

// Loads the profile's key set over `fetcher` (discovering jwks_uri first when needed; the discovered URI is
// kept). A fetched body that is not a key set, or holds no usable key, is a failure (the old keys stay in
// service).
KeySetLoader make_key_set_loader(const IssuerProfile& profile, std::shared_ptr<JwksFetcher> fetcher);

// Reads a JWKS file (jwks_file): the set, or an error message naming the file.
KeySetFetch load_key_set_file(const std::string& path);

}  // namespace mcpgate::auth
