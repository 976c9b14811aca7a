// A throw-away RS256 issuer for the mcpgate-jwt peer: writes the public key set to JWKS_FILE and prints one
// access token (iss, aud, sub, scope, iat, exp = now + 1 day, typ at+jwt) signed with the private key, which is
// never written anywhere.
//   node mint_jwt.js JWKS_FILE ISSUER AUDIENCE SCOPE
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const [jwksFile, iss, aud, scope] = process.argv.slice(2);

const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const kid = 'bench-' + crypto.randomBytes(4).toString('hex');
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const input = b64({ alg: 'RS256', typ: 'at+jwt', kid }) + '.' +
  b64({ iss, aud, sub: 'bench-user', client_id: 'bench-client', scope, iat: now, exp: now + 86400 });
const sig = crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url');
console.log(`${input}.${sig}`);
