#include "cli/secrets_command.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "store/keyring.hpp"

namespace mcpgate::cli {
namespace {

struct StoreArgs {
  std::string store_spec;
  std::string key_file;
};

struct TokenArgs {
  std::string service, key_name, issuer, subject;
  std::string from_file;
  bool reveal = false;
  std::string list_service;
  int batch_size = 100;
  std::int64_t since = 0;
  int limit = 1000;
  std::string key_id;
};

int exit_for(const Status& s) {
  switch (s.reason) {
    case Reason::StoreOptionsInvalid:
    case Reason::StoreKeyInvalid:
    case Reason::SecretReferenceInvalid:
      return kExitUsage;
    default:
      return kExitNegative;
  }
}

int fail(const Status& s) {
  std::cerr << "error: " << s.message() << "\n";
  return exit_for(s);
}

Actor cli_actor() {
  const char* user = std::getenv("USER");
  return {std::string("cli:") + (user && *user ? user : "unknown"), ""};
}

// A per-user token belongs to (issuer, subject), as the principals table records it; one without the other
// names nobody.
Result<SecretRef> ref_of(const TokenArgs& a) {
  if (!a.subject.empty() && a.issuer.empty())
    return {std::nullopt,
            {Reason::StoreOptionsInvalid,
             "--subject needs --issuer: a per-user token belongs to (issuer, subject); the issuer of "
             "static-token principals is 'static'"}};
  if (a.subject.empty() && !a.issuer.empty())
    return {std::nullopt, {Reason::StoreOptionsInvalid, "--issuer needs --subject"}};
  SecretRef ref{a.service, a.key_name, std::nullopt};
  if (!a.subject.empty()) ref.owner = SecretOwner{a.issuer, a.subject};
  return {std::move(ref), {}};
}

std::string describe(const TokenArgs& a) {
  std::string out = a.service + "/" + a.key_name;
  if (!a.subject.empty()) out += " for issuer '" + a.issuer + "' subject '" + a.subject + "'";
  return out;
}

Result<std::shared_ptr<TokenStore>> open_from(const StoreArgs& args) {
  auto options = StoreOptions::from_environment();
  if (!options.ok()) return {std::nullopt, options.status()};
  if (!args.store_spec.empty())
    if (auto s = options.value->apply_store_spec(args.store_spec); !s.ok()) return {std::nullopt, s};
  if (!args.key_file.empty()) options.value->key_file = args.key_file;
  return TokenStore::open(*options.value);
}

nlohmann::json to_json(const TokenMetadata& m) {
  nlohmann::json out = {{"service", m.ref.service},
                        {"key", m.ref.key_name},
                        {"issuer", m.ref.owner ? m.ref.owner->issuer : ""},
                        {"subject", m.ref.owner ? m.ref.owner->subject : ""},
                        {"key_id", m.key_id},
                        {"created_at", m.created_at},
                        {"updated_at", m.updated_at}};
  if (m.unbound) out["unbound"] = true;  // served to no one until `mcpgate secrets bind-issuer`
  return out;
}

Result<std::string> read_value(const TokenArgs& a) {
  std::string value;
  if (!a.from_file.empty()) {
    std::ifstream in(a.from_file, std::ios::binary);
    if (!in)
      return {std::nullopt, {Reason::StoreOptionsInvalid, "cannot read --from-file '" + a.from_file + "'"}};
    value.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  // `echo "$TOKEN" | ...` and editors add one line ending; tokens never end in one.
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty())
    return {std::nullopt,
            {Reason::StoreOptionsInvalid, "the value is empty (give it on stdin or --from-file)"}};
  return {std::move(value), {}};
}

// Runs `body` against the opened store; store failures become the exit code.
template <class Body>
int with_store(const StoreArgs& args, Body body) {
  auto opened = open_from(args);
  if (!opened.ok()) return fail(opened.status());
  return body(**opened.value);
}

void add_store_options(CLI::App& cmd, StoreArgs& args) {
  cmd.add_option("--store", args.store_spec,
                 "env | sqlite:PATH | postgres:CONNINFO (default: MCPGATE_STORE_BACKEND/_PATH/_URL)");
  cmd.add_option("--key-file", args.key_file,
                 "File of master keys 'id:base64', first = active (or MCPGATE_STORE_KEYS)");
}

void add_ref(CLI::App& cmd, TokenArgs& a) {
  cmd.add_option("service", a.service, "Upstream service name")->required();
  cmd.add_option("key", a.key_name, "Key name within the service")->required();
  cmd.add_option("--issuer", a.issuer,
                 "The principal's issuer, for a per-user token ('static' for static-token principals)");
  cmd.add_option("--subject", a.subject,
                 "The principal's subject, for a per-user token; needs --issuer (default: shared)");
}

// Runs `body` with the reference the arguments name; a bad combination is a usage error before any store.
template <class Body>
int with_ref(const TokenArgs& a, Body body) {
  auto ref = ref_of(a);
  if (!ref.ok()) return fail(ref.status());
  return body(*ref.value);
}

// What every `secrets` subcommand shares. Only one of them runs: CLI11 fills its arguments, then its
// callback (which keeps them alive) sets the exit code.
struct SecretsCli {
  CLI::App& secrets;
  CommandResult& result;
  std::shared_ptr<StoreArgs> store_args = std::make_shared<StoreArgs>();
  std::shared_ptr<TokenArgs> a = std::make_shared<TokenArgs>();
};

void add_put(const SecretsCli& cli) {
  auto* put = cli.secrets.add_subcommand("put", "Store a token; the value is read from stdin or --from-file");
  add_ref(*put, *cli.a);
  put->add_option("--from-file", cli.a->from_file, "Read the value from this file instead of stdin");
  add_store_options(*put, *cli.store_args);
  put->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_ref(*a, [&](const SecretRef& ref) {
      auto value = read_value(*a);
      if (!value.ok()) return fail(value.status());
      return with_store(*store_args, [&](TokenStore& store) {
        auto s = store.put(ref, *value.value, cli_actor());
        OPENSSL_cleanse(value.value->data(), value.value->size());
        if (!s.ok()) return fail(s);
        std::cout << "stored " << describe(*a) << "\n";
        return kExitOk;
      });
    });
  });
}

// `get --reveal`: the decrypted value, audited as 'reveal' whatever the outcome.
int reveal(TokenStore& store, const SecretRef& ref) {
  auto value = store.read(ref);
  store.record_audit(cli_actor(), "reveal", ref, value.ok() ? "ok" : reason_name(value.reason));
  if (!value.ok()) return fail(value.status());
  std::cout << *value.value << "\n";
  return kExitOk;
}

// `get`: the metadata only.
int show_metadata(TokenStore& store, const SecretRef& ref) {
  auto meta = store.describe(ref);
  store.record_audit(cli_actor(), "get", ref, meta.ok() ? "ok" : reason_name(meta.reason));
  if (!meta.ok()) return fail(meta.status());
  std::cout << to_json(*meta.value).dump(2) << "\n";
  return kExitOk;
}

void add_get(const SecretsCli& cli) {
  auto* get = cli.secrets.add_subcommand("get", "Show a token's metadata (the value only with --reveal)");
  add_ref(*get, *cli.a);
  get->add_flag("--reveal", cli.a->reveal, "Print the decrypted value (audited as 'reveal')");
  add_store_options(*get, *cli.store_args);
  get->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_ref(*a, [&](const SecretRef& ref) {
      return with_store(*store_args, [&](TokenStore& store) {
        return a->reveal ? reveal(store, ref) : show_metadata(store, ref);
      });
    });
  });
}

void add_list(const SecretsCli& cli) {
  auto* list = cli.secrets.add_subcommand("list", "List stored tokens (metadata only)");
  list->add_option("--service", cli.a->list_service, "Only this service");
  add_store_options(*list, *cli.store_args);
  list->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_store(*store_args, [&](TokenStore& store) {
      auto rows = store.list(a->list_service);
      store.record_audit(cli_actor(), "list", {a->list_service, "", std::nullopt},
                         rows.ok() ? "ok" : reason_name(rows.reason));
      if (!rows.ok()) return fail(rows.status());
      auto out = nlohmann::json::array();
      for (const auto& m : *rows.value) out.push_back(to_json(m));
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    });
  });
}

void add_delete(const SecretsCli& cli) {
  auto* del = cli.secrets.add_subcommand("delete", "Delete a stored token");
  add_ref(*del, *cli.a);
  add_store_options(*del, *cli.store_args);
  del->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_ref(*a, [&](const SecretRef& ref) {
      return with_store(*store_args, [&](TokenStore& store) {
        auto s = store.remove(ref, cli_actor());
        if (!s.ok()) return fail(s);
        std::cout << "deleted " << describe(*a) << "\n";
        return kExitOk;
      });
    });
  });
}

void add_bind_issuer(const SecretsCli& cli) {
  auto* bind = cli.secrets.add_subcommand(
      "bind-issuer",
      "Give per-user tokens stored before issuers were recorded (listed as unbound) an issuer");
  bind->add_option("issuer", cli.a->issuer,
                   "The issuer their subjects belong to ('static' for static tokens)")
      ->required();
  bind->add_option("--service", cli.a->list_service, "Only this service's tokens");
  bind->add_option("--subject", cli.a->subject, "Only this subject's tokens");
  add_store_options(*bind, *cli.store_args);
  bind->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_store(*store_args, [&](TokenStore& store) {
      auto report = store.bind_issuer(a->issuer, cli_actor(), a->list_service, a->subject);
      if (!report.ok()) return fail(report.status());
      std::cout << "bound " << report.value->bound << " per-user tokens to issuer '" << a->issuer << "'";
      if (report.value->conflicts > 0)
        std::cout
            << "; " << report.value->conflicts
            << " left unbound: that issuer's principal has its own token there (delete it to bind the older)";
      std::cout << "\n";
      return kExitOk;
    });
  });
}

void add_rotate(const SecretsCli& cli) {
  auto* rotate =
      cli.secrets.add_subcommand("rotate", "Re-encrypt every token under the active (first) master key");
  rotate->add_option("--batch-size", cli.a->batch_size, "Rows per transaction")->check(CLI::Range(1, 100000));
  add_store_options(*rotate, *cli.store_args);
  rotate->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_store(*store_args, [&](TokenStore& store) {
      auto report = store.rotate(cli_actor(), a->batch_size);
      if (!report.ok()) return fail(report.status());
      std::cout << "re-encrypted " << report.value->rows_reencrypted << " tokens under key '"
                << report.value->active_key_id << "' in " << report.value->batches << " batches\n";
      return kExitOk;
    });
  });
}

// "k" and the UTC date and time: ids that sort in the order the keys were made.
std::string default_key_id() {
  char buf[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(buf, sizeof buf, "k%Y%m%d%H%M%S", &utc);
  return buf;
}

void add_keygen(const SecretsCli& cli) {
  auto* keygen = cli.secrets.add_subcommand("keygen", "Print a new master key 'id:base64' (32 random bytes)");
  keygen->add_option("--id", cli.a->key_id, "Key id (default: k<UTC date and time>)");
  keygen->callback([&result = cli.result, a = cli.a] {
    auto line = store::Keyring::generate(a->key_id.empty() ? default_key_id() : a->key_id);
    if (auto check = store::Keyring::parse(line); !check.ok()) {
      result.exit_code = fail(check.status());
      return;
    }
    std::cout << line << "\n";
    result.exit_code = kExitOk;
  });
}

nlohmann::json to_json(const AuditEntry& e) {
  return {{"id", e.id},           {"at", e.at},
          {"actor", e.actor},     {"action", e.action},
          {"service", e.service}, {"key", e.key_name},
          {"issuer", e.issuer},   {"subject", e.subject},
          {"result", e.result},   {"request_id", e.request_id}};
}

void add_audit(const SecretsCli& cli) {
  auto* audit = cli.secrets.add_subcommand("audit", "Print the audit log");
  audit->add_option("--since", cli.a->since,
                    "Unix seconds; negative = that many seconds ago (default: everything)");
  audit->add_option("--limit", cli.a->limit, "At most this many rows")->check(CLI::Range(1, 1000000));
  add_store_options(*audit, *cli.store_args);
  audit->callback([&result = cli.result, store_args = cli.store_args, a = cli.a] {
    result.exit_code = with_store(*store_args, [&](TokenStore& store) {
      const std::int64_t since =
          a->since < 0 ? static_cast<std::int64_t>(std::time(nullptr)) + a->since : a->since;
      auto rows = store.audit_since(since, a->limit);
      if (!rows.ok()) return fail(rows.status());
      store.record_audit(cli_actor(), "audit", {}, "ok");
      for (const auto& e : *rows.value) std::cout << to_json(e).dump() << "\n";
      return kExitOk;
    });
  });
}

}  // namespace

void register_secrets_commands(CLI::App& app, CommandResult& result) {
  auto* secrets = app.add_subcommand("secrets", "Manage encrypted upstream service tokens");
  secrets->require_subcommand(1);
  const SecretsCli cli{*secrets, result};
  add_put(cli);
  add_get(cli);
  add_list(cli);
  add_delete(cli);
  add_bind_issuer(cli);
  add_rotate(cli);
  add_keygen(cli);
  add_audit(cli);
}

void register_migrate_command(CLI::App& app, CommandResult& result) {
  auto store_args = std::make_shared<StoreArgs>();
  auto* migrate = app.add_subcommand("migrate", "Apply the token store's schema migrations");
  add_store_options(*migrate, *store_args);
  migrate->callback([&result, store_args] {
    result.exit_code = with_store(*store_args, [&](TokenStore& store) {
      auto version = store.migrate();
      store.record_audit(cli_actor(), "migrate", {}, version.ok() ? "ok" : reason_name(version.reason));
      if (!version.ok()) return fail(version.status());
      std::cout << "schema version " << *version.value << " (" << store.backend_name() << ")\n";
      return kExitOk;
    });
  });
}

}  // namespace mcpgate::cli
