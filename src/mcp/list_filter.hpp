// list_filter.hpp — a list answer (tools/list, prompts/list, resources/list, resources/templates/list) cut to
// what one principal may use, as JSON or as an SSE stream. Pure: no I/O; fuzzed with the inspector.
//
//   mcpgate::mcp::ListRequests asked = mcpgate::mcp::list_requests(inspection.calls);   // ids of list calls
//   auto judge = [&](std::string_view call_method, std::string_view target) {          // "tools/call", "x"
//     return mcpgate::mcp::ItemVerdict{.hide = forbidden(...), .scopes = needed(...)};
//   };
//   mcpgate::mcp::Filtered f = mcpgate::mcp::filter_list(body, is_sse, asked, judge, {.private_cache = true});
//   if (!f.ok) answer(502);                  // not a list answer it can read: never relayed unfiltered
//   else send(f.body);
//
// Each item is judged as the call that would use it: a tool as tools/call of its "name", a prompt as
// prompts/get of its "name", a resource as resources/read of its "uri", a template as resources/read of its
// "uriTemplate". A hidden item is removed; an item without that member is removed too (fail closed). Shown
// tools get `securitySchemes: [{"type":"oauth2","scopes":[...]}]` (ChatGPT Apps SDK), also under
// `_meta.securitySchemes`, with every scope they need. With `private_cache` (2026-07-28) each filtered result
// says `cacheScope: "private"`: another principal sees another list. Responses to other requests, errors and
// notifications pass unchanged; SSE events other than the list response keep their exact bytes.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp/inspect.hpp"

namespace mcpgate::mcp {

enum class ListKind { Tools, Prompts, Resources, ResourceTemplates };

// The list methods a body asked for, with their ids (notifications never get an answer).
using ListRequests = std::vector<std::pair<nlohmann::json, ListKind>>;
ListRequests list_requests(const std::vector<Call>& calls);

struct ItemVerdict {
  bool hide = false;
  std::vector<std::string> scopes;  // everything the item needs (for securitySchemes); empty = none listed
};
using ItemJudge = std::function<ItemVerdict(std::string_view call_method, std::string_view target)>;

struct ListOptions {
  bool private_cache = false;    // set cacheScope: "private" on filtered results (2026-07-28)
  bool security_schemes = true;  // annotate shown tools
};

struct Filtered {
  bool ok = false;  // false: the body is not JSON / SSE carrying JSON-RPC it can read
  std::string body;
  std::size_t hidden = 0;  // items removed
};

Filtered filter_list(std::string_view body, bool event_stream, const ListRequests& asked,
                     const ItemJudge& judge, const ListOptions& options);

}  // namespace mcpgate::mcp
