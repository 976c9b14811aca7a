#!/usr/bin/env bash
# The README's first command: installs dependencies, builds mcpgate, and shows `mcpgate token verify` end to end
# (until the gateway lands): an RSA key from openssl, a token signed by PyJWT (an independent signer), the JWKS that
# publishes the key, then one valid token (exit 0) and one tampered token (exit 1), each judged as one JSON line.
#   examples/quickstart.sh                          # builds in build/
#   MCPGATE_BUILD_DIR=build-x examples/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MCPGATE_BUILD_DIR:-build}
.ci/install-deps
cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j"$(nproc)" --target mcpgate
mcpgate="$build/src/cli/mcpgate"
"$mcpgate" --version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null

# Debian's interpreter on purpose: python3-jwt and python3-cryptography are installed for /usr/bin/python3.
/usr/bin/python3 - "$work" <<'PY'
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization

work = sys.argv[1]
key = serialization.load_pem_private_key(open(f"{work}/key.pem", "rb").read(), password=None)
numbers = key.public_key().public_numbers()
b64u = lambda i: base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
jwks = {"keys": [{"kty": "RSA", "kid": "quickstart-1", "use": "sig", "alg": "RS256",
                  "n": b64u(numbers.n), "e": b64u(numbers.e)}]}
json.dump(jwks, open(f"{work}/jwks.json", "w"), indent=1)
now = int(time.time())
claims = {"iss": "https://login.example.com", "aud": ["project-quickstart"], "sub": "user-1",
          "client_id": "connected-app-1", "scope": "openid mcp:read", "iat": now, "exp": now + 3600}
token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "quickstart-1", "typ": "JWT"})
open(f"{work}/valid.jwt", "w").write(token + "\n")
header, payload, signature = token.split(".")
claims["scope"] = "openid mcp:read mcp:admin"  # grant ourselves a scope, keep the old signature
forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
open(f"{work}/tampered.jwt", "w").write(f"{header}.{forged}.{signature}\n")
PY

echo "== The issuer's key set (what https://<issuer>/.well-known/jwks.json would serve):"
cat "$work/jwks.json"; echo
verify=("$mcpgate" token verify --jwks "$work/jwks.json" --issuer https://login.example.com
        --audience project-quickstart)
echo "== A valid token (read from stdin):"
status=0
"${verify[@]}" - <"$work/valid.jwt" || status=$?
echo "exit $status"
[ "$status" -eq 0 ]
echo "== The same token with its scope claim edited:"
status=0
"${verify[@]}" "$(cat "$work/tampered.jwt")" || status=$?
echo "exit $status"
[ "$status" -eq 1 ]
