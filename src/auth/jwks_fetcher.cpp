#include "auth/jwks_fetcher.hpp"

#include <httplib.h>

#include <cctype>
#include <chrono>

#include "config/config_reader.hpp"

namespace mcpgate::auth {
namespace {

std::chrono::microseconds to_duration(double seconds) {
  return std::chrono::microseconds(static_cast<long long>(seconds * 1e6));
}

// Where a key set URL is fetched from, or why it is not.
struct FetchTarget {
  bool https = false;
  std::string origin;   // "https://host:port"
  std::string path;     // without the fragment
  std::string refused;  // why the URL is not fetched; "" when it is
};

FetchTarget target_of(const std::string& url, bool allow_insecure) {
  FetchTarget t;
  t.https = url.rfind("https://", 0) == 0;
  const std::string authority = config::url_authority(url);
  if (authority.empty() || authority.find('@') != std::string::npos) {
    t.refused = "not an http(s) URL without credentials";
    return t;
  }
  if (!t.https && !config::is_loopback_url(url) && !allow_insecure) {
    t.refused = "refused: plain http to a non-loopback host";
    return t;
  }
  const std::size_t origin_length = (t.https ? 8 : 7) + authority.size();
  t.origin = url.substr(0, origin_length);
  t.path = url.substr(origin_length);
  if (t.path.empty()) t.path = "/";
  if (auto hash = t.path.find('#'); hash != std::string::npos) t.path.resize(hash);
  return t;
}

// Whether a Content-Length announces more than `max_bytes` (a value that is not a plain number announces
// nothing: the counted body still is capped).
bool announces_more_than(const std::string& content_length, std::size_t max_bytes) {
  bool digits = !content_length.empty() && content_length.size() < 19;
  for (char c : content_length) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  return digits && std::stoull(content_length) > max_bytes;
}

// What made the receiving stop early, besides the transport's own errors.
struct Aborted {
  bool too_large = false;
  bool timed_out = false;
};

// Why a fetch failed, in FetchResponse::error's words; "" when it did not.
std::string failure(const FetchResponse& out, const Aborted& aborted, const httplib::Result& result,
                    std::size_t max_body_bytes) {
  if (aborted.too_large) return "body larger than " + std::to_string(max_body_bytes) + " bytes";
  if (aborted.timed_out) return "timeout";
  if (out.status >= 300 && out.status < 400) return "redirect refused (" + std::to_string(out.status) + ")";
  if (out.status != 0 && out.status != 200) return "status " + std::to_string(out.status);
  if (result) return "";
  const httplib::Error e = result.error();
  return (e == httplib::Error::Read || e == httplib::Error::ConnectionTimeout)
             ? "timeout"
             : "transport: " + httplib::to_string(e);
}

class HttplibFetcher final : public JwksFetcher {
 public:
  explicit HttplibFetcher(FetchOptions options) : options_(std::move(options)) {}

  FetchResponse get(const std::string& url) override {
    FetchResponse out;
    const FetchTarget target = target_of(url, options_.allow_insecure);
    if (!target.refused.empty()) {
      out.error = target.refused;
      return out;
    }
    httplib::Client client(target.origin);
    configure(client, target.https);
    Aborted aborted;
    const httplib::Result result = receive(client, target.path, out, aborted);
    out.error = failure(out, aborted, result, options_.max_body_bytes);
    out.ok = out.error.empty();
    if (!out.ok) out.body.clear();
    return out;
  }

 private:
  // No redirects, no keep-alive, the configured deadlines; certificates checked against the CA bundle.
  void configure(httplib::Client& client, bool https) const {
    client.set_tcp_nodelay(true);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_connection_timeout(to_duration(options_.connect_timeout));
    client.set_read_timeout(to_duration(options_.total_timeout));
    client.set_write_timeout(to_duration(options_.total_timeout));
    if (https) {
      client.set_ca_cert_path(options_.ca_cert_path);
      client.enable_server_certificate_verification(true);
    }
  }

  // The GET, its body counted as it arrives: aborted past max_body_bytes or the total deadline.
  httplib::Result receive(httplib::Client& client, const std::string& path, FetchResponse& out,
                          Aborted& aborted) const {
    // A real-time deadline (not the injected Clock: this bounds actual waiting on a socket).
    const auto deadline = std::chrono::steady_clock::now() + to_duration(options_.total_timeout);
    const httplib::Headers headers = {{"Accept", "application/json"}};
    return client.Get(
        path, headers,
        [&](const httplib::Response& response) {
          out.status = response.status;
          if (response.has_header("Cache-Control"))
            out.max_age = parse_cache_control_max_age(response.get_header_value("Cache-Control"));
          if (response.status != 200) return false;  // 3xx included: never follow, never accept
          aborted.too_large =
              announces_more_than(response.get_header_value("Content-Length"), options_.max_body_bytes);
          return !aborted.too_large;
        },
        [&](const char* data, std::size_t size) {
          aborted.too_large = out.body.size() + size > options_.max_body_bytes;
          aborted.timed_out = !aborted.too_large && std::chrono::steady_clock::now() > deadline;
          if (aborted.too_large || aborted.timed_out) return false;
          out.body.append(data, size);
          return true;
        });
  }

  FetchOptions options_;
};

}  // namespace

std::optional<double> parse_cache_control_max_age(const std::string& header) {
  std::optional<double> max_age;
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find(',', start);
    if (end == std::string::npos) end = header.size();
    std::string directive;
    for (std::size_t i = start; i < end; ++i) {
      char c = header[i];
      if (!std::isspace(static_cast<unsigned char>(c)))
        directive.push_back(static_cast<char>(std::tolower(c)));
    }
    if (directive == "no-store" || directive == "no-cache") return 0.0;
    if (directive.rfind("max-age=", 0) == 0) {
      std::string digits = directive.substr(8);
      if (!digits.empty() && digits.front() == '"' && digits.back() == '"' && digits.size() >= 2) {
        digits = digits.substr(1, digits.size() - 2);
      }
      bool numeric = !digits.empty() && digits.size() < 12;
      for (char c : digits) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
      if (numeric) max_age = std::stod(digits);
    }
    start = end + 1;
  }
  return max_age;
}

std::shared_ptr<JwksFetcher> JwksFetcher::create(const FetchOptions& options) {
  return std::make_shared<HttplibFetcher>(options);
}

}  // namespace mcpgate::auth
