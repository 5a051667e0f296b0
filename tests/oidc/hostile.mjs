// hostile.mjs — a deliberately misbehaving minimal OpenID Provider for RP "hostile" tests.
// Only node:http + jose.
//
// USAGE (harness):
//   node hostile.mjs CONFIG.json
//   CONFIG.json: { "port": 0, "client_id": "rp", "client_secret": "s3cret",
//                  "redirect_uri": "http://127.0.0.1:8080/callback" }
//   - Binds 127.0.0.1; issuer = http://127.0.0.1:<port>; prints exactly one stdout line
//     `LISTENING <port>` when ready; logs go to stderr; exits on SIGTERM/SIGINT.
//
// ENDPOINTS
//   GET  /.well-known/openid-configuration
//   GET  /jwks        the real public key (RS256, kid "hostile-key-1")
//   GET  /authorize   client_id + redirect_uri must match CONFIG exactly (else 400, no redirect);
//                     response_type=code and code_challenge (+ code_challenge_method=S256) are
//                     required (else 302 to redirect_uri?error=invalid_request&state=..).
//                     Remembers nonce/state/code_challenge under a fresh random code and
//                     immediately 302s to redirect_uri?code=..&state=.. (no login page).
//   POST /token       form: grant_type=authorization_code, code, redirect_uri, code_verifier;
//                     client auth HTTP Basic (wrong/missing -> 401 invalid_client).
//                     Unknown or already-used code -> 400 invalid_grant (codes are single use);
//                     redirect_uri mismatch -> 400 invalid_grant; PKCE S256 mismatch -> 400
//                     invalid_grant. Otherwise 200 {access_token, token_type:"Bearer",
//                     expires_in:300, id_token}, the id_token built per the CURRENT FLAW.
//   GET  /userinfo    Bearer access_token -> the claims (sub, email, email_verified + overrides)
//   POST /flaw        JSON {"flaw": NAME, "claims": {...}} — sets the flaw (and claim overrides)
//                     for all following token responses (until changed). Answers 200 with the
//                     new state; unknown NAME -> 400. GET /flaw shows the current state.
//                     "claims" are merged over the defaults {sub:"hostile-1",
//                     email:"victim@example.com", email_verified:true} and are applied LAST, so
//                     they may override any claim (iss/aud/nonce/...); a null value removes the
//                     claim. Each POST replaces the previous claims (omit -> defaults only).
//   FLAWS
//     none       correct token: iss, aud=client_id, exp=now+5min, iat=now, nonce=remembered,
//                sub, email, email_verified; RS256 with the /jwks key, kid set
//     other-key  same claims, RS256 with another RSA key NOT in /jwks, same kid
//     alg-none   unsecured JWT: header {"alg":"none"}, empty signature ("<h>.<p>.")
//     audience   aud = "someone-else"
//     expired    exp = now-10min, iat = now-20min
//     issuer     iss = "http://evil.example"
//     nonce      nonce = a different random value

import { createServer } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

if (process.argv.length < 3) {
  console.error('usage: node hostile.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const log = (...a) => console.error('[hostile]', ...a);

const KID = 'hostile-key-1';
const good = await generateKeyPair('RS256', { extractable: true });
const other = await generateKeyPair('RS256'); // never published
const publicJwk = { ...(await exportJWK(good.publicKey)), kid: KID, alg: 'RS256', use: 'sig' };

const FLAWS = new Set(['none', 'other-key', 'alg-none', 'audience', 'expired', 'issuer', 'nonce']);
const DEFAULT_CLAIMS = { sub: 'hostile-1', email: 'victim@example.com', email_verified: true };
let state = { flaw: 'none', claims: {} };

const codes = new Map(); // code -> { nonce, state, codeChallenge, redirectUri }
const usedCodes = new Set();
const accessTokens = new Map(); // access_token -> userinfo claims

const rnd = (n = 32) => randomBytes(n).toString('base64url');
const b64uJson = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const safeEq = (a, b) => {
  const x = Buffer.from(String(a)); const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
};

function send(res, status, body, headers = {}) {
  const isJson = typeof body !== 'string';
  res.writeHead(status, {
    'content-type': isJson ? 'application/json' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(isJson ? JSON.stringify(body) : body);
}
const oauthError = (res, status, error, error_description, headers) => send(res, status, { error, error_description }, headers);

async function readBody(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// RFC 6749 2.3.1: id and secret are form-urlencoded before Base64.
function basicAuth(req) {
  const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization || '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

async function buildIdToken(issuer, entry) {
  const now = Math.floor(Date.now() / 1000);
  let payload = {
    iss: issuer,
    aud: config.client_id,
    exp: now + 300,
    iat: now,
    nonce: entry.nonce,
    ...DEFAULT_CLAIMS,
  };
  switch (state.flaw) {
    case 'audience': payload.aud = 'someone-else'; break;
    case 'expired': payload.exp = now - 600; payload.iat = now - 1200; break;
    case 'issuer': payload.iss = 'http://evil.example'; break;
    case 'nonce': payload.nonce = rnd(16); break;
    default: break;
  }
  payload = { ...payload, ...state.claims };
  for (const [k, v] of Object.entries(payload)) if (v === null || v === undefined) delete payload[k];

  if (state.flaw === 'alg-none') {
    return { idToken: `${b64uJson({ alg: 'none' })}.${b64uJson(payload)}.`, payload };
  }
  const key = state.flaw === 'other-key' ? other.privateKey : good.privateKey;
  const idToken = await new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(key);
  return { idToken, payload };
}

async function handle(req, res, issuer) {
  const url = new URL(req.url, issuer);
  const { pathname } = url;

  if (req.method === 'GET' && pathname === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      userinfo_endpoint: `${issuer}/userinfo`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      scopes_supported: ['openid', 'email', 'profile'],
      grant_types_supported: ['authorization_code'],
    });
  }

  if (req.method === 'GET' && pathname === '/jwks') {
    return send(res, 200, { keys: [publicJwk] });
  }

  if (req.method === 'GET' && pathname === '/authorize') {
    const p = url.searchParams;
    if (p.get('client_id') !== config.client_id) return send(res, 400, 'unknown client_id');
    const redirectUri = p.get('redirect_uri');
    if (redirectUri !== config.redirect_uri) return send(res, 400, 'redirect_uri mismatch');
    const back = new URL(redirectUri);
    const st = p.get('state');
    const fail = (desc) => {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', desc);
      if (st !== null) back.searchParams.set('state', st);
      res.writeHead(302, { location: back.href, 'cache-control': 'no-store' });
      res.end();
    };
    if (p.get('response_type') !== 'code') return fail('response_type must be code');
    if (!p.get('code_challenge')) return fail('code_challenge required');
    if (p.get('code_challenge_method') !== 'S256') return fail('code_challenge_method must be S256');
    const code = rnd();
    codes.set(code, {
      nonce: p.get('nonce') ?? undefined,
      state: st,
      codeChallenge: p.get('code_challenge'),
      redirectUri,
    });
    back.searchParams.set('code', code);
    if (st !== null) back.searchParams.set('state', st);
    log(`authorize: code issued, flaw=${state.flaw}`);
    res.writeHead(302, { location: back.href, 'cache-control': 'no-store' });
    return res.end();
  }

  if (req.method === 'POST' && pathname === '/token') {
    const auth = basicAuth(req);
    if (!auth || !safeEq(auth.id, config.client_id) || !safeEq(auth.secret, config.client_secret)) {
      return oauthError(res, 401, 'invalid_client', 'client authentication failed', { 'www-authenticate': 'Basic realm="hostile"' });
    }
    const form = new URLSearchParams(await readBody(req));
    if (form.get('grant_type') !== 'authorization_code') return oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
    const code = form.get('code');
    const entry = code ? codes.get(code) : undefined;
    if (!entry) {
      return oauthError(res, 400, 'invalid_grant', usedCodes.has(code) ? 'code already used' : 'unknown code');
    }
    codes.delete(code); // single use, even if the rest of the request fails
    usedCodes.add(code);
    if (form.get('redirect_uri') !== entry.redirectUri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
    const verifier = form.get('code_verifier') || '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!verifier || !safeEq(challenge, entry.codeChallenge)) return oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');

    const { idToken, payload } = await buildIdToken(issuer, entry);
    const accessToken = rnd();
    const { iss, aud, exp, iat, nonce, ...userClaims } = payload;
    accessTokens.set(accessToken, userClaims);
    log(`token: issued id_token with flaw=${state.flaw}`);
    return send(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: idToken });
  }

  if ((req.method === 'GET' || req.method === 'POST') && pathname === '/userinfo') {
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization || '');
    const claims = m && accessTokens.get(m[1]);
    if (!claims) return oauthError(res, 401, 'invalid_token', 'unknown access token', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return send(res, 200, claims);
  }

  if (pathname === '/flaw') {
    if (req.method === 'GET') return send(res, 200, state);
    if (req.method === 'POST') {
      let body;
      try { body = JSON.parse(await readBody(req) || '{}'); } catch { return send(res, 400, { error: 'invalid JSON' }); }
      const flaw = body.flaw ?? 'none';
      if (!FLAWS.has(flaw)) return send(res, 400, { error: `unknown flaw ${flaw}`, known: [...FLAWS] });
      const claims = body.claims ?? {};
      if (typeof claims !== 'object' || Array.isArray(claims)) return send(res, 400, { error: 'claims must be an object' });
      state = { flaw, claims };
      log(`flaw set: ${JSON.stringify(state)}`);
      return send(res, 200, state);
    }
  }

  return send(res, 404, 'not found');
}

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(config.port) || 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
server.on('request', (req, res) => {
  handle(req, res, issuer).catch((err) => {
    log('error', err);
    if (!res.headersSent) send(res, 500, { error: 'server_error' });
    else res.destroy();
  });
});

process.stdout.write(`LISTENING ${port}\n`);
log(`ready, issuer ${issuer}`);

const stop = () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
