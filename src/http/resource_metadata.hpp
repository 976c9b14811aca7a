// resource_metadata.hpp — RFC 9728 Protected Resource Metadata: the canonical resource URLs and their
// documents.
//
//   std::string error;
//   auto prm = mcpgate::http::ResourceMetadata::create(config, &error);   // nullopt + error on a bad
//   public_url const auto* doc = prm->document_at("/.well-known/oauth-protected-resource/mcp");  // or the
//   root path doc->json;             //
//   {"resource":"https://mcp.example.com/mcp","authorization_servers":[...],...}
//   prm->resource_for("/mcp/x").metadata_url;   // for the challenge's resource_metadata (absolute URL)
//
// RFC 9728 §3.1: the document for resource https://host/mcp lives at
// https://host/.well-known/oauth-protected- resource/mcp, and §3.3: its "resource" MUST equal that
// identifier, so we publish the canonical form (lowercase scheme and host, default port dropped, no trailing
// slash, no fragment) that clients compare with what the user typed. The root document
// (/.well-known/oauth-protected-resource) describes the primary resource (MCP 2025-11-25 clients fall back to
// it). Members without a value are omitted (§2).
#pragma once

#include <mcpgate/config.hpp>
#include <mcpgate/status.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::http {

inline constexpr std::string_view kProtectedResourceWellKnown = "/.well-known/oauth-protected-resource";

struct CanonicalUrl {
  std::string origin;  // "https://mcp.example.com" (port kept only when not the scheme's default)
  std::string path;    // "/mcp", or "" for the origin itself
  std::string url() const { return origin + path; }
};

// Canonical form of an absolute http(s) URL; ConfigInvalid (the detail says why) for anything else, or one
// with a query.
Result<CanonicalUrl> canonicalize_resource_url(std::string_view url);

struct ProtectedResource {
  std::string path;           // "/mcp"
  std::string url;            // "https://mcp.example.com/mcp"
  std::string metadata_path;  // "/.well-known/oauth-protected-resource/mcp"
  std::string metadata_url;   // absolute
  std::string json;           // the document
};

class ResourceMetadata {
 public:
  // ConfigInvalid when the config cannot yield a valid document (the detail names the key).
  static Result<ResourceMetadata> create(const Config& config);

  // The document served at a well-known path (suffixed or root), or nullptr.
  const ProtectedResource* document_at(std::string_view path) const noexcept;
  // The resource a request path belongs to (longest matching resource path), else the primary one.
  const ProtectedResource& resource_for(std::string_view path) const noexcept;
  const std::vector<ProtectedResource>& resources() const noexcept { return resources_; }
  const ProtectedResource& primary() const noexcept { return resources_[primary_]; }
  const std::string& origin() const noexcept { return origin_; }
  const std::vector<std::string>& scopes_supported() const noexcept { return scopes_; }
  // False for a static-token-only gateway (no [stytch], no [[issuers]]): there is no authorization server to
  // name, so no RFC 9728 document is served and challenges carry no resource_metadata (MCP clients then
  // cannot start OAuth — they use a configured header, as Claude Code's --header does).
  bool advertised() const noexcept { return advertised_; }

 private:
  bool advertised_ = true;
  std::string origin_;
  std::vector<ProtectedResource> resources_;
  std::size_t primary_ = 0;
  std::vector<std::string> scopes_;
};

// The authorization servers the documents advertise: the Stytch domain, then each [[issuers]] issuer.
std::vector<std::string> authorization_servers(const Config& config);
// The URLs RFC 8707 audiences may name when accept_resource_audience is on (every advertised "resource").
std::vector<std::string> advertised_resource_urls(const Config& config);

}  // namespace mcpgate::http
