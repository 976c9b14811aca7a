#include "http/challenge.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace mcpgate::http {
namespace {

void append_param(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out.append(out.size() == 6 ? " " : ", ");  // first parameter follows "Bearer"
  out.append(name);
  out.push_back('=');
  out.append(quoted_string(value));
}

}  // namespace

std::string quoted_string(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F)
      continue;  // CTLs are not allowed even escaped (qdtext / quoted-pair exclude them)
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string bearer_challenge(const ChallengeParams& p) {
  std::string out = "Bearer";
  append_param(out, "realm", p.realm);
  append_param(out, "error", p.error);
  append_param(out, "error_description", p.error_description);
  append_param(out, "resource_metadata", p.resource_metadata);
  append_param(out, "scope", p.scope);
  return out;
}

std::string error_body(std::string_view error, std::string_view description) {
  nlohmann::json j = {{"error", error}, {"error_description", description}};
  return j.dump();
}

Refusal refusal_for(Reason reason, const ChallengeContext& ctx, double retry_after_seconds) {
  Refusal r;
  r.status = http_status(reason);
  if (r.status == 0)
    r.status = 500;  // key-loading reasons are never request outcomes: treat as a bug, fail closed
  std::string_view code = oauth_error(reason);
  std::string_view sentence = reason_sentence(reason);
  bool bearer_outcome = r.status == 401 || r.status == 400 || reason == Reason::InsufficientScope;
  if (bearer_outcome) {
    ChallengeParams p{.realm = ctx.realm, .resource_metadata = ctx.resource_metadata, .scope = ctx.scope};
    if (!code.empty()) {
      p.error = code;
      p.error_description = sentence;
    }
    r.headers.emplace_back("WWW-Authenticate", bearer_challenge(p));
  }
  if (r.status == 503) {
    double s = std::ceil(retry_after_seconds);
    r.headers.emplace_back("Retry-After", std::to_string(static_cast<long long>(s < 1 ? 1 : s)));
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = error_body(code.empty() ? reason_name(reason) : code, sentence);
  return r;
}

}  // namespace mcpgate::http
