#!/usr/bin/python3
"""Independent signer for mcpgate's interop tests: PyJWT + cryptography, never mcpgate's own code.

    /usr/bin/python3 tests/integration/interop_signer.py OUTDIR

Writes OUTDIR/jwks.json (public keys) and OUTDIR/cases.jsonl, one case a line:
    {"name", "family", "token", "expect": "valid"|"invalid", "reasons": [...], "issuer", "audience",
     "now", "leeway", "principal": {...} (valid cases only)}
"reasons" lists the reason names mcpgate may answer with (one, except where two checks could both fire).
Fresh keys every run, so nothing here can be a hard-coded answer.
"""
import base64
import hashlib
import hmac
import json
import os
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives import hashes

ISSUER = "https://login.interop-test.customers.stytch.dev"
AUDIENCE = "project-test-interop-0001"
NOW = 1893456000  # 2030-01-01, judged with --now so the cases never age


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64u_json(obj) -> str:
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def public_jwk(key, kid, alg=None, use="sig"):
    """The public JWK, built by hand from the key numbers (RFC 7518 §6, RFC 8037 §2)."""
    pub = key.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        numbers = pub.public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        jwk = {"kty": "RSA", "n": b64u(n), "e": b64u(e)}
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        size = (pub.curve.key_size + 7) // 8
        numbers = pub.public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[pub.curve.name]
        jwk = {"kty": "EC", "crv": crv, "x": b64u(numbers.x.to_bytes(size, "big")),
               "y": b64u(numbers.y.to_bytes(size, "big"))}
    else:
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
    jwk["kid"] = kid
    jwk["use"] = use
    if alg:
        jwk["alg"] = alg
    return jwk


def claims(**overrides):
    body = {
        "iss": ISSUER,
        "aud": [AUDIENCE],
        "sub": "user-test-1234",
        "client_id": "connected-app-test-42",
        "scope": "openid email mcp:read",
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
        "jti": "jti-" + os.urandom(6).hex(),
    }
    for name, value in overrides.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def sign(key, alg, payload, kid, extra_headers=None):
    headers = {"typ": "JWT"}
    if kid is not None:
        headers["kid"] = kid
    headers.update(extra_headers or {})
    token = jwt.encode(payload, key, algorithm=alg, headers=headers)
    if kid is None:  # PyJWT adds no kid by itself; make sure the header has none
        assert "kid" not in jwt.get_unverified_header(token)
    return token


def swap_header(token, **changes):
    """Re-encodes the header with `changes` and keeps the original payload and signature."""
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(b64u_decode(header_b64))
    header.update(changes)
    return ".".join([b64u_json(header), payload_b64, sig_b64])


def swap_payload(token, **changes):
    header_b64, payload_b64, sig_b64 = token.split(".")
    payload = json.loads(b64u_decode(payload_b64))
    payload.update(changes)
    return ".".join([header_b64, b64u_json(payload), sig_b64])


def flip_signature_bit(token):
    header_b64, payload_b64, sig_b64 = token.split(".")
    sig = bytearray(b64u_decode(sig_b64))
    sig[len(sig) // 2] ^= 0x01
    return ".".join([header_b64, payload_b64, b64u(bytes(sig))])


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)

    rsa_rs256 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_p256 = ec.generate_private_key(ec.SECP256R1())
    ec_p384 = ec.generate_private_key(ec.SECP384R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    weak_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    enc_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    jwks = {"keys": [
        public_jwk(rsa_rs256, "rsa-rs256", alg="RS256"),
        public_jwk(rsa_any, "rsa-any"),  # no 'alg': every RS*/PS* algorithm fits an RSA key
        public_jwk(ec_p256, "ec-p256", alg="ES256"),
        public_jwk(ec_p384, "ec-p384"),
        public_jwk(ed, "ed-1", alg="EdDSA"),
        public_jwk(weak_rsa, "rsa-weak-1024"),  # must be skipped: RSA below 2048 bits (RFC 8725 §3.5)
        public_jwk(enc_rsa, "rsa-enc", use="enc"),  # must be skipped: not a signing key
    ]}

    cases = []

    def add(name, family, token, expect, reasons=None, now=NOW, leeway=0, principal=None):
        case = {"name": name, "family": family, "token": token, "expect": expect,
                "reasons": reasons or (["ok"] if expect == "valid" else []), "issuer": ISSUER,
                "audience": AUDIENCE, "now": now, "leeway": leeway}
        assert expect == "valid" or case["reasons"], name
        if principal is not None:
            case["principal"] = principal
        cases.append(case)

    def expected_principal(payload):
        return {"issuer": payload["iss"], "subject": payload["sub"], "client_id": payload["client_id"],
                "scopes": payload["scope"].split(), "expires_at": int(payload["exp"])}

    # --- every algorithm, signed by PyJWT, with a payload flip and a signature flip each ---
    signers = [
        ("rsa", "RS256", rsa_rs256, "rsa-rs256"),
        ("rsa", "RS384", rsa_any, "rsa-any"),
        ("rsa", "RS512", rsa_any, "rsa-any"),
        ("rsa", "PS256", rsa_any, "rsa-any"),
        ("rsa", "PS384", rsa_any, "rsa-any"),
        ("rsa", "PS512", rsa_any, "rsa-any"),
        ("ec", "ES256", ec_p256, "ec-p256"),
        ("ec", "ES384", ec_p384, "ec-p384"),
        ("eddsa", "EdDSA", ed, "ed-1"),
    ]
    valid_by_alg = {}
    for family, alg, key, kid in signers:
        payload = claims(sub="user-" + alg.lower())
        token = sign(key, alg, payload, kid)
        valid_by_alg[alg] = token
        low = alg.lower()
        add(f"{low}_valid", family, token, "valid", principal=expected_principal(payload))
        add(f"{low}_payload_flipped", family, swap_payload(token, sub="admin"), "invalid", ["signature_invalid"])
        add(f"{low}_signature_bit_flipped", family, flip_signature_bit(token), "invalid", ["signature_invalid"])
        add(f"{low}_wrong_kid", family, sign(key, alg, claims(), "no-such-kid"), "invalid", ["kid_unknown"])
        if family == "rsa":  # same kid, someone else's key: only the signature can tell
            add(f"{low}_signed_by_attacker_with_known_kid", family, sign(attacker, alg, claims(), kid), "invalid",
                ["signature_invalid"])
        else:  # no kid: tried against each key of the set that allows the alg
            add(f"{low}_without_kid_valid", family, sign(key, alg, payload, None), "valid",
                principal=expected_principal(payload))

    # A token without 'kid' is tried against each key that allows its alg (RS256 fits both RSA keys).
    payload = claims(sub="user-no-kid")
    add("rs256_without_kid_valid", "rsa", sign(rsa_rs256, "RS256", payload, None), "valid",
        principal=expected_principal(payload))

    # ECDSA must be raw r||s (RFC 7518 §3.4): the same signature DER-encoded is refused.
    header_b64, payload_b64, sig_b64 = valid_by_alg["ES256"].split(".")
    signing_input = f"{header_b64}.{payload_b64}".encode()
    der = ec_p256.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    assert r.to_bytes(32, "big") + s.to_bytes(32, "big")  # sanity: the raw form exists
    add("es256_der_signature", "ec", f"{header_b64}.{payload_b64}.{b64u(der)}", "invalid", ["signature_length"])
    truncated = b64u(b64u_decode(sig_b64)[:-3])  # 61 bytes, re-encoded so only the length is wrong
    add("es256_signature_truncated", "ec", f"{header_b64}.{payload_b64}.{truncated}", "invalid",
        ["signature_length"])

    # --- the verifier, not the token, picks the algorithm (RFC 8725 §2.1, §3.1) ---
    add("rs256_header_swapped_to_ps256_on_rs256_key", "alg_swap", swap_header(valid_by_alg["RS256"], alg="PS256"),
        "invalid", ["key_alg_mismatch"])
    add("rs384_header_swapped_to_rs512", "alg_swap", swap_header(valid_by_alg["RS384"], alg="RS512"), "invalid",
        ["signature_invalid"])
    add("ps256_header_swapped_to_rs256", "alg_swap", swap_header(valid_by_alg["PS256"], alg="RS256"), "invalid",
        ["signature_invalid"])
    add("es256_header_swapped_to_es384_on_p256_key", "alg_swap", swap_header(valid_by_alg["ES256"], alg="ES384"),
        "invalid", ["key_alg_mismatch", "signature_length"])
    add("es384_header_swapped_to_es256_on_p384_key", "alg_swap", swap_header(valid_by_alg["ES384"], alg="ES256"),
        "invalid", ["key_alg_mismatch", "signature_length"])
    add("eddsa_header_swapped_to_es256_on_ed25519_key", "alg_swap",
        swap_header(valid_by_alg["EdDSA"], alg="ES256"), "invalid", ["key_alg_mismatch"])
    add("rs256_header_swapped_to_es256_on_rsa_key", "alg_swap", swap_header(valid_by_alg["RS256"], alg="ES256"),
        "invalid", ["key_alg_mismatch", "signature_length"])

    # alg none: header.payload. with an empty signature (RFC 7519 §6.1), and with the original signature kept.
    none_header = b64u_json({"alg": "none", "typ": "JWT"})
    none_payload = b64u_json(claims())
    # An empty third segment may be refused as malformed before the header is read; either way it never verifies.
    add("alg_none_empty_signature", "attack", f"{none_header}.{none_payload}.", "invalid",
        ["alg_none", "malformed_token"])
    add("alg_none_signature_kept", "attack", swap_header(valid_by_alg["RS256"], alg="none"), "invalid", ["alg_none"])
    add("alg_none_uppercase", "attack", swap_header(valid_by_alg["RS256"], alg="NONE"), "invalid",
        ["alg_unknown", "alg_none"])

    # The classic confusion attack: HS256 keyed with the RSA public key's PEM (RFC 8725 §2.1). PyJWT 2.6 refuses
    # a PEM as an HMAC secret, so the token is built by hand with hmac + base64.
    pem = rsa_rs256.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    for alg, digest in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384), ("HS512", hashlib.sha512)):
        h = b64u_json({"alg": alg, "typ": "JWT", "kid": "rsa-rs256"})
        p = b64u_json(claims(sub="attacker"))
        mac = hmac.new(pem, f"{h}.{p}".encode(), digest).digest()
        add(f"{alg.lower()}_signed_with_rsa_public_pem", "attack", f"{h}.{p}.{b64u(mac)}", "invalid", ["alg_hmac"])
    try:  # if this PyJWT ever accepts the PEM, its token must be refused the same way
        jwt.encode(claims(), pem, algorithm="HS256", headers={"kid": "rsa-rs256"})
    except jwt.exceptions.InvalidKeyError:
        pass

    add("typ_dpop_jwt", "attack", sign(rsa_rs256, "RS256", claims(), "rsa-rs256", {"typ": "dpop+jwt"}), "invalid",
        ["typ_refused"])
    add("typ_at_jwt_valid", "claims", sign(rsa_rs256, "RS256", claims(), "rsa-rs256", {"typ": "at+jwt"}), "valid")
    add("crit_header", "attack", sign(rsa_rs256, "RS256", claims(), "rsa-rs256", {"crit": ["exp"], "exp": NOW}),
        "invalid", ["crit_unsupported"])
    add("jku_header_ignored_kid_unknown", "attack",
        sign(attacker, "RS256", claims(), "attacker-kid", {"jku": "https://attacker.example/jwks.json"}), "invalid",
        ["kid_unknown"])
    add("signed_by_weak_rsa_key_which_is_skipped", "attack", sign(weak_rsa, "RS256", claims(), "rsa-weak-1024"),
        "invalid", ["kid_unknown"])
    add("signed_by_enc_key_which_is_skipped", "attack", sign(enc_rsa, "RS256", claims(), "rsa-enc"), "invalid",
        ["kid_unknown"])
    rs = valid_by_alg["RS256"]
    add("five_segments_jwe", "attack", rs + ".AAAA.BBBB", "invalid", ["jwe_not_supported"])
    add("two_segments", "attack", rs.rsplit(".", 1)[0], "invalid", ["malformed_token"])
    assert len(rs.split(".")[2]) % 4 == 2  # a 256-byte signature: two '=' would pad it
    add("padded_signature", "attack", rs + "==", "invalid", ["invalid_base64url"])

    # --- claims (RFC 7519 §4.1, RFC 9068 §4), all correctly signed ---
    def rs256(name, expect, reasons=None, leeway=0, now=NOW, **overrides):
        payload = claims(**overrides)
        add(name, "claims", sign(rsa_rs256, "RS256", payload, "rsa-rs256"), expect, reasons, now=now, leeway=leeway,
            principal=expected_principal(payload) if expect == "valid" else None)

    rs256("expired", "invalid", ["expired"], exp=NOW - 100)
    rs256("exp_equals_now_is_expired", "invalid", ["expired"], exp=NOW)
    rs256("expired_within_leeway", "valid", leeway=30, exp=NOW - 10)
    rs256("expired_beyond_leeway", "invalid", ["expired"], leeway=30, exp=NOW - 31)
    rs256("exp_fractional_valid", "valid", exp=NOW + 0.5)
    rs256("exp_fractional_just_passed", "invalid", ["expired"], now=NOW + 0.75, exp=NOW + 0.5)
    rs256("exp_missing", "invalid", ["exp_missing"], exp=None)
    rs256("exp_string", "invalid", ["claim_type_invalid"], exp=str(NOW + 3600))
    rs256("nbf_in_future", "invalid", ["not_yet_valid"], nbf=NOW + 120)
    rs256("nbf_in_future_within_leeway", "valid", leeway=30, nbf=NOW + 20)
    rs256("wrong_audience", "invalid", ["aud_mismatch"], aud=["some-other-project"])
    rs256("audience_string_valid", "valid", aud=AUDIENCE)
    rs256("audience_second_in_array_valid", "valid", aud=["connected-app-test-42", AUDIENCE])
    rs256("audience_missing", "invalid", ["aud_missing"], aud=None)
    rs256("wrong_issuer", "invalid", ["iss_unknown"], iss="https://evil.example.com")
    rs256("issuer_with_trailing_slash", "invalid", ["iss_unknown"], iss=ISSUER + "/")
    rs256("issuer_missing", "invalid", ["iss_missing"], iss=None)
    org_payload = claims(**{"https://stytch.com/organization": {"organization_id": "organization-test-7",
                                                                "slug": "acme"}})
    org_principal = expected_principal(org_payload)
    org_principal["organization"] = {"organization_id": "organization-test-7", "slug": "acme"}
    add("stytch_b2b_organization_valid", "claims", sign(rsa_rs256, "RS256", org_payload, "rsa-rs256"), "valid",
        principal=org_principal)

    with open(os.path.join(out_dir, "jwks.json"), "w") as f:
        json.dump(jwks, f, indent=1)
    with open(os.path.join(out_dir, "cases.jsonl"), "w") as f:
        for case in cases:
            f.write(json.dumps(case) + "\n")
    print(f"wrote {len(cases)} cases and {len(jwks['keys'])} keys to {out_dir}")


if __name__ == "__main__":
    main()
