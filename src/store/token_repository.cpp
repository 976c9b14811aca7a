#include "store/token_repository.hpp"

namespace mcpgate::store {
namespace {

constexpr const char* kTokenColumns =
    "id, service, key_name, issuer, subject, key_id, aad_version, nonce, ciphertext, tag, created_at, "
    "updated_at";

TokenRow to_token(const SqlRow& r) {
  TokenRow t;
  t.id = r.at(0).as_int();
  t.service = r.at(1).as_text();
  t.key_name = r.at(2).as_text();
  t.issuer = r.at(3).as_text();
  t.subject = r.at(4).as_text();
  t.sealed.key_id = r.at(5).as_text();
  t.aad_version = static_cast<int>(r.at(6).as_int());
  t.sealed.nonce = r.at(7).as_text();
  t.sealed.ciphertext = r.at(8).as_text();
  t.sealed.tag = r.at(9).as_text();
  t.created_at = r.at(10).as_int();
  t.updated_at = r.at(11).as_int();
  return t;
}

std::string sv(std::string_view s) {
  return std::string(s);
}

}  // namespace

std::optional<TokenRow> TokenRepository::find_token(std::string_view service, std::string_view key_name,
                                                    std::string_view issuer, std::string_view subject) {
  auto rows = conn_.query(std::string("SELECT ") + kTokenColumns +
                              " FROM service_tokens WHERE service = ? AND key_name = ? AND issuer = ?"
                              " AND subject = ?",
                          {sv(service), sv(key_name), sv(issuer), sv(subject)});
  if (rows.empty()) return std::nullopt;
  return to_token(rows.front());
}

std::vector<TokenRow> TokenRepository::list_tokens(std::string_view service) {
  std::string sql = std::string("SELECT ") + kTokenColumns + " FROM service_tokens";
  SqlParams params;
  if (!service.empty()) {
    sql += " WHERE service = ?";
    params.emplace_back(sv(service));
  }
  sql += " ORDER BY service, key_name, issuer, subject";
  std::vector<TokenRow> out;
  for (const auto& r : conn_.query(sql, params)) out.push_back(to_token(r));
  return out;
}

void TokenRepository::upsert_token(const TokenRow& row, std::int64_t now) {
  conn_.exec(
      "INSERT INTO service_tokens (service, key_name, issuer, subject, key_id, aad_version, nonce, "
      "ciphertext,"
      " tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      " ON CONFLICT (service, key_name, issuer, subject) DO UPDATE SET key_id = excluded.key_id,"
      " aad_version = excluded.aad_version, nonce = excluded.nonce, ciphertext = excluded.ciphertext,"
      " tag = excluded.tag, updated_at = excluded.updated_at",
      {row.service, row.key_name, row.issuer, row.subject, row.sealed.key_id, SqlValue(row.aad_version),
       SqlValue::blob(row.sealed.nonce), SqlValue::blob(row.sealed.ciphertext),
       SqlValue::blob(row.sealed.tag), SqlValue(now), SqlValue(now)});
}

bool TokenRepository::delete_token(std::string_view service, std::string_view key_name,
                                   std::string_view issuer, std::string_view subject) {
  conn_.exec("DELETE FROM service_tokens WHERE service = ? AND key_name = ? AND issuer = ? AND subject = ?",
             {sv(service), sv(key_name), sv(issuer), sv(subject)});
  return conn_.changes() > 0;
}

std::vector<TokenRow> TokenRepository::tokens_not_under(std::string_view key_id, int limit) {
  std::vector<TokenRow> out;
  for (const auto& r : conn_.query(std::string("SELECT ") + kTokenColumns +
                                       " FROM service_tokens WHERE key_id <> ? ORDER BY id LIMIT ?",
                                   {sv(key_id), SqlValue(limit)}))
    out.push_back(to_token(r));
  return out;
}

bool TokenRepository::reseal_token(std::int64_t id, std::string_view expected_key_id, const Sealed& sealed,
                                   int aad_version, std::int64_t now) {
  conn_.exec(
      "UPDATE service_tokens SET key_id = ?, aad_version = ?, nonce = ?, ciphertext = ?, tag = ?,"
      " updated_at = ? WHERE id = ? AND key_id = ?",
      {sealed.key_id, SqlValue(aad_version), SqlValue::blob(sealed.nonce), SqlValue::blob(sealed.ciphertext),
       SqlValue::blob(sealed.tag), SqlValue(now), SqlValue(id), sv(expected_key_id)});
  return conn_.changes() > 0;
}

std::vector<TokenRow> TokenRepository::unbound_tokens(std::string_view service, std::string_view subject) {
  std::string sql =
      std::string("SELECT ") + kTokenColumns + " FROM service_tokens WHERE issuer = '' AND subject <> ''";
  SqlParams params;
  if (!service.empty()) {
    sql += " AND service = ?";
    params.emplace_back(sv(service));
  }
  if (!subject.empty()) {
    sql += " AND subject = ?";
    params.emplace_back(sv(subject));
  }
  sql += " ORDER BY id";
  std::vector<TokenRow> out;
  for (const auto& r : conn_.query(sql, params)) out.push_back(to_token(r));
  return out;
}

bool TokenRepository::bind_token(std::int64_t id, std::string_view issuer, const Sealed& sealed,
                                 int aad_version, std::int64_t now) {
  conn_.exec(
      "UPDATE service_tokens SET issuer = ?, key_id = ?, aad_version = ?, nonce = ?, ciphertext = ?, tag = ?,"
      " updated_at = ? WHERE id = ? AND issuer = ''",
      {sv(issuer), sealed.key_id, SqlValue(aad_version), SqlValue::blob(sealed.nonce),
       SqlValue::blob(sealed.ciphertext), SqlValue::blob(sealed.tag), SqlValue(now), SqlValue(id)});
  return conn_.changes() > 0;
}

std::vector<std::string> TokenRepository::key_ids_in_use() {
  std::vector<std::string> out;
  for (const auto& r : conn_.query("SELECT DISTINCT key_id FROM service_tokens ORDER BY key_id"))
    out.push_back(r.at(0).as_text());
  return out;
}

std::int64_t TokenRepository::count_encryptions(std::string_view key_id, std::int64_t n) {
  auto rows = conn_.query(
      "INSERT INTO key_usage (key_id, encryptions) VALUES (?, ?) ON CONFLICT (key_id) DO UPDATE SET"
      " encryptions = key_usage.encryptions + excluded.encryptions RETURNING encryptions",
      {sv(key_id), SqlValue(n)});
  return rows.at(0).at(0).as_int();
}

void TokenRepository::append_audit(const AuditEntry& e) {
  conn_.exec(
      "INSERT INTO audit_log (at, actor, action, service, key_name, issuer, subject, result, request_id)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {SqlValue(e.at), e.actor, e.action, e.service, e.key_name, e.issuer, e.subject, e.result,
       e.request_id});
}

std::vector<AuditEntry> TokenRepository::audit_since(std::int64_t since, int limit) {
  std::vector<AuditEntry> out;
  for (const auto& r :
       conn_.query("SELECT id, at, actor, action, service, key_name, subject, result, request_id, issuer"
                   " FROM audit_log WHERE at >= ? ORDER BY id LIMIT ?",
                   {SqlValue(since), SqlValue(limit)})) {
    AuditEntry e;
    e.id = r.at(0).as_int();
    e.at = r.at(1).as_int();
    e.actor = r.at(2).as_text();
    e.action = r.at(3).as_text();
    e.service = r.at(4).as_text();
    e.key_name = r.at(5).as_text();
    e.subject = r.at(6).as_text();
    e.result = r.at(7).as_text();
    e.request_id = r.at(8).as_text();
    e.issuer = r.at(9).as_text();
    out.push_back(std::move(e));
  }
  return out;
}

void TokenRepository::upsert_principal(const PrincipalSighting& s, std::int64_t now,
                                       std::int64_t min_interval) {
  // The WHERE on the conflict branch keeps hot principals from rewriting their row on every request.
  conn_.exec(
      "INSERT INTO principals (issuer, subject, email, organization, first_seen, last_seen) VALUES (?, ?, ?, "
      "?, ?, ?)"
      " ON CONFLICT (issuer, subject) DO UPDATE SET email = excluded.email, organization = "
      "excluded.organization,"
      " last_seen = excluded.last_seen"
      " WHERE principals.last_seen + ? <= excluded.last_seen OR principals.email <> excluded.email"
      " OR principals.organization <> excluded.organization",
      {s.issuer, s.subject, s.email, s.organization, SqlValue(now), SqlValue(now), SqlValue(min_interval)});
}

std::optional<PrincipalRecord> TokenRepository::find_principal(std::string_view issuer,
                                                               std::string_view subject) {
  auto rows = conn_.query(
      "SELECT issuer, subject, email, organization, first_seen, last_seen FROM principals"
      " WHERE issuer = ? AND subject = ?",
      {sv(issuer), sv(subject)});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows.front();
  return PrincipalRecord{r.at(0).as_text(), r.at(1).as_text(), r.at(2).as_text(),
                         r.at(3).as_text(), r.at(4).as_int(),  r.at(5).as_int()};
}

}  // namespace mcpgate::store
