// The MCP endpoint itself: its 401 challenge (RFC 6750, MCP discovery), its answer to unknown well-known

// paths, CORS for browser clients, and the transport (TLS).
#include <algorithm>
#include <cctype>
#include <random>

#include "cli/doctor_checks.hpp"
#include "core/ascii.hpp"

namespace mcpgate::cli {
namespace {

constexpr const char* kBrowserOrigin = "https://claude.ai";
constexpr long long kExpiryWarningSeconds = 14LL * 86400;

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// An MCP initialize request, the first thing every client POSTs (and is challenged on).
std::string initialize_body() {
  return R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
         R"("capabilities":{},"clientInfo":{"name":"mcpgate-doctor","version":"1"}}})";
}

httplib::Headers mcp_post_headers() {
  return {{"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
}

// A comma-separated header value as lower-case items.
std::vector<std::string> comma_items(const std::string& value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = std::min(value.find(',', start), value.size());
    std::string item = value.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(ascii_lower(item));
    start = end + 1;
  }
  return out;
}

bool contains(const std::vector<std::string>& items, std::string_view item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

const std::string* param(const std::vector<std::pair<std::string, std::string>>& params,
                         std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

// `resource_metadata` must be an absolute https URL that answers 200 JSON (plain http only where the MCP URL
// itself is loopback http, which the tls check reports).
void check_resource_metadata(const std::string* value, const TargetUrl& url, const Probe& probe,
                             Discovery& found, CheckResult& r) {
  const std::string fix = "Send resource_metadata=\"" + url.well_known("oauth-protected-resource") +
                          "\" in the challenge (MCP 2025-11-25 discovery).";
  if (!value) {
    r.fail(kAllClients, "the challenge has no `resource_metadata` parameter", fix);
    return;
  }
  const auto target = TargetUrl::parse(*value);
  if (!target || (!target->https() && !(url.loopback() && target->loopback()))) {
    r.fail(kAllClients, "resource_metadata=\"" + *value + "\" is not an absolute https URL", fix);
    return;
  }
  Exchange answer = probe.get(*value, {{"Accept", "application/json"}});
  found.challenge_doc = expect_json_document(answer, r, kAllClients, fix);
}

void check_bearer_challenge(const Exchange& answer, const TargetUrl& url, const Probe& probe,
                            Discovery& found, CheckResult& r) {
  auto params = bearer_challenge_params(answer.header_values("WWW-Authenticate"));
  if (!params) {
    const std::string header = answer.header("WWW-Authenticate");
    r.fail(kAllClients,
           header.empty() ? "the 401 has no WWW-Authenticate header (ChatGPT stops here)"
                          : "the 401's WWW-Authenticate (" + header + ") holds no Bearer challenge",
           "Pass the gateway's 401 through unchanged, WWW-Authenticate: Bearer included (nginx: "
           "auth_request_set + add_header ... always).");
    return;
  }
  if (const std::string* error = param(*params, "error"))
    r.fail(kAllClients,
           "the challenge says error=\"" + *error +
               "\" although no token was sent (RFC 6750 §3.1: no credentials, no error code)",
           "Answer a request without credentials with a bare Bearer challenge; keep error= for bad tokens.");
  check_resource_metadata(param(*params, "resource_metadata"), url, probe, found, r);
  if (!param(*params, "scope"))
    r.warn(kAllClients, "the challenge has no `scope` parameter: clients guess from scopes_supported",
           "Name the scopes the endpoint needs in scope=\"...\" (mcpgate: [[routes]] scopes).");
}

// The preflight a browser client sends before its first POST.
void check_preflight(const TargetUrl& url, const Probe& probe, CheckResult& r) {
  const std::string requested = "authorization, content-type, mcp-protocol-version, mcp-session-id";
  Exchange answer = probe.options(url.text, {{"Origin", kBrowserOrigin},
                                             {"Access-Control-Request-Method", "POST"},
                                             {"Access-Control-Request-Headers", requested}});
  const std::string fix_origin =
      std::string("Allow the browser origin (mcpgate: [server] allowed_origins = [\"") + kBrowserOrigin +
      "\"]) and answer preflights before authentication.";
  if (!answer.answered() || answer.status < 200 || answer.status > 299) {
    r.fail(kClaude,
           "the preflight OPTIONS from " + std::string(kBrowserOrigin) + " answered " + answer.summary() +
               (answer.status == 401 ? " (a preflight never carries credentials: never challenge it)" : ""),
           fix_origin);
    return;
  }
  const std::string allow_origin = answer.header("Access-Control-Allow-Origin");
  if (allow_origin != "*" && allow_origin != kBrowserOrigin) {
    r.fail(kClaude, "the preflight's Access-Control-Allow-Origin is \"" + allow_origin + "\"", fix_origin);
    return;
  }
  const auto allowed = comma_items(answer.header("Access-Control-Allow-Headers"));
  std::string missing;
  for (const auto& h : comma_items(requested))
    if (!contains(allowed, h) && !(contains(allowed, "*") && h != "authorization"))
      missing += (missing.empty() ? "" : ", ") + h;
  if (!missing.empty())
    r.fail(kClaude, "the preflight does not allow the request headers " + missing,
           "List Authorization, Content-Type, Mcp-Protocol-Version and Mcp-Session-Id in "
           "Access-Control-Allow-Headers.");
}

// The challenge a browser client receives must be readable by its script.
void check_exposed_challenge(const TargetUrl& url, const Probe& probe, CheckResult& r) {
  httplib::Headers headers = mcp_post_headers();
  headers.emplace("Origin", kBrowserOrigin);
  Exchange answer = probe.post(url.text, initialize_body(), headers);
  if (!answer.answered() || answer.status != 401) {
    r.fail(kClaude,
           "a POST from " + std::string(kBrowserOrigin) + " without a token answered " + answer.summary() +
               ", not 401",
           std::string("Allow the origin ") + kBrowserOrigin + " and challenge it like any other client.");
    return;
  }
  if (answer.header("Access-Control-Allow-Origin").empty())
    r.fail(kClaude, "the 401 to " + std::string(kBrowserOrigin) + " has no Access-Control-Allow-Origin",
           "Send CORS headers on 401 answers too.");
  const auto exposed = comma_items(answer.header("Access-Control-Expose-Headers"));
  if (!contains(exposed, "www-authenticate"))
    r.fail(kClaude, "the 401's Access-Control-Expose-Headers does not include WWW-Authenticate",
           "Add WWW-Authenticate to Access-Control-Expose-Headers.");
  if (!contains(exposed, "mcp-session-id"))
    r.warn(kClaude, "Access-Control-Expose-Headers does not include Mcp-Session-Id",
           "Add Mcp-Session-Id to Access-Control-Expose-Headers.");
}

// MCP Streamable HTTP: a request whose Origin is not allowed MUST be answered 403 (DNS rebinding: a page on
// any site could otherwise drive a server reachable from the user's browser).
void check_foreign_origin_refused(const TargetUrl& url, const Probe& probe, CheckResult& r) {
  constexpr const char* kForeignOrigin = "https://mcpgate-doctor.invalid";
  httplib::Headers headers = mcp_post_headers();
  headers.emplace("Origin", kForeignOrigin);
  Exchange answer = probe.post(url.text, initialize_body(), headers);
  if (answer.answered() && answer.status == 403) return;
  r.warn(kAllClients,
         std::string("a POST from the foreign Origin ") + kForeignOrigin + " answered " + answer.summary() +
             ", not 403 (MCP transport: an Origin that is not allowed MUST be refused)",
         "Allow only the origins of your clients (mcpgate refuses every other Origin with 403; [server] "
         "allowed_origins lists the ones it allows).");
}

std::string random_suffix() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 4; ++i) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(device()));
    out += hex;
  }
  return out;
}

// RFC 9110 §11.6.1: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ], several per header value.
struct Challenge {
  std::string scheme;  // lower-case
  std::vector<std::pair<std::string, std::string>> params;
};

class ChallengeReader {
 public:
  explicit ChallengeReader(const std::string& text) : text_(text) {}
  void skip(std::string_view chars) {
    while (at_ < text_.size() && chars.find(text_[at_]) != std::string_view::npos) ++at_;
  }
  bool consume(char c) {
    if (at_ >= text_.size() || text_[at_] != c) return false;
    ++at_;
    return true;
  }
  std::string token() {
    const std::size_t start = at_;
    while (at_ < text_.size() && is_token_char(text_[at_])) ++at_;
    return text_.substr(start, at_ - start);
  }
  // A quoted-string (backslash escapes undone) or, leniently, anything up to the next comma or space.
  std::string value() {
    std::string out;
    if (consume('"')) {
      for (; at_ < text_.size() && text_[at_] != '"'; ++at_) {
        if (text_[at_] == '\\' && at_ + 1 < text_.size()) ++at_;
        out += text_[at_];
      }
      consume('"');
      return out;
    }
    while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != ' ') out += text_[at_++];
    return out;
  }
  std::size_t at() const { return at_; }
  void rewind(std::size_t to) { at_ = to; }

 private:
  const std::string& text_;
  std::size_t at_ = 0;
};

std::vector<Challenge> parse_challenges(const std::string& value) {
  ChallengeReader in(value);
  std::vector<Challenge> out;
  while (true) {
    in.skip(" \t,");
    std::string scheme = in.token();
    if (scheme.empty()) break;  // the end, or nothing a challenge can start with
    Challenge challenge{ascii_lower(scheme), {}};
    while (true) {  // auth-params, until a token not followed by '=' (the next challenge's scheme)
      in.skip(" \t,");
      const std::size_t start = in.at();
      std::string name = ascii_lower(in.token());
      in.skip(" \t");
      if (name.empty() || !in.consume('=')) {
        in.rewind(start);
        break;
      }
      in.skip(" \t");
      challenge.params.emplace_back(std::move(name), in.value());
    }
    out.push_back(std::move(challenge));
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> bearer_challenge_params(
    const std::vector<std::string>& www_authenticate) {
  for (const auto& value : www_authenticate)
    for (auto& challenge : parse_challenges(value))
      if (challenge.scheme == "bearer") return std::move(challenge.params);
  return std::nullopt;
}

CheckResult check_challenge(const TargetUrl& url, const Probe& probe, Discovery& found) {
  CheckResult r{"challenge", kAllClients, "", {}};
  found.challenge = probe.post(url.text, initialize_body(), mcp_post_headers());
  const Exchange& answer = found.challenge;
  if (!answer.answered() || answer.status != 401) {
    const bool open = answer.answered() && answer.status >= 200 && answer.status < 300;
    r.fail(kAllClients,
           "POST " + url.text + " without a token answered " + answer.summary() +
               (open ? ": the endpoint is not protected" : ", not 401"),
           open ? "Put mcpgate in front of every request to the MCP endpoint."
                : "Answer an MCP request without a token with 401 and WWW-Authenticate: Bearer, at exactly "
                  "this URL (no redirect).");
    return r;
  }
  check_bearer_challenge(answer, url, probe, found, r);
  r.verified = "401 with " + answer.header("WWW-Authenticate");
  return r;
}

CheckResult check_wellknown_json404(const TargetUrl& url, const Probe& probe) {
  CheckResult r{"wellknown.json404", kAllClients, "", {}};
  const std::string where = url.origin() + "/.well-known/mcpgate-doctor-probe-" + random_suffix();
  Exchange answer = probe.get(where, {{"Accept", "application/json"}});
  const std::string fix =
      "Answer unknown /.well-known/ paths with a JSON 404, never HTML or a challenge (route /.well-known/ to "
      "mcpgate).";
  if (answer.answered() && answer.status == 404 && answer.is_json() && !answer.is_html()) {
    r.verified = where + ": JSON 404";
  } else if (answer.answered() && answer.status == 401) {
    r.fail(kAllClients, where + " answered 401: clients take a probe's 401 for a challenge", fix);
  } else if (answer.answered() && answer.status == 404) {
    r.fail(kAllClients,
           where + " answered 404 " +
               (answer.is_html() ? "HTML" : "'" + answer.header("Content-Type") + "'") + ", not JSON",
           fix);
  } else {
    r.fail(kAllClients, where + " answered " + answer.summary() + ", not a JSON 404", fix);
  }
  return r;
}

CheckResult check_cors_preflight(const TargetUrl& url, const Probe& probe) {
  CheckResult r{"cors.preflight", kClaude, "", {}};
  check_preflight(url, probe, r);
  if (r.findings.empty()) check_exposed_challenge(url, probe, r);
  if (r.findings.empty()) check_foreign_origin_refused(url, probe, r);
  r.verified = std::string("preflight from ") + kBrowserOrigin +
               " allowed; the 401 exposes WWW-Authenticate and Mcp-Session-Id; a foreign Origin is refused";
  return r;
}

CheckResult check_tls(const TargetUrl& url, const Discovery& found) {
  CheckResult r{"tls", kAllClients, "", {}};
  if (!url.https()) {
    if (url.loopback())
      r.warn(
          kAllClients, "plain http on a loopback host: fine on this machine, but clients require https",
          "Serve https (mcpgate: [server] tls_cert_file and tls_key_file, or a TLS-terminating proxy) before "
          "giving the URL to clients.");
    else
      r.fail(kAllClients, "plain http: clients require https",
             "Serve the MCP endpoint over https (mcpgate: [server] tls_cert_file/tls_key_file, or a "
             "TLS-terminating proxy).");
    return r;
  }
  const Exchange& answer = found.prm_path;  // the first connection to the origin
  if (!answer.answered() && answer.error.find("certificate") != std::string::npos) {
    r.fail(kAllClients, url.host + ": " + answer.error,
           "Serve a certificate chain for " + url.host +
               " from a public CA (or pass --ca-file for a private one).");
    return r;
  }
  if (!answer.answered()) {
    r.fail(kAllClients, "no TLS connection to " + url.origin() + ": " + answer.error,
           "Make " + url.origin() + " reachable over https.");
    return r;
  }
  r.verified = "certificate for " + url.host + " verified";
  if (const auto left = answer.certificate_seconds_left) {
    r.verified += ", expires in " + std::to_string(*left / 86400) + " days";
    if (*left < kExpiryWarningSeconds)
      r.warn(kAllClients,
             "the certificate for " + url.host + " expires in " + std::to_string(*left / 86400) + " days",
             "Renew the certificate (and automate renewal).");
  }
  return r;
}

}  // namespace mcpgate::cli
