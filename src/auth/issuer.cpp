#include "auth/issuer.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <mutex>
#include <nlohmann/json.hpp>

#include "config/config_reader.hpp"

namespace mcpgate::auth {
namespace {

std::string lower_scheme_and_host(std::string url) {
  std::string authority = config::url_authority(url);
  std::size_t start = url.find("://");
  if (authority.empty() || start == std::string::npos) return url;
  std::size_t end = start + 3 + authority.size();
  std::transform(url.begin(), url.begin() + static_cast<long>(end), url.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return url;
}

KeySetFetch parse_key_set(const std::string& body, std::optional<double> max_age, const std::string& origin) {
  KeySetFetch out;
  auto set = std::make_shared<jose::JwkSet>(jose::JwkSet::parse(body));
  if (!set->ok()) {
    out.error = origin + " is not a key set (" + std::string(reason_name(set->error())) + ")";
  } else if (set->keys().empty()) {
    out.error = origin + " holds no usable signing key";
  } else {
    out.keys = std::move(set);
    out.max_age = max_age;
  }
  return out;
}

// {issuer}/.well-known/openid-configuration, then RFC 8414 §3's host +
// /.well-known/oauth-authorization-server + path.
std::vector<std::string> discovery_urls(const std::string& issuer) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::vector<std::string> urls = {base + "/.well-known/openid-configuration"};
  std::string authority = config::url_authority(base);
  std::size_t path_at = base.find(authority) + authority.size();
  urls.push_back(base.substr(0, path_at) + "/.well-known/oauth-authorization-server" + base.substr(path_at));
  return urls;
}

}  // namespace

std::vector<IssuerProfile> derive_issuer_profiles(const Config& config) {
  std::vector<IssuerProfile> out;
  if (config.stytch) {
    const StytchConfig& s = *config.stytch;
    IssuerProfile p;
    p.name = "stytch";
    p.is_stytch = true;
    std::string domain = lower_scheme_and_host(s.domain);
    p.issuers = {domain, "stytch.com/" + s.project_id};
    p.audiences = {s.project_id};
    for (const auto& a : s.audiences) {
      if (std::find(p.audiences.begin(), p.audiences.end(), a) == p.audiences.end()) p.audiences.push_back(a);
    }
    p.algorithms =
        jose::AlgorithmSet::of(jose::Algorithm::RS256);  // Stytch signs access tokens with RS256 only
    p.jwks_uri = domain + "/.well-known/jwks.json";
    p.allowed_organizations = s.allowed_organizations;
    out.push_back(std::move(p));
  }
  for (const auto& is : config.issuers) {
    IssuerProfile p;
    p.name = is.issuer;
    p.issuers = {is.issuer};
    p.audiences = is.audiences;
    for (const auto& a : is.algorithms) {
      if (auto alg = jose::algorithm_from_name(a)) p.algorithms = p.algorithms.with(*alg);
    }
    p.jwks_uri = is.jwks_uri;
    p.jwks_file = is.jwks_file;
    if (p.jwks_uri.empty() && p.jwks_file.empty()) p.discovery_issuer = is.issuer;
    p.allow_insecure = is.allow_insecure_jwks_uri;
    out.push_back(std::move(p));
  }
  return out;
}

KeySetLoader make_key_set_loader(const IssuerProfile& profile, std::shared_ptr<JwksFetcher> fetcher) {
  struct State {
    std::mutex mutex;
    std::string jwks_uri;
  };
  auto state = std::make_shared<State>();
  state->jwks_uri = profile.jwks_uri;
  return [state, fetcher, issuer = profile.discovery_issuer,
          insecure = profile.allow_insecure]() -> KeySetFetch {
    std::string uri;
    {
      std::lock_guard lock(state->mutex);
      uri = state->jwks_uri;
    }
    if (uri.empty()) {
      std::string why;
      for (const auto& url : discovery_urls(issuer)) {
        FetchResponse doc = fetcher->get(url);
        nlohmann::json meta = doc.ok ? nlohmann::json::parse(doc.body, nullptr, false) : nlohmann::json();
        if (!doc.ok || !meta.is_object()) {
          why += (why.empty() ? "" : "; ") + url + ": " + (doc.ok ? "not a JSON object" : doc.error);
          continue;
        }
        if (!meta.contains("issuer") || meta["issuer"] != issuer) {
          why += (why.empty() ? "" : "; ") + url + ": its \"issuer\" is not " + issuer;
          continue;
        }
        if (!meta.contains("jwks_uri") || !meta["jwks_uri"].is_string()) {
          why += (why.empty() ? "" : "; ") + url + ": no jwks_uri";
          continue;
        }
        std::string found = meta["jwks_uri"].get<std::string>();
        if (found.rfind("https://", 0) != 0 && !config::is_loopback_url(found) && !insecure) {
          why += (why.empty() ? "" : "; ") + url + ": jwks_uri is not https";
          continue;
        }
        uri = found;
        break;
      }
      if (uri.empty()) return KeySetFetch{nullptr, std::nullopt, "discovery failed: " + why};
      std::lock_guard lock(state->mutex);
      state->jwks_uri = uri;
    }
    FetchResponse r = fetcher->get(uri);
    if (!r.ok) return KeySetFetch{nullptr, std::nullopt, uri + ": " + r.error};
    return parse_key_set(r.body, r.max_age, uri);
  };
}

KeySetFetch load_key_set_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file && !file.eof()) return KeySetFetch{nullptr, std::nullopt, "cannot read '" + path + "'"};
  if (text.empty())
    return KeySetFetch{nullptr, std::nullopt, "cannot read '" + path + "' (empty or missing)"};
  return parse_key_set(text, std::nullopt, "'" + path + "'");
}

}  // namespace mcpgate::auth
