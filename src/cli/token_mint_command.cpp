#include "cli/token_mint_command.hpp"

#include <openssl/rand.h>

#include <iostream>
#include <memory>
#include <string>

#include "auth/token_digest.hpp"
#include "jose/base64url.hpp"

namespace mcpgate::cli {
namespace {

// A recognisable prefix lets secret scanners (and people) spot a leaked mcpgate token.
constexpr const char* kTokenPrefix = "mcpg_";

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

void register_token_mint(CLI::App& token, CommandResult& result) {
  struct Args {
    std::string name;
    std::string scopes;
  };
  auto args = std::make_shared<Args>();
  CLI::App* mint =
      token.add_subcommand("new", "Generate a static bearer token (printed once) and its config snippet");
  mint->add_option("--name", args->name, "Name of the token (logs, Principal)")->required();
  mint->add_option("--scopes", args->scopes, "Comma-separated scopes, e.g. mcp:read,mcp:write");
  mint->callback([args, &result] {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      std::cerr << "mcpgate: the system random generator failed\n";
      result.exit_code = kExitUsage;
      return;
    }
    std::string token =
        kTokenPrefix + jose::base64url_encode(std::string(reinterpret_cast<char*>(bytes), 32));
    std::string scopes;
    std::size_t start = 0;
    while (start <= args->scopes.size() && !args->scopes.empty()) {
      std::size_t end = args->scopes.find(',', start);
      if (end == std::string::npos) end = args->scopes.size();
      std::string scope = args->scopes.substr(start, end - start);
      if (!scope.empty()) scopes += (scopes.empty() ? "" : ", ") + toml_string(scope);
      start = end + 1;
    }
    std::cout << "Token (shown once; store it now):\n  " << token << "\n\nAdd to mcpgate.toml:\n"
              << "[[static_tokens]]\nname = " << toml_string(args->name) << "\nsha256 = \""
              << auth::digest_hex(auth::digest_token(token)) << "\"\nscopes = [" << scopes << "]\n";
    result.exit_code = kExitOk;
  });

  CLI::App* hash =
      token.add_subcommand("hash", "Print the SHA-256 digest of a token read from stdin (one line)");
  hash->callback([&result] {
    std::string line;
    if (!std::getline(std::cin, line) && line.empty()) {
      std::cerr << "mcpgate: no token on stdin\n";
      result.exit_code = kExitUsage;
      return;
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    std::cout << auth::digest_hex(auth::digest_token(line)) << "\n";
    result.exit_code = kExitOk;
  });
}

}  // namespace mcpgate::cli
