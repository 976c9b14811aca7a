#include "mcp/list_filter.hpp"

#include <optional>

namespace mcpgate::mcp {
namespace {

using nlohmann::json;

struct KindInfo {
  const char* member;       // the result's array
  const char* key;          // the item's identifying member
  const char* call_method;  // the call that uses an item
};

KindInfo info(ListKind k) {
  switch (k) {
    case ListKind::Tools:
      return {"tools", "name", "tools/call"};
    case ListKind::Prompts:
      return {"prompts", "name", "prompts/get"};
    case ListKind::Resources:
      return {"resources", "uri", "resources/read"};
    case ListKind::ResourceTemplates:
      return {"resourceTemplates", "uriTemplate", "resources/read"};
  }
  return {"tools", "name", "tools/call"};
}

std::optional<ListKind> kind_of(std::string_view method) {
  if (method == "tools/list") return ListKind::Tools;
  if (method == "prompts/list") return ListKind::Prompts;
  if (method == "resources/list") return ListKind::Resources;
  if (method == "resources/templates/list") return ListKind::ResourceTemplates;
  return std::nullopt;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// One JSON-RPC message (object) or a batch (array): filters the results of the asked list requests in place.
// False when a response to an asked request cannot be read as a list result.
bool filter_value(json& value, const ListRequests& asked, const ItemJudge& judge, const ListOptions& options,
                  std::size_t& hidden, bool& touched) {
  if (value.is_array()) {
    for (auto& element : value)
      if (!filter_value(element, asked, judge, options, hidden, touched)) return false;
    return true;
  }
  if (!value.is_object()) return true;
  const auto id = value.find("id");
  if (id == value.end() || value.contains("method")) return true;  // a request or notification of the server
  const ListRequests::value_type* match = nullptr;
  for (const auto& a : asked)
    if (a.first == *id) match = &a;
  if (!match) return true;
  const auto result = value.find("result");
  if (result == value.end()) return value.contains("error");  // an error answer passes as it is
  if (!result->is_object()) return false;
  const KindInfo k = info(match->second);
  const auto items = result->find(k.member);
  if (items == result->end() || !items->is_array()) return false;
  json kept = json::array();
  for (auto& item : *items) {
    const auto name = item.is_object() ? item.find(k.key) : item.end();
    if (!item.is_object() || name == item.end() || !name->is_string()) {
      ++hidden;
      continue;
    }
    ItemVerdict v = judge(k.call_method, name->get_ref<const std::string&>());
    if (v.hide) {
      ++hidden;
      continue;
    }
    if (match->second == ListKind::Tools && options.security_schemes && !v.scopes.empty()) {
      json schemes = json::array({{{"type", "oauth2"}, {"scopes", v.scopes}}});
      item["securitySchemes"] = schemes;
      if (!item.contains("_meta") || !item["_meta"].is_object()) item["_meta"] = json::object();
      item["_meta"]["securitySchemes"] = std::move(schemes);
    }
    kept.push_back(std::move(item));
  }
  *items = std::move(kept);
  if (options.private_cache) (*result)["cacheScope"] = "private";
  touched = true;
  return true;
}

// An SSE event's data lines, joined by '\n'.
struct Event {
  std::string data;
  bool has_data = false;
};

std::string_view strip_cr(std::string_view line) {
  return !line.empty() && line.back() == '\r' ? line.substr(0, line.size() - 1) : line;
}

}  // namespace

ListRequests list_requests(const std::vector<Call>& calls) {
  ListRequests out;
  for (const auto& c : calls)
    if (!c.notification)
      if (auto k = kind_of(c.method)) out.emplace_back(c.id, *k);
  return out;
}

Filtered filter_list(std::string_view body, bool event_stream, const ListRequests& asked,
                     const ItemJudge& judge, const ListOptions& options) {
  Filtered out;
  if (!event_stream) {
    json value = json::parse(body, nullptr, false);
    if (value.is_discarded()) return out;
    bool touched = false;
    if (!filter_value(value, asked, judge, options, out.hidden, touched)) return out;
    out.body = touched ? dump(value) : std::string(body);
    out.ok = true;
    return out;
  }
  // SSE (WHATWG HTML §9.2): events end at a blank line; a data line's value is what follows "data:" and one
  // optional space. Only an event whose data is a response to an asked request is rewritten.
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = pos;
    Event ev;
    std::vector<std::string_view> other_lines;
    bool blank = false;
    while (end < body.size()) {
      std::size_t nl = body.find('\n', end);
      const bool last = nl == std::string_view::npos;
      if (last) nl = body.size();
      const std::string_view line = strip_cr(body.substr(end, nl - end));
      end = last ? nl : nl + 1;
      if (line.empty()) {
        blank = true;
        break;
      }
      if (line.starts_with("data:")) {
        std::string_view v = line.substr(5);
        if (v.starts_with(' ')) v.remove_prefix(1);
        if (ev.has_data) ev.data += '\n';
        ev.data.append(v);
        ev.has_data = true;
      } else {
        other_lines.push_back(line);
      }
    }
    const std::string_view original = body.substr(pos, end - pos);
    pos = end;
    json value = ev.has_data ? json::parse(ev.data, nullptr, false) : json();
    // Data that is not JSON to this parser may still be to a lenient client's (invalid UTF-8 read with
    // replacement characters): never relayed unfiltered.
    if (ev.has_data && value.is_discarded()) return out;
    bool touched = false;
    if (ev.has_data && !filter_value(value, asked, judge, options, out.hidden, touched)) return out;
    if (!touched) {
      out.body.append(original);
      continue;
    }
    for (const auto& l : other_lines) out.body.append(l).append("\n");
    out.body.append("data: ").append(dump(value)).append("\n");
    if (blank) out.body.append("\n");
  }
  out.ok = true;
  return out;
}

}  // namespace mcpgate::mcp
