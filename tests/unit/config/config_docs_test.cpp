// The configuration reference and the example file against the loader: every key config_keys() lists is
// documented in docs/configuration.md and shown in config/mcpgate.example.toml, and every key either of them
// names exists (a typo in the example or a stale row in the reference fails here).
//
//   ctest -R ConfigDocs
//
// Matching rules (kept simple so a failure is easy to fix):
//  - docs/configuration.md: a heading "## [section]" or "## [[section]]" (any text may follow) opens a
//    section; a key is documented when a table row in that section starts with "| `key` |".
//  - config/mcpgate.example.toml: "[section]" / "[[section]]" opens a section, commented out ("# [gateway]")
//    or not; "key = ..." or "# key = ..." (one '#', one space) names a key of the current section. Prose
//    comments therefore never start with "word =". `<key>_file` counts as `<key>`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mcpgate/config.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mcpgate {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot read " << path;
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

const std::string kDocPath = std::string(MCPGATE_SOURCE_DIR) + "/docs/configuration.md";
const std::string kExamplePath = std::string(MCPGATE_SOURCE_DIR) + "/config/mcpgate.example.toml";

// "routes" + "prefix" -> "routes[].prefix" for arrays of tables, else "server.port"; a nested array of tables
// ("routes.rules") sits in an array of tables: "routes[].rules[].method".
std::string full_key(const std::string& section, bool array, const std::string& key) {
  std::string out;
  for (char c : section) out += c == '.' ? std::string("[].") : std::string(1, c);
  return out + (array ? "[]." : ".") + key;
}

struct Mention {
  std::string key;  // full_key form
  int line = 0;
};

// Keys named in the reference: table rows "| `key` |" under "## [section]" headings.
std::vector<Mention> documented_keys(const std::string& text) {
  static const std::regex heading(R"(^## (\[\[?)([a-z_]+(?:\.[a-z_]+)?)\]\]?.*$)");
  static const std::regex row(R"(^\| `([a-z0-9_]+)` \|.*$)");
  std::vector<Mention> out;
  std::istringstream in(text);
  std::string line, section;
  bool array = false;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (line.rfind("## ", 0) == 0) {
      section.clear();
      if (std::regex_match(line, m, heading)) {
        section = m[2];
        array = m[1] == "[[";
      }
    } else if (!section.empty() && std::regex_match(line, m, row)) {
      out.push_back({full_key(section, array, m[1]), n});
    }
  }
  return out;
}

// Keys named in the example, set or commented out.
std::vector<Mention> example_keys(const std::string& text, std::vector<std::string>& problems) {
  static const std::regex header(R"(^(# )?(\[\[?)([a-z_]+(?:\.[a-z_]+)?)\]\]?\s*(#.*)?$)");
  static const std::regex assignment(R"(^(# )?([A-Za-z0-9_]+) = .*$)");
  std::vector<Mention> out;
  std::istringstream in(text);
  std::string line, section;
  bool array = false;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (std::regex_match(line, m, header)) {
      section = m[3];
      array = m[2] == "[[";
    } else if (std::regex_match(line, m, assignment)) {
      if (section.empty()) {
        problems.push_back("line " + std::to_string(n) + ": key '" + std::string(m[2]) +
                           "' before any section");
        continue;
      }
      out.push_back({full_key(section, array, m[2]), n});
    }
  }
  return out;
}

// "store.url_file" -> "store.url": a `<key>_file` line shows `<key>`; std::nullopt for other keys.
std::optional<std::string> file_variant_of(const std::string& key) {
  const std::string suffix = "_file";
  if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  return key.substr(0, key.size() - suffix.size());
}

std::set<std::string> key_set() {
  auto keys = config_keys();
  return {keys.begin(), keys.end()};
}

TEST(ConfigDocs, ConfigKeysListsEverySectionOfTheLoader) {
  const std::set<std::string> keys = key_set();
  // A sample from each section and each kind of read (string, number, count, boolean, list, table, time).
  for (const char* k :
       {"server.public_url", "server.tls_key_file", "auth.leeway_seconds", "token_cache.ttl_seconds",
        "jwks.max_stale", "stytch.allowed_organizations", "issuers[].jwks_uri", "static_tokens[].expires_at",
        "routes[].prefix", "routes[].inject_headers", "gateway.claim_to_headers", "gateway.header_timeout",
        "admin.port", "store.cache_ttl"})
    EXPECT_TRUE(keys.count(k)) << k;
  EXPECT_FALSE(keys.count("server.public_url_file")) << "*_file variants are not listed separately";
  EXPECT_EQ(keys.size(), config_keys().size()) << "no duplicates";
  std::set<std::string> sections;
  for (const auto& k : keys) sections.insert(k.substr(0, k.find_first_of(".[")));
  EXPECT_EQ(sections, (std::set<std::string>{"server", "auth", "token_cache", "jwks", "stytch", "issuers",
                                             "static_tokens", "routes", "gateway", "admin", "store"}));
  // Each call records afresh (nothing accumulates), and a normal load afterwards is unaffected.
  EXPECT_EQ(config_keys(), config_keys());
  auto loaded = load_config_text("[auth]\nleeway_seconds = 5\n", "<test>",
                                 [](const std::string&) { return std::optional<std::string>(); });
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.config->auth.leeway_seconds, 5);
}

TEST(ConfigDocs, ReferenceDocumentsEveryKey) {
  std::set<std::string> documented;
  for (const auto& m : documented_keys(read_text(kDocPath))) documented.insert(m.key);
  for (const auto& key : config_keys())
    EXPECT_TRUE(documented.count(key)) << key << " has no row \"| `" << key.substr(key.find('.') + 1)
                                       << "` |\" under its heading in docs/configuration.md";
}

TEST(ConfigDocs, ReferenceNamesOnlyKeysTheLoaderKnows) {
  const std::set<std::string> keys = key_set();
  const auto documented = documented_keys(read_text(kDocPath));
  EXPECT_GE(documented.size(), keys.size());
  for (const auto& m : documented)
    EXPECT_TRUE(keys.count(m.key)) << "docs/configuration.md:" << m.line << ": " << m.key
                                   << " is not a key the loader reads";
}

TEST(ConfigDocs, ExampleShowsEveryKey) {
  std::vector<std::string> problems;
  std::set<std::string> shown;
  for (const auto& m : example_keys(read_text(kExamplePath), problems)) {
    shown.insert(m.key);
    if (auto base = file_variant_of(m.key)) shown.insert(*base);
  }
  for (const auto& key : config_keys())
    EXPECT_TRUE(shown.count(key)) << key << " is not shown in config/mcpgate.example.toml";
}

TEST(ConfigDocs, ExampleNamesOnlyKeysTheLoaderKnows) {
  const std::set<std::string> keys = key_set();
  std::vector<std::string> problems;
  const auto shown = example_keys(read_text(kExamplePath), problems);
  for (const auto& p : problems) ADD_FAILURE() << "config/mcpgate.example.toml " << p;
  for (const auto& m : shown) {
    const auto base = file_variant_of(m.key);
    EXPECT_TRUE(keys.count(m.key) || (base && keys.count(*base)))
        << "config/mcpgate.example.toml:" << m.line << ": " << m.key
        << " is not a key the loader reads (typo?)";
  }
}

TEST(ConfigDocs, ExampleLoadsWithoutErrorsOrWarnings) {
  ConfigLoad loaded =
      load_config_file(kExamplePath, [](const std::string&) { return std::optional<std::string>(); });
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.key << ": " << e.message;
  for (const auto& w : loaded.warnings) ADD_FAILURE() << "warning: " << w;
  EXPECT_TRUE(loaded.ok());
}

TEST(ConfigDocs, ExamplePassesCheckConfig) {
  const std::string command =
      std::string(MCPGATE_BINARY) + " check-config --config " + kExamplePath + " > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

}  // namespace
}  // namespace mcpgate
