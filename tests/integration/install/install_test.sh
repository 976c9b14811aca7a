#!/usr/bin/env bash
# An embedder's view: install this build into a fresh prefix, then build examples/embedded out of tree against
# it — once with find_package(mcpgate CONFIG) (the mcpgate::guard target), once with pkg-config — and check
# that the result protects a route: 401 without the token, the principal with it.
#   install_test.sh BUILD_DIR SOURCE_DIR [sanitize]
set -euo pipefail
build=$1 src=$2 sanitize=${3:-}
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# DESTDIR keeps the absolute destinations (/etc/mcpgate, the systemd unit) inside the work directory too; the
# prefix is one the build was not configured for, so the CMake package and the .pc file must be relocatable.
DESTDIR="$work/root" cmake --install "$build" --prefix /opt/mcpgate >/dev/null
prefix="$work/root/opt/mcpgate"
for f in bin/mcpgate include/mcpgate/guard.hpp lib/cmake/mcpgate/mcpgateConfig.cmake lib/pkgconfig/mcpgate.pc \
         lib/libmcpgate_http.a; do
  [ -e "$prefix/$f" ] || fail "the install lacks $f"
done

flags=()
cxxflags=""
if [ "$sanitize" = sanitize ]; then  # the installed libraries were built with the sanitizers: so is the example
  cxxflags="-fsanitize=address,undefined"
  flags=(-DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$cxxflags")
fi
cmake -S "$src/examples/embedded" -B "$work/cmake-example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  "${flags[@]}" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "find_package(mcpgate) failed"; }
cmake --build "$work/cmake-example" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "the example did not build"; }
grep -q "mcpgate::guard" "$prefix/lib/cmake/mcpgate/mcpgateTargets.cmake" || fail "no mcpgate::guard target"

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
g++ -std=c++20 $cxxflags -o "$work/pkgconfig-example" "$src/examples/embedded/embedded_server.cpp" \
  $(pkg-config --cflags --libs mcpgate) || fail "the example did not build with pkg-config"

token=install-test-token-0123456789
digest=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
python3 - "$work/jwks.json" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric import rsa
n = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
b = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
json.dump({"keys": [{"kty": "RSA", "kid": "k", "use": "sig", "alg": "RS256", "n": b(n.n), "e": b(n.e)}]},
          open(sys.argv[1], "w"))
PY
cat >"$work/mcpgate.toml" <<TOML
[server]
public_url = "https://mcp.example.com/mcp"
listen_address = "127.0.0.1"
port = 0
[[issuers]]
issuer = "https://as.example.org"
jwks_file = "$work/jwks.json"
audiences = ["https://mcp.example.com/mcp"]
[[static_tokens]]
name = "ci"
sha256 = "$digest"
scopes = ["mcp:read"]
[[routes]]
prefix = "/mcp"
scopes = ["mcp:read"]
TOML

for example in "$work/cmake-example/mcpgate_embedded_example" "$work/pkgconfig-example"; do
  "$example" "$work/mcpgate.toml" 2>"$work/example.log" &
  pid=$!
  port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/example.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/example.log"; fail "$example did not listen"; }
  body='{"jsonrpc":"2.0","id":1,"method":"whoami"}'
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d "$body" "http://127.0.0.1:$port/mcp")
  [ "$status" = 401 ] || fail "$example: without a token: $status, expected 401"
  answer=$(curl -s -X POST -H "Authorization: Bearer $token" -H "Content-Type: application/json" -d "$body" "http://127.0.0.1:$port/mcp")
  grep -q '"subject":"ci"' <<<"$answer" || fail "$example: with the token: $answer"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
done
echo "ok: find_package(mcpgate CONFIG) and pkg-config builds of examples/embedded protect /mcp"
