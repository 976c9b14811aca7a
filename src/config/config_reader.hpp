// config_reader.hpp — typed reads of one TOML table with the environment and `*_file` layered on top.
//
//   ConfigReader reader(errors, warnings, env);
//   SectionReader jwks = reader.section(root["jwks"].as_table(), "jwks", /*env_overrides=*/true);
//   jwks.number("max_stale", config.jwks.max_stale, /*min=*/0);
//   jwks.string("domain", config.stytch->domain);      // env MCPGATE_JWKS_DOMAIN, then domain, then
//   domain_file jwks.finish();                                      // unknown keys -> errors (typos must not
//   weaken security)
//
//   KeyRecording recording;                        // mcpgate::config_keys(): note every key asked for
//   ... run the loaders ...
//   recording.keys();                              // {"server.public_url", ..., "routes[].prefix", ...}
//
// Precedence for a key K of [section]: env MCPGATE_<SECTION>_<K>, env MCPGATE_<SECTION>_<K>_FILE, the file's
// K, the file's K_file. Every error names the key as written in the file ("routes[2].scopes") or the variable
// it came from.
#pragma once

#include <toml++/toml.h>

#include <mcpgate/config.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mcpgate::config {

// While one is alive, every SectionReader on this thread notes each key it asks for, as "section.key" or
// "routes[].key" for arrays of tables (in first-asked order, no duplicates). The loader's own reads are
// thus the one list of known keys: config_keys() runs the loaders under a KeyRecording.
class KeyRecording {
 public:
  KeyRecording();
  ~KeyRecording();
  KeyRecording(const KeyRecording&) = delete;
  KeyRecording& operator=(const KeyRecording&) = delete;

  const std::vector<std::string>& keys() const noexcept { return keys_; }

 private:
  friend class SectionReader;
  void note(const std::string& key_path);

  KeyRecording* previous_;
  std::vector<std::string> keys_;
  std::set<std::string> seen_;
};

class SectionReader {
 public:
  // `table` may be null (section absent: only the environment can supply values). `env_prefix` empty = no
  // env.
  SectionReader(const toml::table* table, std::string key_path, std::string env_prefix,
                std::vector<ConfigError>& errors, const EnvironmentLookup& env);

  // Each returns true when the key was present (from any layer) and valid; leaves `out` alone otherwise.
  bool string(const std::string& key, std::string& out);
  bool number(const std::string& key, double& out, double min_value, double max_value = 1e15);
  bool count(const std::string& key, std::size_t& out, std::size_t min_value, std::size_t max_value);
  bool boolean(const std::string& key, bool& out);
  bool string_list(const std::string& key, std::vector<std::string>& out);
  // A TOML table of strings ({"Name" = "value"}), from the file only; order as written.
  bool string_table(const std::string& key, std::vector<std::pair<std::string, std::string>>& out);
  bool unix_time(const std::string& key,
                 std::optional<std::int64_t>& out);  // integer or RFC 3339 / TOML date-time

  // Records an error against `key` of this section.
  void error(const std::string& key, const std::string& message);
  std::string path(const std::string& key) const;
  // Reports every key of the table that no read asked for (strict sections) or returns them (lenient ones).
  void finish_strict();
  std::vector<std::string> unread_keys() const;
  // `key` is an array of tables read by readers of its own ("routes[0].rules"): not unknown.
  void nested(const std::string& key) { asked(key); }
  // `key` is no longer read: not an unknown key, and not one config_keys() lists.
  void retire(const std::string& key) { read_.insert(key); }

 private:
  // The raw value from the env (text) or the file (a node); std::nullopt when absent everywhere.
  struct Raw {
    std::optional<std::string> text;  // from the environment or a *_file
    const toml::node* node = nullptr;
    std::string origin;  // for messages: "MCPGATE_JWKS_MAX_STALE" or "jwks.max_stale"
  };
  std::optional<Raw> raw(const std::string& key);
  void asked(const std::string& key);  // remembers `key` as read (and tells an active KeyRecording)

  const toml::table* table_;
  std::string key_path_;
  std::string env_prefix_;
  std::vector<ConfigError>& errors_;
  const EnvironmentLookup& env_;
  std::set<std::string> read_;
};

// RFC 3339 date-time ("2027-01-01T00:00:00Z", offsets allowed) to Unix seconds.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// True when the URL's host is a loopback address (127.0.0.0/8, ::1, localhost) — plain http is tolerated
// there.
bool is_loopback_url(std::string_view url);
// "https://host[:port]" → "host[:port]"; empty when not an http(s) URL.
std::string url_authority(std::string_view url);

}  // namespace mcpgate::config
