#include "http/resource_metadata.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mcpgate::http {
namespace {

Config stytch_config(std::string public_url) {
  Config c;
  c.server.public_url = std::move(public_url);
  c.stytch.emplace();
  c.stytch->project_id = "project-test-1";
  c.stytch->domain = "https://Login.Example.com/";
  c.routes.emplace_back().prefix = "/mcp";
  c.routes.back().scopes = {"mcp:read", "mcp:write"};
  c.routes.emplace_back().prefix = "/admin";
  c.routes.back().scopes = {"admin", "mcp:read"};
  return c;
}

std::string canonical(std::string_view url) {
  auto c = canonicalize_resource_url(url);
  return c.ok() ? c->url() : "error: " + c.detail;
}

TEST(ResourceMetadata, CanonicalResourceUrlLowercasesSchemeAndHostAndDropsTrailingSlashAndFragment) {
  EXPECT_EQ(canonical("HTTPS://MCP.Example.COM/mcp/"), "https://mcp.example.com/mcp");
  EXPECT_EQ(canonical("https://mcp.example.com/mcp#frag"), "https://mcp.example.com/mcp");
  EXPECT_EQ(canonical("https://mcp.example.com/"), "https://mcp.example.com");
  EXPECT_EQ(canonical("https://mcp.example.com/MCP"),
            "https://mcp.example.com/MCP");  // the path keeps its case
}

TEST(ResourceMetadata, CanonicalResourceUrlDropsOnlyTheDefaultPort) {
  EXPECT_EQ(canonical("https://h:443/mcp"), "https://h/mcp");
  EXPECT_EQ(canonical("http://h:80/mcp"), "http://h/mcp");
  EXPECT_EQ(canonical("https://h:8443/mcp"), "https://h:8443/mcp");
  EXPECT_EQ(canonical("http://[::1]:80/mcp"), "http://[::1]/mcp");
}

TEST(ResourceMetadata, CanonicalResourceUrlRefusesQueriesAndNonHttpUrls) {
  EXPECT_EQ(canonical("https://h/mcp?x=1").rfind("error", 0), 0u);
  EXPECT_EQ(canonical("ftp://h/mcp").rfind("error", 0), 0u);
  EXPECT_EQ(canonical("/mcp").rfind("error", 0), 0u);
  EXPECT_EQ(canonical("https://user@h/mcp").rfind("error", 0), 0u);
}

TEST(ResourceMetadata, PathSuffixedDocumentNamesExactlyItsResource) {
  auto m = ResourceMetadata::create(stytch_config("HTTPS://MCP.example.com/mcp/"));
  ASSERT_TRUE(m.ok()) << m.message();
  const auto* doc = m->document_at("/.well-known/oauth-protected-resource/mcp");
  ASSERT_NE(doc, nullptr);
  auto j = nlohmann::json::parse(doc->json);
  EXPECT_EQ(j["resource"], "https://mcp.example.com/mcp");
  EXPECT_EQ(j["authorization_servers"], nlohmann::json::array({"https://login.example.com"}));
  EXPECT_EQ(j["scopes_supported"], nlohmann::json::array({"mcp:read", "mcp:write", "admin"}));
  EXPECT_EQ(j["bearer_methods_supported"], nlohmann::json::array({"header"}));
  EXPECT_FALSE(j.contains("resource_name"));  // empty members are omitted (RFC 9728 §2)
  EXPECT_FALSE(j.contains("resource_documentation"));
  EXPECT_EQ(doc->metadata_url, "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
}

TEST(ResourceMetadata, RootDocumentDescribesThePrimaryResource) {
  auto c = stytch_config("https://mcp.example.com/mcp");
  c.server.resources = {"/mcp", "/admin"};
  c.server.primary_resource = "/admin";
  c.server.resource_name = "Example MCP";
  c.server.resource_documentation = "https://docs.example.com/mcp";
  auto m = ResourceMetadata::create(c);
  ASSERT_TRUE(m.ok()) << m.message();
  auto root = nlohmann::json::parse(m->document_at("/.well-known/oauth-protected-resource")->json);
  EXPECT_EQ(root["resource"], "https://mcp.example.com/admin");
  EXPECT_EQ(root["resource_name"], "Example MCP");
  EXPECT_EQ(root["resource_documentation"], "https://docs.example.com/mcp");
  EXPECT_EQ(
      nlohmann::json::parse(m->document_at("/.well-known/oauth-protected-resource/mcp")->json)["resource"],
      "https://mcp.example.com/mcp");
  EXPECT_EQ(m->document_at("/.well-known/oauth-protected-resource/other"), nullptr);
}

TEST(ResourceMetadata, ChallengeUsesTheDocumentOfTheResourceTheRequestBelongsTo) {
  auto c = stytch_config("https://mcp.example.com/mcp");
  c.server.resources = {"/mcp", "/mcp/admin"};
  auto m = ResourceMetadata::create(c);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->resource_for("/mcp/admin/x").path, "/mcp/admin");
  EXPECT_EQ(m->resource_for("/mcp").path, "/mcp");
  EXPECT_EQ(m->resource_for("/mcpx").path, "/mcp");  // not under any: the primary
}

TEST(ResourceMetadata, GenericIssuersAreAdvertisedAsAuthorizationServers) {
  Config c;
  c.server.public_url = "https://h/mcp";
  IssuerConfig issuer;
  issuer.issuer = "https://as.example.org";
  issuer.audiences = {"a"};
  c.issuers.push_back(issuer);
  auto m = ResourceMetadata::create(c);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(nlohmann::json::parse(m->primary().json)["authorization_servers"],
            nlohmann::json::array({"https://as.example.org"}));
  EXPECT_FALSE(nlohmann::json::parse(m->primary().json).contains("scopes_supported"));
}

TEST(ResourceMetadata, RefusesToPublishWithoutAnAuthorizationServer) {
  Config c;
  c.server.public_url = "https://h/mcp";
  auto m = ResourceMetadata::create(c);
  EXPECT_EQ(m.reason, mcpgate::Reason::ConfigInvalid);
  EXPECT_NE(m.detail.find("authorization server"), std::string::npos);
}

TEST(ResourceMetadata, AdvertisedResourceUrlsAreTheCanonicalResources) {
  auto c = stytch_config("https://MCP.example.com:443/mcp");
  c.server.resources = {"/mcp", "/tools/"};
  EXPECT_EQ(advertised_resource_urls(c),
            (std::vector<std::string>{"https://mcp.example.com/mcp", "https://mcp.example.com/tools"}));
}

}  // namespace
}  // namespace mcpgate::http
