// provider.mjs — a real OpenID Provider (npm `oidc-provider` 9.x) for RP integration tests.
//
// USAGE (harness):
//   node provider.mjs CONFIG.json
//   CONFIG.json:
//     {
//       "port": 0,                                  // 0 = pick a free port
//       "clients": [{ "client_id": "rp", "client_secret": "s3cret",
//                     "redirect_uris": ["http://127.0.0.1:8080/callback"],
//                     "post_logout_redirect_uris": ["http://127.0.0.1:8080/"] }],
//       "accounts": { "alice": { "sub": "alice-sub", "email": "alice@example.com",
//                                "email_verified": true, "name": "Alice",
//                                "groups": ["admins"] } }
//     }
//   - Binds 127.0.0.1 only. issuer = http://127.0.0.1:<port> (no trailing slash).
//   - When ready, prints exactly ONE line to stdout: `LISTENING <port>`; everything
//     else (including oidc-provider's own notices) goes to stderr.
//   - Exits on SIGTERM / SIGINT.
//   - Discovery: <issuer>/.well-known/openid-configuration. Endpoints: /auth, /token,
//     /jwks, /me (userinfo), /session/end (end_session_endpoint).
//   - Clients: confidential, token_endpoint_auth_method client_secret_basic, response_type
//     `code` only, PKCE S256 REQUIRED, ID token RS256. redirect_uris and
//     post_logout_redirect_uris are matched by EXACT string (incl. port and path).
//   - Scopes: openid email profile groups. email -> email, email_verified;
//     profile -> name, groups; groups -> groups. Claims are put IN THE ID TOKEN
//     (conformIdTokenClaims: false) and are also served by userinfo.
//   - No consent screen: a grant with the requested scopes/claims is created automatically.
//   - The authorization response carries code, state AND iss (RFC 9207). A reused code gets
//     400 invalid_grant and revokes the tokens already issued from it.
//
// LOGIN PAGE (GET /interaction/<uid>, the built-in devInteractions form; what WebDriver fills):
//   <form autocomplete="off" action="http://127.0.0.1:<port>/interaction/<uid>" method="post">
//     <input type="hidden" name="prompt" value="login"/>
//     <input required type="text" name="login" ...>        CSS: input[name="login"]
//     <input required type="password" name="password" ...> CSS: input[name="password"]  (any value)
//     <button type="submit" class="login login-submit">Sign-in</button>
//                                                           CSS: button[type="submit"] / button.login-submit
//   </form>
//   The `login` value must be a key of `accounts`. Known name -> 303 redirects straight to
//   redirect_uri?code=...&state=...&iss=... . Unknown name -> the login form is shown
//   again (HTTP 200, via 303 to /interaction/<uid>?login_error=unknown_account) with
//   <p class="login-error" id="login-error">Unknown account</p> above it (no session created).
//   ID token `sub` = accounts[login].sub (the login name if sub is absent).
//   SSO: once logged in, further authorizations in the same browser session skip the login
//   page and redirect straight back (use a fresh browser profile, or log out, to see it again).
//
// LOGOUT: GET/POST /session/end?id_token_hint=...&post_logout_redirect_uri=...&state=...
//   (or client_id=... instead of id_token_hint). The confirmation page auto-submits itself
//   with logout=yes (inline script; button#logout-yes as a no-JS fallback), then the browser
//   is redirected to post_logout_redirect_uri?state=... .
//
// COOKIES: _interaction, _interaction_resume, _session (+ .sig), HttpOnly, SameSite=Lax,
//   never Secure (plain http) -> accepted by headless Chromium over http://127.0.0.1.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

// oidc-provider prints NOTICEs through console.info (= stdout). Keep stdout clean for the
// harness: route console.log/info to stderr before loading the library.
console.log = console.info = (...args) => console.error(...args);

const { default: Provider } = await import('oidc-provider');

if (process.argv.length < 3) {
  console.error('usage: node provider.mjs CONFIG.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts || {};
const clients = config.clients || [];

// RS256 signing key, generated at start.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k-${randomUUID()}`, alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(config.port) || 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const own = (obj, key) => typeof key === 'string' && Object.hasOwn(obj, key);

// oidc-provider always uses accountId as the `sub` claim, so accounts are keyed by sub
// internally: the login form's `login` (a key of `accounts`) is translated to that account's
// sub by the interaction middleware below; findAccount() then resolves the sub.
const subOf = (login) => String(accounts[login].sub ?? login);
const bySub = new Map(Object.keys(accounts).map((login) => [subOf(login), accounts[login]]));

async function findAccount(ctx, sub) {
  const a = bySub.get(sub);
  if (!a) return undefined;
  return {
    accountId: sub,
    async claims(use, scope) {
      return {
        sub,
        email: a.email,
        email_verified: a.email_verified,
        name: a.name,
        groups: a.groups,
      };
    },
  };
}

// Auto-consent: always (re)use a grant for this session+client+account and add whatever is
// requested, so the consent prompt never triggers.
async function loadExistingGrant(ctx) {
  const { oidc } = ctx;
  const accountId = oidc.session.accountId;
  const clientId = oidc.client.clientId;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) {
    grant = new oidc.provider.Grant({ accountId, clientId });
  }
  const scopes = [...oidc.requestParamOIDCScopes];
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const claims = [...oidc.requestParamClaims];
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

async function logoutSource(ctx, form) {
  // `form` is <form id="op.logoutForm" ...><input type="hidden" name="xsrf" .../></form>
  const withYes = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logout Request</title></head>
<body>
  <h1>Signing out of ${ctx.host}...</h1>
  ${withYes}
  <button id="logout-yes" type="submit" form="op.logoutForm">Yes, sign me out</button>
  <script>document.getElementById('op.logoutForm').submit();</script>
</body></html>`;
}

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris || [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    application_type: 'web',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['oidc-draft-cookie-key-1', 'oidc-draft-cookie-key-2'] },
  findAccount,
  loadExistingGrant,
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true, logoutSource },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
});
provider.proxy = false;

// Login-form POST hook: look the `login` name up in `accounts`. Unknown name -> 303 back to the
// login page, which then shows "Unknown account" above the same form. Known name -> the body is
// handed on to devInteractions with login=<that account's sub> (see findAccount above).
const readRaw = async (req) => {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
};
provider.use(async (ctx, next) => {
  const m = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (m && ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
    const raw = await readRaw(ctx.req);
    const body = new URLSearchParams(raw);
    if (body.get('prompt') === 'login' && !own(accounts, body.get('login'))) {
      console.error(`login rejected: unknown account ${JSON.stringify(body.get('login'))}`);
      ctx.status = 303;
      ctx.redirect(`/interaction/${m[1]}?login_error=unknown_account`);
      return;
    }
    if (body.get('prompt') === 'login') body.set('login', subOf(body.get('login')));
    // oidc-provider falls back to req.body once the stream is consumed (it logs a one-time
    // "already parsed request body detected" warning; harmless).
    ctx.req.body = body.toString();
  }
  await next();
  if (typeof ctx.body !== 'string') return;
  // The built-in pages @import a Google Fonts stylesheet; with no internet that request can
  // hang and delay the page's load event in (headless) Chromium. Strip it.
  ctx.body = ctx.body.replace('@import url(https://fonts.googleapis.com/css?family=Roboto:400,100);', '');
  if (m && ctx.method === 'GET' && ctx.query.login_error) {
    ctx.body = ctx.body.replace('<form', '<p class="login-error" id="login-error">Unknown account</p>\n<form');
  }
});

provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('authorization.error', (ctx, err) => console.error('authorization.error', err.message, err.error_description || ''));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message, err.error_description || ''));
provider.on('end_session.error', (ctx, err) => console.error('end_session.error', err.message, err.error_description || ''));

server.on('request', provider.callback());

process.stdout.write(`LISTENING ${port}\n`);
console.error(`oidc provider ready, issuer ${issuer}`);

const stop = () => {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
