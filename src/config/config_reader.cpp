#include "config/config_reader.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

namespace mcpgate::config {
namespace {

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(std::string_view text) {
  std::size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

// A secret file usually ends with one newline (echo > file); anything else is part of the value.
std::optional<std::string> read_value_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

int two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
      !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// The active KeyRecording of this thread (config_keys()); null while loading normally.
thread_local KeyRecording* active_recording = nullptr;

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {  // H. Hinnant's algorithm
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)  (RFC 3339 §5.6)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int y1 = two_digits(s, 0), y2 = two_digits(s, 2), mo = two_digits(s, 5), d = two_digits(s, 8);
  int h = two_digits(s, 11), mi = two_digits(s, 14), se = two_digits(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      se < 0 || se > 60) {
    return std::nullopt;
  }
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::size_t digits = 0;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at, ++digits;
    if (digits == 0) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
    int oh = two_digits(s, at + 1), om = two_digits(s, at + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  std::int64_t days = days_from_civil(y1 * 100 + y2, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + h * 3600 + mi * 60 + se - offset;
}

std::string url_authority(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else {
    return {};
  }
  auto end = rest.find_first_of("/?#");
  return std::string(rest.substr(0, end));
}

bool is_loopback_url(std::string_view url) {
  std::string authority = url_authority(url);
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  std::string host = authority;
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    host = close == std::string::npos ? "" : host.substr(1, close - 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, written as a dotted quad (no other spelling: "127.1" tricks are not loopback for us).
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dots == 3;
}

KeyRecording::KeyRecording() : previous_(active_recording) {
  active_recording = this;
}

KeyRecording::~KeyRecording() {
  active_recording = previous_;
}

void KeyRecording::note(const std::string& key_path) {
  // "routes[3].prefix" -> "routes[].prefix": the key, not the entry.
  std::string generic;
  for (std::size_t i = 0; i < key_path.size(); ++i) {
    generic += key_path[i];
    if (key_path[i] == '[') {
      while (i + 1 < key_path.size() && key_path[i + 1] != ']') ++i;
    }
  }
  if (seen_.insert(generic).second) keys_.push_back(generic);
}

SectionReader::SectionReader(const toml::table* table, std::string key_path, std::string env_prefix,
                             std::vector<ConfigError>& errors, const EnvironmentLookup& env)
    : table_(table),
      key_path_(std::move(key_path)),
      env_prefix_(std::move(env_prefix)),
      errors_(errors),
      env_(env) {}

std::string SectionReader::path(const std::string& key) const {
  return key_path_.empty() ? key : key_path_ + "." + key;
}

void SectionReader::error(const std::string& key, const std::string& message) {
  errors_.push_back({path(key), message});
}

void SectionReader::asked(const std::string& key) {
  read_.insert(key);
  if (active_recording) active_recording->note(path(key));
}

std::optional<SectionReader::Raw> SectionReader::raw(const std::string& key) {
  asked(key);
  read_.insert(key + "_file");
  if (!env_prefix_.empty() && env_) {
    std::string name = env_prefix_ + upper(key);
    if (auto value = env_(name)) return Raw{*value, nullptr, name};
    if (auto file = env_(name + "_FILE")) {
      auto value = read_value_file(*file);
      if (!value) {
        errors_.push_back({path(key), "cannot read the file named by " + name + "_FILE ('" + *file + "')"});
        return std::nullopt;
      }
      return Raw{*value, nullptr, name + "_FILE"};
    }
  }
  if (!table_) return std::nullopt;
  if (const toml::node* node = table_->get(key)) return Raw{std::nullopt, node, path(key)};
  if (const toml::node* file_node = table_->get(key + "_file")) {
    auto file = file_node->value<std::string>();
    if (!file) {
      error(key + "_file", "expected a file path (string)");
      return std::nullopt;
    }
    auto value = read_value_file(*file);
    if (!value) {
      error(key + "_file", "cannot read '" + *file + "'");
      return std::nullopt;
    }
    return Raw{*value, nullptr, path(key + "_file")};
  }
  return std::nullopt;
}

bool SectionReader::string(const std::string& key, std::string& out) {
  auto r = raw(key);
  if (!r) return false;
  if (r->text) {
    out = *r->text;
    return true;
  }
  auto value = r->node->value<std::string>();
  if (!value || !r->node->is_string()) {
    error(key, "expected a string");
    return false;
  }
  out = *value;
  return true;
}

bool SectionReader::number(const std::string& key, double& out, double min_value, double max_value) {
  auto r = raw(key);
  if (!r) return false;
  std::optional<double> value;
  if (r->text) {
    value = parse_double(trim(*r->text));
  } else if (r->node->is_integer() || r->node->is_floating_point()) {
    value = r->node->value<double>();
  }
  if (!value) {
    error(key, "expected a number" + (r->text ? " (from " + r->origin + ")" : std::string()));
    return false;
  }
  if (*value < min_value || *value > max_value) {
    std::ostringstream msg;
    msg << "must be between " << min_value << " and " << max_value << ", got " << *value;
    error(key, msg.str());
    return false;
  }
  out = *value;
  return true;
}

bool SectionReader::count(const std::string& key, std::size_t& out, std::size_t min_value,
                          std::size_t max_value) {
  double value = 0;
  if (!number(key, value, static_cast<double>(min_value), static_cast<double>(max_value))) return false;
  if (value != std::floor(value)) {
    error(key, "expected a whole number");
    return false;
  }
  out = static_cast<std::size_t>(value);
  return true;
}

bool SectionReader::boolean(const std::string& key, bool& out) {
  auto r = raw(key);
  if (!r) return false;
  if (r->text) {
    std::string t = trim(*r->text);
    if (t == "true" || t == "1") return out = true, true;
    if (t == "false" || t == "0") return out = false, true;
    error(key, "expected true or false (from " + r->origin + ")");
    return false;
  }
  if (!r->node->is_boolean()) {
    error(key, "expected true or false");
    return false;
  }
  out = *r->node->value<bool>();
  return true;
}

bool SectionReader::string_list(const std::string& key, std::vector<std::string>& out) {
  auto r = raw(key);
  if (!r) return false;
  std::vector<std::string> values;
  if (r->text) {
    std::string item;
    std::istringstream in(*r->text);
    while (std::getline(in, item, ',')) {
      item = trim(item);
      if (!item.empty()) values.push_back(item);
    }
  } else {
    const toml::array* array = r->node->as_array();
    if (!array) {
      error(key, "expected a list of strings, e.g. [\"a\", \"b\"]");
      return false;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto value = (*array)[i].value<std::string>();
      if (!value || !(*array)[i].is_string()) {
        error(key + "[" + std::to_string(i) + "]", "expected a string");
        return false;
      }
      values.push_back(*value);
    }
  }
  out = std::move(values);
  return true;
}

bool SectionReader::string_table(const std::string& key,
                                 std::vector<std::pair<std::string, std::string>>& out) {
  asked(key);
  if (!table_) return false;
  const toml::node* node = table_->get(key);
  if (!node) return false;
  const toml::table* t = node->as_table();
  if (!t) {
    error(key, "expected a table of strings, e.g. { \"X-Name\" = \"value\" }");
    return false;
  }
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [k, v] : *t) {
    auto value = v.value<std::string>();
    if (!v.is_string() || !value) {
      error(key + "." + std::string(k.str()), "expected a string");
      return false;
    }
    values.emplace_back(std::string(k.str()), *value);
  }
  out = std::move(values);
  return true;
}

bool SectionReader::unix_time(const std::string& key, std::optional<std::int64_t>& out) {
  auto r = raw(key);
  if (!r) return false;
  std::optional<std::int64_t> value;
  if (r->text) {
    std::string t = trim(*r->text);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    value =
        (ec == std::errc() && end == t.data() + t.size() && !t.empty()) ? std::optional(n) : parse_rfc3339(t);
  } else if (r->node->is_integer()) {
    value = r->node->value<std::int64_t>();
  } else if (r->node->is_string()) {
    value = parse_rfc3339(*r->node->value<std::string>());
  } else if (const auto* dt = r->node->as_date_time()) {
    const toml::date_time& v = dt->get();
    if (!v.offset) {
      error(key, "a TOML date-time needs an offset (e.g. Z) to be an instant");
      return false;
    }
    value = days_from_civil(v.date.year, v.date.month, v.date.day) * 86400 + v.time.hour * 3600 +
            v.time.minute * 60 + v.time.second - std::int64_t{v.offset->minutes} * 60;
  }
  if (!value || *value < 0) {
    error(key, "expected Unix seconds or an RFC 3339 date-time such as 2027-01-01T00:00:00Z");
    return false;
  }
  out = value;
  return true;
}

std::vector<std::string> SectionReader::unread_keys() const {
  std::vector<std::string> keys;
  if (!table_) return keys;
  for (const auto& [k, v] : *table_) {
    std::string name(k.str());
    if (!read_.count(name)) keys.push_back(name);
  }
  return keys;
}

void SectionReader::finish_strict() {
  for (const auto& k : unread_keys()) error(k, "unknown key (check the spelling; see docs/configuration.md)");
}

}  // namespace mcpgate::config
