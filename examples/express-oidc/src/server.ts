/**
 * `npm start -w examples/express-oidc`: the identity provider on http://127.0.0.1:3003 and the
 * guest shop on http://localhost:3002 — two origins, as in production — everything in memory.
 */
import { randomBytes } from 'node:crypto';
import { createOidcShopApp } from './app.js';
import { startIdentityProvider } from './identity-provider.js';
import { DEMO_ACCOUNT, SHOP_OIDC_CLIENT } from './shop.js';

const port = Number(process.env.PORT ?? 3002);
const providerPort = Number(process.env.PROVIDER_PORT ?? 3003);
const baseURL = process.env.BASE_URL ?? `http://localhost:${port}`;

const provider = await startIdentityProvider({
  port: providerPort,
  clients: [{ ...SHOP_OIDC_CLIENT, redirectUris: [`${baseURL}/callback`], postLogoutRedirectUris: [`${baseURL}/`] }],
  accounts: [{ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password, sub: DEMO_ACCOUNT.sub }],
});

const { app } = await createOidcShopApp({
  baseURL,
  issuerBaseURL: provider.issuer,
  // express-openid-connect encrypts its session cookie with this; a fresh one per start (in memory).
  secret: process.env.OIDC_SECRET ?? randomBytes(32).toString('base64url'),
  ...(process.env.ANON_KEYS === undefined ? {} : { keys: process.env.ANON_KEYS }),
});

app.listen(port, () => {
  console.log(`express-oidc: identity provider on ${provider.issuer}/ (try ${DEMO_ACCOUNT.email} / ${DEMO_ACCOUNT.password})`);
  console.log(`express-oidc: guest shop on ${baseURL}/`);
});
