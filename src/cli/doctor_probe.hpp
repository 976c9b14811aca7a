// doctor_probe.hpp — the HTTP exchanges `mcpgate doctor` makes with a live deployment, seen from outside.
//
//   auto url = cli::TargetUrl::parse("https://mcp.example.com/mcp");      // nullopt: not an http(s) URL
//   cli::Probe probe({.timeout = std::chrono::seconds(10), .ca_file = ""});  // "" = the system CA bundle
//   cli::Exchange prm = probe.get(url->origin() + "/.well-known/oauth-protected-resource/mcp");
//   if (!prm.answered()) ...prm.error...;  // "connection refused", "certificate verify failed: ..."
//   if (prm.status == 200 && prm.is_json()) auto doc = prm.json_object();
//
// Every request: TCP_NODELAY, the given timeout for connect, read and write, certificate and host name
// verified for https, a 1 MiB body cap, and redirects never followed (a 3xx is an answer the checks report).
#pragma once

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::cli {

// An http(s) URL taken apart the way the well-known URLs are built from it (RFC 9728 §3.1, RFC 8414 §3.1).
struct TargetUrl {
  std::string text;    // as typed
  std::string scheme;  // "http" or "https", lower-case
  std::string host;    // as typed (IPv6 literals keep their brackets)
  std::string port;    // "" when absent
  std::string path;    // "" or starting with '/'; no query
  std::string query;   // without '?'

  // Refuses anything but http:// and https:// with a host, and URLs with credentials or a fragment.
  static std::optional<TargetUrl> parse(std::string_view text);
  std::string origin() const;          // "https://host[:port]"
  std::string path_and_query() const;  // "/" when the path is empty
  bool https() const { return scheme == "https"; }
  bool loopback() const;  // 127.0.0.0/8, ::1, localhost
  // {origin}/.well-known/{suffix}{path without a terminating '/'} — the RFC 8414 §3.1 insertion.
  std::string well_known(std::string_view suffix) const;
};

struct ProbeOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // each of connect, read, write
  std::string ca_file;  // PEM bundle to trust instead of the system CAs; "" = system CAs
};

struct Exchange {
  std::string method, url;
  std::string error;  // empty when an HTTP answer came back; otherwise why none did
  int status = 0;
  httplib::Headers headers;  // case-insensitive multimap
  std::string body;
  // https only: seconds until the leaf certificate's notAfter, when the handshake got that far.
  std::optional<long long> certificate_seconds_left;

  bool answered() const { return error.empty(); }
  std::string header(const std::string& name) const;  // the first value, "" when absent
  std::vector<std::string> header_values(const std::string& name) const;
  bool is_json() const;  // Content-Type application/json or application/*+json
  bool is_html() const;  // Content-Type text/html, or a body that starts like HTML
  // The body as a JSON object; nullopt when it does not parse or is not an object.
  std::optional<nlohmann::json> json_object() const;
  // "HTTP 302 to https://...", "HTTP 404 text/html", "no answer: ..." — one phrase for a check's detail.
  std::string summary() const;
};

class Probe {
 public:
  explicit Probe(ProbeOptions options) : options_(std::move(options)) {}

  Exchange get(const std::string& url, const httplib::Headers& headers = {}) const;
  Exchange post(const std::string& url, const std::string& body, const httplib::Headers& headers) const;
  Exchange options(const std::string& url, const httplib::Headers& headers) const;

 private:
  Exchange send(const std::string& method, const std::string& url, const httplib::Headers& headers,
                const std::string& body) const;
  ProbeOptions options_;
};

}  // namespace mcpgate::cli
