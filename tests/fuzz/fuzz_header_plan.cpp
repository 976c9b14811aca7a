// libFuzzer target: arbitrary bytes as a client's header fields (name NUL value NUL ...) through the upstream
// header plan of a route (src/gateway/headers.cpp), with a principal whose claims are fuzzed too.
//
//   cmake --build build-fuzz --target fuzz_header_plan && build-fuzz/tests/fuzz/fuzz_header_plan -max_total_time=60
//
// Invariants beyond "no crash": no header the gateway sends upstream has a name or value with CR, LF or NUL;
// the client's Authorization and every identity header never pass in any spelling — the ones that reach the
// upstream are exactly the gateway's own, once each.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/headers.hpp"

using namespace mcpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HeaderList client;
  std::string claim;
  while (!in.empty() && client.size() < 64) {
    const std::size_t a = in.find('\0');
    const std::string_view name = in.substr(0, a);
    in = a == std::string_view::npos ? std::string_view() : in.substr(a + 1);
    const std::size_t b = in.find('\0');
    const std::string_view value = in.substr(0, b);
    in = b == std::string_view::npos ? std::string_view() : in.substr(b + 1);
    client.emplace_back(name, value);
    if (claim.empty()) claim = value;
  }
  static const Config config = [] {
    Config c;
    c.gateway.claim_to_headers = {{"email", "X-Auth-Email"}};
    return c;
  }();
  static const RouteConfig route = [] {
    RouteConfig r;
    r.prefix = "/";
    r.inject_headers = {{"X-Service-Token", "t"}};
    return r;
  }();
  static const gateway::UpstreamHeaderPlan plan(config, route);  // built once, as per configuration
  Principal who;
  who.subject = claim;  // claims are data: whatever bytes they hold
  who.claims = {{"email", claim}};
  const HeaderList up = plan.request_headers(client, {.principal = &who,
                                                      .remote_addr = "127.0.0.1",
                                                      .remote_trusted = size % 2 == 0,
                                                      .request_id = "r",
                                                      .scheme = "http",
                                                      .injected = {{"X-Service-Token", "t"}}});
  int subject = 0, service = 0;
  for (const auto& [name, value] : up) {
    if (name.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos ||
        value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      std::abort();
    const std::string canonical = gateway::canonical_header_name(name);
    if (canonical == "authorization") std::abort();
    if (canonical == "x-auth-subject") {
      ++subject;
      if (name != config.server.subject_header || value != who.subject) std::abort();
    }
    if (canonical == "x-service-token" && (++service > 1 || value != "t")) std::abort();
  }
  if (subject > 1 || service != 1) std::abort();
  return 0;
}
