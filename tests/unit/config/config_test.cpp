// The configuration loader: defaults, every error names its key, env overrides, *_file secrets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <mcpgate/config.hpp>
#include <string>

namespace mcpgate {
namespace {

EnvironmentLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ConfigLoad load(const std::string& text, std::map<std::string, std::string> vars = {}) {
  return load_config_text(text, "<test>", env_of(std::move(vars)));
}

bool has_error(const ConfigLoad& l, const std::string& key, const std::string& fragment = "") {
  for (const auto& e : l.errors) {
    if (e.key == key && e.message.find(fragment) != std::string::npos) return true;
  }
  return false;
}

std::string errors_of(const ConfigLoad& l) {
  std::string s;
  for (const auto& e : l.errors) s += e.key + ": " + e.message + "\n";
  return s;
}

const char* kDigest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

TEST(Config, EmptyFileGivesDocumentedDefaults) {
  auto l = load("");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  const Config& c = *l.config;
  EXPECT_EQ(c.auth.leeway_seconds, 60);
  EXPECT_EQ(c.token_cache.max_entries, 10000u);
  EXPECT_EQ(c.token_cache.ttl_seconds, 300);
  EXPECT_EQ(c.jwks.default_max_age, 600);
  EXPECT_EQ(c.jwks.min_max_age, 60);
  EXPECT_EQ(c.jwks.max_max_age, 86400);
  EXPECT_EQ(c.jwks.unknown_kid_cooldown, 30);
  EXPECT_EQ(c.jwks.max_stale, 86400);
  EXPECT_EQ(c.jwks.connect_timeout, 2);
  EXPECT_EQ(c.jwks.total_timeout, 5);
  EXPECT_EQ(c.jwks.max_body_bytes, 1024u * 1024u);
  EXPECT_FALSE(c.stytch.has_value());
  EXPECT_FALSE(l.warnings.empty());  // no token source at all is worth a warning
}

TEST(Config, ReadsEverySection) {
  auto l = load(R"(
[server]
public_url = "https://mcp.example.com/mcp"
[auth]
leeway_seconds = 30
[token_cache]
max_entries = 50
ttl_seconds = 120
[jwks]
max_stale = 3600
refresh_ahead = 0.5
[stytch]
project_id = "project-test-123"
domain = "https://login.example.com/"
audiences = ["https://mcp.example.com/mcp"]
allowed_organizations = ["organization-test-1"]
[[issuers]]
issuer = "https://idp.example.org"
audiences = ["api"]
algorithms = ["ES256", "RS256"]
[[static_tokens]]
name = "ci"
sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
scopes = ["mcp:read"]
expires_at = "2027-01-01T00:00:00Z"
[[routes]]
prefix = "/health"
public = true
[[routes]]
prefix = "/mcp"
methods = ["post"]
scopes = ["mcp:write"]
)");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  const Config& c = *l.config;
  EXPECT_EQ(c.server.public_url, "https://mcp.example.com/mcp");
  EXPECT_EQ(c.auth.leeway_seconds, 30);
  EXPECT_EQ(c.token_cache.max_entries, 50u);
  EXPECT_EQ(c.jwks.max_stale, 3600);
  EXPECT_EQ(c.jwks.refresh_ahead, 0.5);
  ASSERT_TRUE(c.stytch);
  EXPECT_EQ(c.stytch->domain, "https://login.example.com");  // trailing slash dropped
  EXPECT_EQ(c.stytch->allowed_organizations, std::vector<std::string>{"organization-test-1"});
  ASSERT_EQ(c.issuers.size(), 1u);
  EXPECT_EQ(c.issuers[0].algorithms, (std::vector<std::string>{"ES256", "RS256"}));
  ASSERT_EQ(c.static_tokens.size(), 1u);
  EXPECT_EQ(c.static_tokens[0].sha256, kDigest);  // normalized to lower case
  EXPECT_EQ(c.static_tokens[0].expires_at, 1798761600);
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_TRUE(c.routes[0].is_public);
  EXPECT_EQ(c.routes[1].methods, std::vector<std::string>{"POST"});
}

TEST(Config, StaticTokenDigestErrorNamesTheIndexedKey) {
  auto l = load(std::string("[[static_tokens]]\nname = \"a\"\nsha256 = \"") + kDigest +
                "\"\n[[static_tokens]]\nname = \"b\"\nsha256 = \"abc\"\n");
  EXPECT_FALSE(l.ok());
  EXPECT_TRUE(has_error(l, "static_tokens[1].sha256", "expected 64 hex characters")) << errors_of(l);
}

TEST(Config, UnknownKeyInSecuritySectionIsAnError) {
  auto l = load("[[routes]]\nprefix = \"/mcp\"\nscope = [\"mcp:write\"]\n");  // typo: scope for scopes
  EXPECT_TRUE(has_error(l, "routes[0].scope", "unknown key")) << errors_of(l);
}

TEST(Config, UnknownServerKeyIsOnlyAWarning) {
  auto l = load("[server]\nlisten = \"127.0.0.1:8080\"\n");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  bool warned = false;
  for (const auto& w : l.warnings) warned |= w.find("server.listen") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(Config, WrongTypeNamesTheKey) {
  auto l = load("[jwks]\nmax_stale = \"long\"\n");
  EXPECT_TRUE(has_error(l, "jwks.max_stale", "expected a number")) << errors_of(l);
}

TEST(Config, OutOfRangeNamesTheKey) {
  auto l = load("[jwks]\nrefresh_ahead = 2\n");
  EXPECT_TRUE(has_error(l, "jwks.refresh_ahead", "between")) << errors_of(l);
}

TEST(Config, TomlSyntaxErrorGivesLine) {
  auto l = load("[jwks\nmax_stale = 1\n");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.errors[0].message.find("line 1"), std::string::npos) << errors_of(l);
}

TEST(Config, StytchRequiresProjectIdAndDomain) {
  auto l = load("[stytch]\n");
  EXPECT_TRUE(has_error(l, "stytch.project_id", "required"));
  EXPECT_TRUE(has_error(l, "stytch.domain", "required"));
}

TEST(Config, StytchDomainMustBeHttpsUnlessLoopback) {
  EXPECT_TRUE(has_error(load("[stytch]\nproject_id = \"p\"\ndomain = \"http://login.example.com\"\n"),
                        "stytch.domain", "loopback"));
  EXPECT_TRUE(load("[stytch]\nproject_id = \"p\"\ndomain = \"http://127.0.0.1:9999\"\n").ok());
  EXPECT_TRUE(has_error(load("[stytch]\nproject_id = \"p\"\ndomain = \"https://x.example.com/path\"\n"),
                        "stytch.domain", "no path"));
}

TEST(Config, IssuerJwksUriMustBeHttpsUnlessExplicitlyAllowed) {
  auto base = std::string("[[issuers]]\nissuer = \"https://idp.example\"\naudiences = [\"a\"]\n");
  EXPECT_TRUE(
      has_error(load(base + "jwks_uri = \"http://idp.example/jwks\"\n"), "issuers[0].jwks_uri", "loopback"));
  EXPECT_TRUE(load(base + "jwks_uri = \"http://idp.example/jwks\"\nallow_insecure_jwks_uri = true\n").ok());
  EXPECT_TRUE(load(base + "jwks_uri = \"http://127.0.0.1:8080/jwks\"\n").ok());
  EXPECT_TRUE(has_error(load(base + "jwks_uri = \"https://x/j\"\njwks_file = \"k.json\"\n"),
                        "issuers[0].jwks_file", "not both"));
}

TEST(Config, IssuerRefusesHmacAndNoneAlgorithms) {
  auto l =
      load("[[issuers]]\nissuer = \"https://idp.example\"\naudiences = [\"a\"]\nalgorithms = [\"HS256\"]\n");
  EXPECT_TRUE(has_error(l, "issuers[0].algorithms", "HS256")) << errors_of(l);
}

TEST(Config, IssuerRequiresAudiences) {
  EXPECT_TRUE(
      has_error(load("[[issuers]]\nissuer = \"https://idp.example\"\n"), "issuers[0].audiences", "required"));
}

TEST(Config, RouteCannotBePublicAndScoped) {
  auto l = load("[[routes]]\nprefix = \"/x\"\npublic = true\nscopes = [\"a\"]\n");
  EXPECT_TRUE(has_error(l, "routes[0].public")) << errors_of(l);
  EXPECT_TRUE(has_error(load("[[routes]]\nprefix = \"mcp\"\n"), "routes[0].prefix", "starting with '/'"));
}

TEST(Config, RouteRulesLoadInFileOrderWithTheirConditions) {
  auto l = load(
      "[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\"]\nstep_up = \"tool_result\"\n"
      "[[routes.rules]]\nname = \"writes\"\nmethod = \"tools/call\"\ntarget = \"create_*\"\n"
      "scopes = [\"mcp:write\"]\nany_scopes = [\"team:a\", \"team:b\"]\n"
      "[[routes.rules]]\nmethod = \"tools/call\"\ntarget = \"wipe\"\norganizations = [\"org-1\"]\n"
      "claims = { role = \"admin\" }\n"
      "[[routes.rules]]\ntarget = \"run_sql\"\ndeny = true\n");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  const RouteConfig& r = l.config->routes.at(0);
  EXPECT_TRUE(r.mcp);
  EXPECT_EQ(r.step_up, "tool_result");
  ASSERT_EQ(r.rules.size(), 3u);
  EXPECT_EQ(r.rules[0].name, "writes");
  EXPECT_EQ(r.rules[0].target, "create_*");
  EXPECT_EQ(r.rules[0].any_scopes, (std::vector<std::string>{"team:a", "team:b"}));
  EXPECT_EQ(r.rules[1].organizations, (std::vector<std::string>{"org-1"}));
  EXPECT_EQ(r.rules[1].claims, (std::vector<std::pair<std::string, std::string>>{{"role", "admin"}}));
  EXPECT_EQ(r.rules[2].method, "*");  // the default: any method
  EXPECT_TRUE(r.rules[2].deny);
}

TEST(Config, RouteRuleMistakesNameTheirKey) {
  auto rules = [](const std::string& route_extra, const std::string& rule) {
    return load("[[routes]]\nprefix = \"/mcp\"\n" + route_extra + "[[routes.rules]]\n" + rule);
  };
  EXPECT_TRUE(has_error(rules("", "method = \"tools call\"\n"), "routes[0].rules[0].method"));
  EXPECT_TRUE(has_error(rules("", "target = \"\"\n"), "routes[0].rules[0].target"));
  EXPECT_TRUE(has_error(rules("", "scopes = [\"a b\"]\n"), "routes[0].rules[0].scopes"));
  EXPECT_TRUE(has_error(rules("", "deny = true\nscopes = [\"a\"]\n"), "routes[0].rules[0].deny"));
  EXPECT_TRUE(has_error(rules("", "methd = \"x\"\n"), "routes[0].rules[0].methd", "unknown key"));
  EXPECT_TRUE(has_error(rules("public = true\n", "scopes = [\"a\"]\n"), "routes[0].rules[0].scopes"));
  EXPECT_TRUE(has_error(rules("mcp = false\n", "deny = true\n"), "routes[0].rules", "mcp = true"));
  EXPECT_TRUE(has_error(load("[[routes]]\nprefix = \"/mcp\"\nstep_up = \"403\"\n"), "routes[0].step_up"));
  EXPECT_TRUE(has_error(load("[[routes]]\nprefix = \"/mcp\"\nrules = 3\n"), "routes[0].rules"));
  // A public route may still deny.
  EXPECT_TRUE(rules("public = true\n", "target = \"x\"\ndeny = true\n").ok());
}

TEST(Config, DuplicateStaticTokenNamesRefused) {
  auto l = load(std::string("[[static_tokens]]\nname = \"a\"\nsha256 = \"") + kDigest +
                "\"\n[[static_tokens]]\nname = \"a\"\nsha256 = \"" + std::string(64, 'b') + "\"\n");
  EXPECT_TRUE(has_error(l, "static_tokens[1].name", "used by another")) << errors_of(l);
}

TEST(Config, StaticTokenExpiryAcceptsUnixSecondsAndTomlDateTime) {
  auto l = load(std::string("[[static_tokens]]\nname = \"a\"\nsha256 = \"") + kDigest +
                "\"\nexpires_at = 1798761600\n[[static_tokens]]\nname = \"b\"\nsha256 = \"" +
                std::string(64, 'b') + "\"\nexpires_at = 2027-01-01T01:00:00+01:00\n");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  EXPECT_EQ(l.config->static_tokens[0].expires_at, 1798761600);
  EXPECT_EQ(l.config->static_tokens[1].expires_at, 1798761600);
  EXPECT_TRUE(has_error(load(std::string("[[static_tokens]]\nname = \"a\"\nsha256 = \"") + kDigest +
                             "\"\nexpires_at = \"next tuesday\"\n"),
                        "static_tokens[0].expires_at", "RFC 3339"));
}

TEST(Config, EnvironmentOverridesFileValues) {
  auto l =
      load("[stytch]\nproject_id = \"from-file\"\ndomain = \"https://a.example\"\n[jwks]\nmax_stale = 10\n",
           {{"MCPGATE_STYTCH_PROJECT_ID", "project-from-env"},
            {"MCPGATE_JWKS_MAX_STALE", "7200"},
            {"MCPGATE_STYTCH_AUDIENCES", "https://mcp.example.com/mcp, extra"},
            {"MCPGATE_AUTH_LEEWAY_SECONDS", "5"}});
  ASSERT_TRUE(l.ok()) << errors_of(l);
  EXPECT_EQ(l.config->stytch->project_id, "project-from-env");
  EXPECT_EQ(l.config->jwks.max_stale, 7200);
  EXPECT_EQ(l.config->auth.leeway_seconds, 5);
  EXPECT_EQ(l.config->stytch->audiences, (std::vector<std::string>{"https://mcp.example.com/mcp", "extra"}));
}

TEST(Config, EnvironmentAloneCanConfigureStytch) {
  auto l = load(
      "", {{"MCPGATE_STYTCH_PROJECT_ID", "project-test-1"}, {"MCPGATE_STYTCH_DOMAIN", "https://a.example"}});
  ASSERT_TRUE(l.ok()) << errors_of(l);
  ASSERT_TRUE(l.config->stytch);
  EXPECT_EQ(l.config->stytch->domain, "https://a.example");
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
  auto l = load("", {{"MCPGATE_JWKS_MAX_STALE", "forever"}});
  EXPECT_TRUE(has_error(l, "jwks.max_stale", "MCPGATE_JWKS_MAX_STALE")) << errors_of(l);
}

class ConfigFiles : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) {
    std::string path =
        ::testing::TempDir() + "mcpgate_config_test_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path) << content;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  std::vector<std::string> paths_;
};

TEST_F(ConfigFiles, FileKeyReadsTheValueFromAFile) {
  std::string secret = write("project", "project-from-file\n");
  auto l = load("[stytch]\nproject_id_file = \"" + secret + "\"\ndomain = \"https://a.example\"\n");
  ASSERT_TRUE(l.ok()) << errors_of(l);
  EXPECT_EQ(l.config->stytch->project_id, "project-from-file");
}

TEST_F(ConfigFiles, EnvironmentFileVariableReadsTheValue) {
  std::string secret = write("domain", "https://b.example\n");
  auto l = load("[stytch]\nproject_id = \"p\"\n", {{"MCPGATE_STYTCH_DOMAIN_FILE", secret}});
  ASSERT_TRUE(l.ok()) << errors_of(l);
  EXPECT_EQ(l.config->stytch->domain, "https://b.example");
}

TEST_F(ConfigFiles, UnreadableFileKeyNamesTheKey) {
  auto l = load("[stytch]\nproject_id_file = \"/nonexistent/mcpgate\"\ndomain = \"https://a.example\"\n");
  EXPECT_TRUE(has_error(l, "stytch.project_id_file", "cannot read")) << errors_of(l);
}

TEST_F(ConfigFiles, LoadsFromPathAndMissingFileIsAnError) {
  std::string path = write("whole.toml", "[auth]\nleeway_seconds = 1\n");
  auto l = load_config_file(path, env_of({}));
  ASSERT_TRUE(l.ok()) << errors_of(l);
  EXPECT_EQ(l.config->source, path);
  EXPECT_FALSE(load_config_file("/nonexistent/mcpgate.toml", env_of({})).ok());
}

}  // namespace
}  // namespace mcpgate
