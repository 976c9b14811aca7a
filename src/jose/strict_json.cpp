// parse_json_object_strict (declared in jws.hpp): RFC 7515 §4 and RFC 7519 §4 say a JWS header or JWT claims
// set with duplicate member names MUST be rejected (or the last one used); parsers disagree on which
// duplicate wins, so one token could mean two things to two components. We reject, at every depth.
//
// A SAX handler builds the document itself (as nlohmann's json_sax_dom_parser does) and inserts each member
// name into the object being built: a name already there is a duplicate, found by the same map lookup that
// inserts it, and the parse stops at once. No per-object set of names, no callback-parser detour.
#include <string>
#include <utility>
#include <vector>

#include "jose/jws.hpp"

namespace mcpgate::jose {
namespace {

using nlohmann::json;

class StrictDomBuilder : public nlohmann::json_sax<json> {
 public:
  StrictDomBuilder(json& root, std::size_t max_depth) : root_(root), max_depth_(max_depth) {}

  bool duplicate() const noexcept { return duplicate_; }
  bool too_deep() const noexcept { return too_deep_; }

  bool null() override { return add(nullptr); }
  bool boolean(bool v) override { return add(v); }
  bool number_integer(number_integer_t v) override { return add(v); }
  bool number_unsigned(number_unsigned_t v) override { return add(v); }
  bool number_float(number_float_t v, const string_t& /*text*/) override { return add(v); }
  bool string(string_t& v) override { return add(std::move(v)); }
  bool binary(binary_t& v) override { return add(std::move(v)); }

  bool start_object(std::size_t /*elements*/) override {
    if (deeper()) return false;
    open_.push_back(add_container(json::value_t::object));
    return true;
  }
  bool key(string_t& name) override {
    auto& members = open_.back()->get_ref<json::object_t&>();
    auto [where, inserted] = members.emplace(std::move(name), nullptr);
    if (!inserted) {
      duplicate_ = true;
      return false;  // stops the parse: sax_parse returns false
    }
    member_ = &where->second;
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) override {
    if (deeper()) return false;
    open_.push_back(add_container(json::value_t::array));
    return true;
  }
  bool end_array() override {
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  // One more open container than max_depth allows (0: no limit) stops the parse.
  bool deeper() {
    if (max_depth_ && open_.size() >= max_depth_) too_deep_ = true;
    return too_deep_;
  }
  // Places a value where the grammar says it goes: the root, the next array element, or the member whose
  // name key() just inserted.
  template <typename Value>
  json* place(Value&& v) {
    if (open_.empty()) {
      root_ = json(std::forward<Value>(v));
      return &root_;
    }
    if (open_.back()->is_array()) {
      auto& elements = open_.back()->get_ref<json::array_t&>();
      elements.emplace_back(std::forward<Value>(v));
      return &elements.back();
    }
    *member_ = json(std::forward<Value>(v));
    return member_;
  }
  template <typename Value>
  bool add(Value&& v) {
    place(std::forward<Value>(v));
    return true;
  }
  json* add_container(json::value_t type) { return place(json(type)); }

  json& root_;
  std::size_t max_depth_;
  std::vector<json*> open_;  // the objects and arrays still open, innermost last
  json* member_ = nullptr;   // the member key() created, waiting for its value
  bool duplicate_ = false;
  bool too_deep_ = false;
};

}  // namespace

StrictJson parse_json_strict(std::string_view text, nlohmann::json& out, std::size_t max_depth) {
  json doc;
  StrictDomBuilder builder(doc, max_depth);
  // strict = true: nothing but whitespace may follow the value; comments are not JSON (RFC 8259).
  const bool parsed = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                      /*strict=*/true, /*ignore_comments=*/false);
  if (builder.duplicate()) return StrictJson::DuplicateName;
  if (builder.too_deep()) return StrictJson::TooDeep;
  if (!parsed) return StrictJson::NotJson;
  out = std::move(doc);
  return StrictJson::Ok;
}

StrictJson parse_json_object_strict(std::string_view text, nlohmann::json& out) {
  json doc;
  const StrictJson r = parse_json_strict(text, doc, 0);
  if (r != StrictJson::Ok) return r;
  if (!doc.is_object()) return StrictJson::NotJson;
  out = std::move(doc);
  return StrictJson::Ok;
}

}  // namespace mcpgate::jose
