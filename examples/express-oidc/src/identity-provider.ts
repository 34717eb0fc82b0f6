/**
 * A real OpenID Connect provider for the demo and the tests: `oidc-provider` on its own origin,
 * with password accounts, a login page, a sign-up page (`screen_hint=signup`, as Auth0's Universal
 * Login takes it) and a consent page. Authorization code + PKCE only; everything in memory.
 *
 * It stands for the host's identity provider (Auth0, Okta, Keycloak…): the shop never sees a
 * password, only the ID token of whoever signed in here.
 */
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import express, { type Request, type Response } from 'express';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Adapter, type AdapterPayload, type Interaction } from 'oidc-provider';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/** An account of the identity provider. */
export interface IdentityAccount {
  /** The `sub` of its ID tokens. */
  sub: string;
  email: string;
}

interface StoredIdentity extends IdentityAccount {
  salt: Buffer;
  passwordHash: Buffer;
}

/** The provider's password accounts (scrypt), in memory. */
export class IdentityAccounts {
  readonly #bySub = new Map<string, StoredIdentity>();
  readonly #byEmail = new Map<string, StoredIdentity>();

  /** Creates an account (a chosen `sub` for seeded ones); `undefined` when the email is taken. */
  async create(email: string, password: string, sub: string = randomUUID()): Promise<IdentityAccount | undefined> {
    const key = email.trim().toLowerCase();
    if (this.#byEmail.has(key) || this.#bySub.has(sub)) return undefined;
    const salt = randomBytes(16);
    const account: StoredIdentity = { sub, email: key, salt, passwordHash: await scryptAsync(password, salt, 32) };
    this.#bySub.set(sub, account);
    this.#byEmail.set(key, account);
    return { sub, email: key };
  }

  /** The account for these credentials, or `undefined`. Constant-time comparison. */
  async authenticate(email: string, password: string): Promise<IdentityAccount | undefined> {
    const account = this.#byEmail.get(email.trim().toLowerCase());
    const hash = await scryptAsync(password, account?.salt ?? randomBytes(16), 32);
    return account && timingSafeEqual(hash, account.passwordHash) ? { sub: account.sub, email: account.email } : undefined;
  }

  /** The account with this `sub`. */
  find(sub: string): IdentityAccount | undefined {
    const account = this.#bySub.get(sub);
    return account && { sub: account.sub, email: account.email };
  }
}

/** A relying party registered at the provider (a confidential web client). */
export interface RegisteredClient {
  clientId: string;
  clientSecret: string;
  /** Exact callback URLs. */
  redirectUris: string[];
  /** Where the provider may send the user after logout. */
  postLogoutRedirectUris?: string[];
}

/** Options of {@link startIdentityProvider}. */
export interface IdentityProviderOptions {
  /** Its relying parties. */
  clients: RegisteredClient[];
  /** Accounts to create at start, e.g. the demo account (with a fixed `sub`). */
  accounts?: Array<{ email: string; password: string; sub?: string }>;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
}

/** A running provider. */
export interface IdentityProvider {
  /** Its issuer identifier, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  issuer: string;
  accounts: IdentityAccounts;
  /** How many authorization codes were redeemed at its token endpoint. */
  readonly codesRedeemed: number;
  close(): Promise<void>;
}

/** oidc-provider's storage, in memory, one instance per provider. */
function memoryAdapter(): new (name: string) => Adapter {
  const entries = new Map<string, AdapterPayload>();
  const byUid = new Map<string, string>();
  return class MemoryAdapter implements Adapter {
    readonly #name: string;
    constructor(name: string) {
      this.#name = name;
    }
    #key(id: string): string {
      return `${this.#name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload): Promise<void> {
      entries.set(this.#key(id), payload);
      if (typeof payload.uid === 'string') byUid.set(`${this.#name}:${payload.uid}`, id);
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      return entries.get(this.#key(id));
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = byUid.get(`${this.#name}:${uid}`);
      return id === undefined ? undefined : entries.get(this.#key(id));
    }
    async consume(id: string): Promise<void> {
      const entry = entries.get(this.#key(id));
      if (entry) entry.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      entries.delete(this.#key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, payload] of entries) if (payload.grantId === grantId) entries.delete(key);
    }
  };
}

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} — Example Identity</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.4rem; } .brand { color: #5b3cc4; font-weight: 600; }
  label { display: block; margin: .6rem 0; } input { font: inherit; width: 100%; padding: .3rem .4rem; box-sizing: border-box; }
  button { font: inherit; padding: .4rem 1rem; border-radius: .4rem; border: 1px solid #5b3cc4; background: #5b3cc4; color: #fff; cursor: pointer; }
  .secondary { background: #fff; color: #5b3cc4; } .error { color: #a00; } .hint { color: #666; font-size: .9rem; }
</style></head>
<body><p class="brand">Example Identity</p>${body}</body></html>`;

/** The login or sign-up page of an interaction. */
function loginPage(uid: string, clientId: string, signup: boolean, error?: string): string {
  const errorLine = error ? `<p class="error" id="error">${escapeHtml(error)}</p>` : '';
  const form = (action: 'login' | 'signup'): string => `
  <form method="post" action="/interaction/${uid}/${action}">
    <label>Email <input id="email" name="email" type="email" autocomplete="email" required></label>
    <label>Password <input id="password" name="password" type="password" minlength="8" required></label>
    <button id="${action === 'login' ? 'sign-in' : 'sign-up'}" type="submit">${action === 'login' ? 'Sign in' : 'Create account'}</button>
  </form>`;
  return signup
    ? page('Create your account', `<h1>Create your account for <code>${escapeHtml(clientId)}</code></h1>${errorLine}${form('signup')}
  <p class="hint">Already have one? <a id="to-login" href="/interaction/${uid}?screen=login">Sign in</a></p>`)
    : page('Sign in', `<h1>Sign in to continue to <code>${escapeHtml(clientId)}</code></h1>${errorLine}${form('login')}
  <p class="hint">New here? <a id="to-signup" href="/interaction/${uid}?screen=signup">Create an account</a></p>`);
}

/** The consent page of an interaction. */
function consentPage(uid: string, clientId: string, scopes: string[]): string {
  return page('Allow access', `<h1><code>${escapeHtml(clientId)}</code> wants to know who you are</h1>
  <p>It asks for: ${scopes.map((scope) => `<code>${escapeHtml(scope)}</code>`).join(', ') || 'nothing more'}.</p>
  <form method="post" action="/interaction/${uid}/consent"><button id="allow" type="submit">Allow</button></form>
  <form method="post" action="/interaction/${uid}/abort"><button id="deny" class="secondary" type="submit">Deny</button></form>`);
}

/**
 * Starts the provider on its own origin (default `http://127.0.0.1:<free port>`). Its signing key
 * is generated at start.
 */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  const server: Server = createServer();
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;

  const accounts = new IdentityAccounts();
  for (const seed of options.accounts ?? []) await accounts.create(seed.email, seed.password, seed.sub);

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    adapter: memoryAdapter(),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'example-identity-1', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'email'],
    // The scope's claims go into the ID token, which is what the relying parties read.
    conformIdTokenClaims: false,
    extraParams: ['screen_hint'],
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const account = accounts.find(sub);
      return account && { accountId: sub, claims: () => ({ sub, email: account.email, email_verified: true }) };
    },
  });
  let codesRedeemed = 0;
  provider.on('grant.success', () => {
    codesRedeemed += 1;
  });

  const app = express();
  app.disable('x-powered-by');
  const form = express.urlencoded({ extended: false, limit: '4kb' });
  const noStore = (_req: Request, res: Response, next: () => void): void => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  const details = (req: Request, res: Response): Promise<Interaction> => provider.interactionDetails(req, res);
  const credentials = (req: Request): { email: string; password: string } | undefined => {
    const { email, password } = (req.body ?? {}) as Record<string, unknown>;
    return typeof email === 'string' && typeof password === 'string' && /^[^@\s]+@[^@\s]+$/.test(email) && password.length >= 8
      ? { email, password }
      : undefined;
  };
  const wrap =
    (handler: (req: Request, res: Response) => Promise<void>) =>
    (req: Request, res: Response, next: (error?: unknown) => void): void => {
      handler(req, res).catch(next);
    };

  app.get('/interaction/:uid', noStore, wrap(async (req, res) => {
    const interaction = await details(req, res);
    const clientId = String(interaction.params.client_id);
    if (interaction.prompt.name === 'login') {
      const screen = typeof req.query.screen === 'string' ? req.query.screen : interaction.params.screen_hint;
      res.type('html').send(loginPage(interaction.uid, clientId, screen === 'signup'));
      return;
    }
    const missing = (interaction.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    res.type('html').send(consentPage(interaction.uid, clientId, missing));
  }));

  app.post('/interaction/:uid/login', noStore, form, wrap(async (req, res) => {
    const interaction = await details(req, res);
    const given = credentials(req);
    const account = given && (await accounts.authenticate(given.email, given.password));
    if (!account) {
      res.status(401).type('html').send(loginPage(interaction.uid, String(interaction.params.client_id), false, 'Wrong email or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }));

  app.post('/interaction/:uid/signup', noStore, form, wrap(async (req, res) => {
    const interaction = await details(req, res);
    const given = credentials(req);
    const account = given && (await accounts.create(given.email, given.password));
    if (!account) {
      const message = given ? 'That email already has an account: sign in instead.' : 'Give an email and a password of at least 8 characters.';
      res.status(400).type('html').send(loginPage(interaction.uid, String(interaction.params.client_id), true, message));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
  }));

  app.post('/interaction/:uid/consent', noStore, wrap(async (req, res) => {
    const interaction = await details(req, res);
    const { prompt, params, session } = interaction;
    if (prompt.name !== 'consent' || session?.accountId === undefined) {
      res.status(400).type('text').send('No consent is pending for this interaction.');
      return;
    }
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    if (!grant) throw new Error('grant not found');
    const missingScope = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    if (missingScope.length > 0) grant.addOIDCScope(missingScope.join(' '));
    const missingClaims = (prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
    if (missingClaims.length > 0) grant.addOIDCClaims(missingClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }));

  app.post('/interaction/:uid/abort', noStore, wrap(async (req, res) => {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the request.' },
      { mergeWithLastSubmission: false },
    );
  }));

  app.use(provider.callback());
  server.on('request', app);

  return {
    issuer,
    accounts,
    get codesRedeemed() {
      return codesRedeemed;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
