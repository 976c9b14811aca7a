// libFuzzer target: arbitrary bytes as a configuration file through the loader `serve`, `check-config` and
// every other command run first (TOML parse, every section's reader, the cross-key checks).
//
//   cmake --build build-fuzz --target fuzz_config_loader
//   build-fuzz/tests/fuzz/fuzz_config_loader -max_total_time=60 config/
//
// Invariants beyond "no crash, no exception, no sanitizer report": a load either has a Config or errors, never
// both and never neither; every error but "unknown key" names a key the loader reads (config_keys(), array
// indexes as "[]") or none (the file as a whole); loading the same text twice gives the same errors.
//
// Inputs that could make the loader open a file are skipped: any `<key>_file` value is read from disk, and a
// fuzzer-chosen path could be /dev/zero or a FIFO. A TOML escape (\u, \U) could spell "_file" in a quoted
// key, so those inputs go too.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mcpgate/config.hpp>
#include <set>
#include <string>
#include <string_view>

namespace {

bool may_read_files(std::string_view text) {
  return text.find("_file") != std::string_view::npos || text.find("\\u") != std::string_view::npos ||
         text.find("\\U") != std::string_view::npos;
}

// "routes[2].rules[0].scopes" -> "routes[].rules[].scopes": the form config_keys() lists.
std::string without_indexes(std::string_view key) {
  std::string out;
  bool in_index = false;
  for (char c : key) {
    if (c == '[') {
      in_index = true;
      out += '[';
    } else if (c == ']') {
      in_index = false;
      out += ']';
    } else if (!in_index) {
      out += c;
    }
  }
  return out;
}

// A known key, a section or array that holds known keys ("routes[]", "routes", "server"), or an entry below a
// known key ("routes[].inject_headers.X-Token").
bool names_a_known_key(const std::string& key) {
  static const std::set<std::string> keys = [] {
    std::set<std::string> all;
    for (const auto& k : mcpgate::config_keys()) {
      all.insert(k);
      for (std::size_t dot = k.find('.'); dot != std::string::npos; dot = k.find('.', dot + 1)) {
        const std::string section = k.substr(0, dot);  // "routes[]", "routes[].rules[]", "server"
        all.insert(section);
        if (section.ends_with("[]")) all.insert(section.substr(0, section.size() - 2));  // the array itself
      }
    }
    return all;
  }();
  // A table with free keys (inject_headers) names its entries below a known key: any dot-prefix may match.
  const std::string plain = without_indexes(key);
  for (std::size_t end = plain.size(); end != std::string::npos && end > 0; end = plain.rfind('.', end - 1)) {
    if (keys.count(plain.substr(0, end)) > 0) return true;
    if (end == 0) break;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (may_read_files(text)) return 0;
  const mcpgate::EnvironmentLookup no_environment = [](const std::string&) { return std::nullopt; };
  const mcpgate::ConfigLoad first = mcpgate::load_config_text(text, "<fuzz>", no_environment);
  if (first.config.has_value() == !first.errors.empty()) std::abort();  // exactly one of the two
  for (const auto& e : first.errors)
    if (!e.key.empty() && !e.message.starts_with("unknown key") && !names_a_known_key(e.key)) {
      std::fprintf(stderr, "error names no key the loader reads: '%s': %s\n", e.key.c_str(),
                   e.message.c_str());
      std::abort();
    }
  const mcpgate::ConfigLoad again = mcpgate::load_config_text(text, "<fuzz>", no_environment);
  if (again.errors.size() != first.errors.size()) std::abort();
  for (std::size_t i = 0; i < first.errors.size(); ++i)
    if (again.errors[i].key != first.errors[i].key || again.errors[i].message != first.errors[i].message)
      std::abort();
  return 0;
}
