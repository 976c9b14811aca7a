// session_seal.hpp — the Mcp-Session-Id a client sees: the upstream's id sealed (AES-256-GCM) together with
// the principal it was issued to, so that any gateway instance holding the keys can check it with no shared
// state and no table to evict from.
//
//   auto seal = SessionSeal::create(config.gateway.session_keys);     // "id:base64,..." or "" (per process)
//   std::string client_id = seal.value->seal(owner, "3f9a-upstream-id", "/mcp");   // "ms1.<base64url>"
//   std::optional<std::string> upstream_id = seal.value->open(client_id, owner, "/mcp");
//   if (!upstream_id) answer_404();   // forged, altered, another principal's, another route's, an unknown key
//
// What is sealed: the owner ("jwt\n<iss>\n<sub>" or "static\n<name>", see session_owner) and the upstream's id,
// each length-prefixed; the route prefix is the associated data, so an id issued on one route is refused on
// another. The first key seals; every key of the ring opens (rotation: put the new key first, keep the old one
// as long as sessions sealed with it should live). Without configured keys a random per-process key is made:
// ids then survive no restart and no other instance (the gateway warns at start).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/keyring.hpp"

namespace mcpgate::gateway {

class SessionSeal {
 public:
  // `keys`: "id:base64,id:base64" (32-byte keys, first = active), or "" for a random per-process key.
  static Result<SessionSeal> create(std::string_view keys);

  std::string seal(std::string_view owner, std::string_view upstream_id, std::string_view route) const;
  std::optional<std::string> open(std::string_view sealed, std::string_view owner,
                                  std::string_view route) const;
  bool ephemeral() const noexcept { return ephemeral_; }

 private:
  store::Keyring ring_;
  bool ephemeral_ = false;
};

}  // namespace mcpgate::gateway
