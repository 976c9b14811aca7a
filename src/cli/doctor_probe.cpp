#include "cli/doctor_probe.hpp"

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>

#include "config/config_reader.hpp"
#include "core/ascii.hpp"

namespace mcpgate::cli {
namespace {

constexpr std::size_t kMaxBodyBytes =
    1024 * 1024;  // discovery documents are a few KiB; a hostile server is not

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) return false;
  const int value = std::stoi(std::string(port));
  return value > 0 && value <= 65535;
}

bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[')
    return host.size() > 2 && host.back() == ']' &&
           std::all_of(host.begin() + 1, host.end() - 1,
                       [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
  return std::all_of(host.begin(), host.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_'; });
}

// Splits "host[:port]" (IPv6 literals in brackets); false when it is not one.
bool split_authority(std::string_view authority, TargetUrl& url) {
  std::size_t host_end = authority.size();
  if (!authority.empty() && authority.front() == '[') {
    host_end = authority.find(']');
    if (host_end == std::string_view::npos) return false;
    ++host_end;
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host_end = colon;
  }
  url.host = std::string(authority.substr(0, host_end));
  if (host_end < authority.size()) {
    if (authority[host_end] != ':') return false;
    url.port = std::string(authority.substr(host_end + 1));
    if (!valid_port(url.port)) return false;
  }
  return valid_host(url.host);
}

// The certificate-verification hook: OpenSSL's own chain verification, plus the leaf's remaining lifetime.
int verify_and_record_expiry(X509_STORE_CTX* store, void* arg) {
  const int ok = X509_verify_cert(store);
  if (X509* leaf = X509_STORE_CTX_get0_cert(store)) {
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf)) == 1)
      *static_cast<std::optional<long long>*>(arg) = static_cast<long long>(days) * 86400 + seconds;
  }
  return ok;
}

std::string transport_error(httplib::Error error, long verify_result, const TargetUrl& url) {
  switch (error) {
    case httplib::Error::SSLServerVerification:
      if (verify_result != X509_V_OK)
        return std::string("certificate verification failed: ") +
               X509_verify_cert_error_string(verify_result);
      return "the certificate does not name the host " + url.host;
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the CA certificates";
    case httplib::Error::Connection:
      return "cannot connect to " + url.origin();
    case httplib::Error::ConnectionTimeout:
      return "timed out connecting to " + url.origin();
    case httplib::Error::Read:
      return "no response (read failed or timed out)";
    default:
      return httplib::to_string(error);
  }
}

}  // namespace

std::optional<TargetUrl> TargetUrl::parse(std::string_view text) {
  TargetUrl url;
  url.text = std::string(text);
  if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return c <= 0x20 || c >= 0x7f; }))
    return std::nullopt;
  const std::string head = ascii_lower(text.substr(0, 8));
  std::string_view rest;
  if (head.rfind("https://", 0) == 0) {
    url.scheme = "https";
    rest = text.substr(8);
  } else if (head.rfind("http://", 0) == 0) {
    url.scheme = "http";
    rest = text.substr(7);
  } else {
    return std::nullopt;
  }
  if (rest.find('#') != std::string_view::npos)
    return std::nullopt;  // a resource has no fragment (RFC 9728 §1.2)
  const std::size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos || !split_authority(authority, url)) return std::nullopt;
  std::string_view tail = rest.substr(authority_end);
  const std::size_t question = std::min(tail.find('?'), tail.size());
  url.path = std::string(tail.substr(0, question));
  if (question < tail.size()) url.query = std::string(tail.substr(question + 1));
  return url;
}

std::string TargetUrl::origin() const {
  return scheme + "://" + host + (port.empty() ? "" : ":" + port);
}

std::string TargetUrl::path_and_query() const {
  std::string out = path.empty() ? "/" : path;
  if (!query.empty()) out += "?" + query;
  return out;
}

bool TargetUrl::loopback() const {
  return config::is_loopback_url("http://" + host);
}

std::string TargetUrl::well_known(std::string_view suffix) const {
  std::string trimmed = path;
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  return origin() + "/.well-known/" + std::string(suffix) + trimmed;
}

std::string Exchange::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::vector<std::string> Exchange::header_values(const std::string& name) const {
  std::vector<std::string> out;
  auto [first, last] = headers.equal_range(name);
  for (auto it = first; it != last; ++it) out.push_back(it->second);
  return out;
}

bool Exchange::is_json() const {
  std::string type = ascii_lower(header("Content-Type"));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == "application/json" ||
         (type.rfind("application/", 0) == 0 && type.size() > 5 && type.ends_with("+json"));
}

bool Exchange::is_html() const {
  if (ascii_lower(header("Content-Type")).rfind("text/html", 0) == 0) return true;
  const std::size_t start = body.find_first_not_of(" \t\r\n");
  return start != std::string::npos && body[start] == '<';
}

std::optional<nlohmann::json> Exchange::json_object() const {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

std::string Exchange::summary() const {
  if (!answered()) return "nothing (" + error + ")";
  std::string out = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400) {
    const std::string location = header("Location");
    return out + " redirect to " + (location.empty() ? "(no Location)" : location) + " (not followed)";
  }
  const std::string type = header("Content-Type");
  return out + (type.empty() ? " without Content-Type" : " " + type);
}

Exchange Probe::get(const std::string& url, const httplib::Headers& headers) const {
  return send("GET", url, headers, "");
}

Exchange Probe::post(const std::string& url, const std::string& body, const httplib::Headers& headers) const {
  return send("POST", url, headers, body);
}

Exchange Probe::options(const std::string& url, const httplib::Headers& headers) const {
  return send("OPTIONS", url, headers, "");
}

Exchange Probe::send(const std::string& method, const std::string& url, const httplib::Headers& headers,
                     const std::string& body) const {
  Exchange out;
  out.method = method;
  out.url = url;
  const auto target = TargetUrl::parse(url);
  if (!target) {
    out.error = "not an http(s) URL: " + url;
    return out;
  }
  httplib::Client client(target->origin());
  client.set_tcp_nodelay(true);
  client.set_follow_location(false);  // a redirect is reported, never followed
  client.set_keep_alive(false);
  client.set_connection_timeout(options_.timeout);
  client.set_read_timeout(options_.timeout);
  client.set_write_timeout(options_.timeout);
  if (target->https()) {
    if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
    client.enable_server_certificate_verification(true);
    SSL_CTX_set_cert_verify_callback(client.ssl_context(), verify_and_record_expiry,
                                     &out.certificate_seconds_left);
  }
  httplib::Request req;
  req.method = method;
  req.path = target->path_and_query();
  req.headers = headers;
  req.body = body;
  bool too_large = false;
  req.content_receiver = [&](const char* data, std::size_t length, std::uint64_t, std::uint64_t) {
    if (out.body.size() + length > kMaxBodyBytes) return !(too_large = true);
    out.body.append(data, length);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  if (!client.send(req, res, error)) {
    out.error = too_large ? "the body exceeds 1 MiB"
                          : transport_error(error, client.get_openssl_verify_result(), *target);
    return out;
  }
  out.status = res.status;
  out.headers = res.headers;
  return out;
}

}  // namespace mcpgate::cli
