#include "auth/jwks_fetcher.hpp"

#include <httplib.h>

#include <cctype>
#include <chrono>

#include "config/config_reader.hpp"

namespace mcpgate::auth {
namespace {

class HttplibFetcher final : public JwksFetcher {
 public:
  explicit HttplibFetcher(FetchOptions options) : options_(std::move(options)) {}

  FetchResponse get(const std::string& url) override {
    FetchResponse out;
    const bool https = url.rfind("https://", 0) == 0;
    const std::string authority = config::url_authority(url);
    if (authority.empty() || authority.find('@') != std::string::npos) {
      out.error = "not an http(s) URL without credentials";
      return out;
    }
    if (!https && !config::is_loopback_url(url) && !options_.allow_insecure) {
      out.error = "refused: plain http to a non-loopback host";
      return out;
    }
    const std::size_t scheme_length = https ? 8 : 7;
    std::string path = url.substr(scheme_length + authority.size());
    if (path.empty()) path = "/";
    if (auto hash = path.find('#'); hash != std::string::npos) path.resize(hash);

    httplib::Client client(url.substr(0, scheme_length + authority.size()));
    client.set_tcp_nodelay(true);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    auto to_duration = [](double s) { return std::chrono::microseconds(static_cast<long long>(s * 1e6)); };
    client.set_connection_timeout(to_duration(options_.connect_timeout));
    client.set_read_timeout(to_duration(options_.total_timeout));
    client.set_write_timeout(to_duration(options_.total_timeout));
    if (https) {
      client.set_ca_cert_path(options_.ca_cert_path);
      client.enable_server_certificate_verification(true);
    }

    // A real-time deadline (not the injected Clock: this bounds actual waiting on a socket).
    const auto deadline = std::chrono::steady_clock::now() + to_duration(options_.total_timeout);
    bool too_large = false, timed_out = false;
    httplib::Headers headers = {{"Accept", "application/json"}};
    auto result = client.Get(
        path, headers,
        [&](const httplib::Response& response) {
          out.status = response.status;
          if (response.has_header("Cache-Control")) {
            out.max_age = parse_cache_control_max_age(response.get_header_value("Cache-Control"));
          }
          if (response.status != 200) return false;  // 3xx included: never follow, never accept
          auto length = response.get_header_value("Content-Length");
          bool digits = !length.empty() && length.size() < 19;
          for (char c : length) digits = digits && std::isdigit(static_cast<unsigned char>(c));
          if (digits && std::stoull(length) > options_.max_body_bytes) {
            too_large = true;
            return false;
          }
          return true;
        },
        [&](const char* data, std::size_t size) {
          if (out.body.size() + size > options_.max_body_bytes) {
            too_large = true;
            return false;
          }
          if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            return false;
          }
          out.body.append(data, size);
          return true;
        });

    if (too_large) {
      out.error = "body larger than " + std::to_string(options_.max_body_bytes) + " bytes";
    } else if (timed_out) {
      out.error = "timeout";
    } else if (out.status >= 300 && out.status < 400) {
      out.error = "redirect refused (" + std::to_string(out.status) + ")";
    } else if (out.status != 0 && out.status != 200) {
      out.error = "status " + std::to_string(out.status);
    } else if (!result) {
      auto e = result.error();
      out.error = (e == httplib::Error::Read || e == httplib::Error::ConnectionTimeout)
                      ? "timeout"
                      : "transport: " + httplib::to_string(e);
    } else {
      out.ok = true;
    }
    if (!out.ok) out.body.clear();
    return out;
  }

 private:
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
