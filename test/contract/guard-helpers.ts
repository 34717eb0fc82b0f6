/**
 * Fixtures for the guard suite: two independently keyed issuers, each serving its JWKS over HTTP on
 * a loopback port.
 *
 * - The host's identity provider is a real one: `oidc-provider` running in-process, issuing JWT
 *   access tokens (RFC 9068) for a resource indicator through the client-credentials grant.
 * - The anonymous issuer is our engine behind `anonymousTokenRouter`, on its own port, so a resource
 *   server in "another service" can trust it by `{ issuer, jwksUri }`.
 *
 * Plus the forgeries an attacker can make without any private key we hold (alg `none`, HS256 keyed
 * with a public key), and signing with a chosen private key for cross-issuer confusion.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  base64url,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import Provider, { errors as providerErrors, type Adapter, type AdapterPayload } from 'oidc-provider';
import {
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwk,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { AUDIENCE, CLIENT_ID, silentLogger, type TokenBody } from './assertions.js';

/** A second API the issuers know, for wrong-audience tokens. */
export const OTHER_AUDIENCE = 'https://api.other.example';
/** Scopes the identity provider grants users for our API. */
export const USER_SCOPES = 'read:orders write:orders';
/** The identity provider's confidential client (machine-to-machine). */
export const IDP_CLIENT = { clientId: 'orders-service', clientSecret: 'orders-service-secret-0123456789abcdef' } as const;
/** A client whose tokens get `sub: "anon|…"`: a real user token that merely looks like a guest's. */
export const IDP_IMPOSTOR_CLIENT = { clientId: 'anon|impostor-client', clientSecret: 'impostor-secret-0123456789abcdef' } as const;

/** A server listening on 127.0.0.1 with a port the OS chose. */
export interface Listening {
  server: Server;
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  origin: string;
}

/** Starts `listener` on 127.0.0.1, port 0, and resolves once it is listening. */
export async function listen(listener?: RequestListener): Promise<Listening> {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** Closes a server, dropping its keep-alive connections so `close` does not wait for them. */
export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/** oidc-provider's storage, in memory (its own default prints a development warning). */
class MemoryAdapter implements Adapter {
  static readonly #entries = new Map<string, AdapterPayload>();
  readonly #name: string;

  constructor(name: string) {
    this.#name = name;
  }

  #key(id: string): string {
    return `${this.#name}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload): Promise<void> {
    MemoryAdapter.#entries.set(this.#key(id), payload);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return MemoryAdapter.#entries.get(this.#key(id));
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const entry = MemoryAdapter.#entries.get(this.#key(id));
    if (entry) entry.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    MemoryAdapter.#entries.delete(this.#key(id));
  }

  async revokeByGrantId(): Promise<void> {}
}

/** The host's identity provider: a real `oidc-provider` on loopback. */
export interface UserIdentityProvider {
  /** Its issuer identifier, e.g. `http://127.0.0.1:41234`: what `issuerBaseURL` points at. */
  issuer: string;
  /** Its JWKS URL, from its discovery document. */
  jwksUri: string;
  /** The `kid` of its signing key. */
  kid: string;
  /** Its private signing key (for tokens a real IdP could have issued: expired, other claims). */
  privateKey: CryptoKey;
  /** Its public signing key as a JWK. */
  publicJwk: JWK;
  /**
   * A JWT access token from the real token endpoint (client-credentials grant with a resource
   * indicator): `aud` = `resource`, `sub` = the client id.
   */
  clientCredentialsToken(options?: { client?: { clientId: string; clientSecret: string }; resource?: string; scope?: string }): Promise<string>;
  /** Signs claims with the IdP's key and `kid`, as the IdP would (`typ: at+jwt`). */
  sign(payload: JWTPayload, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts a real OpenID provider on 127.0.0.1 with its own freshly generated RS256 key. */
export async function startUserIdentityProvider(): Promise<UserIdentityProvider> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'idp-rs256-1';
  const privateJwk = { ...(await exportJWK(privateKey)), kid, use: 'sig', alg: 'RS256' };
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };

  // The issuer must be known before the provider is built: listen first, then attach it.
  const { server, origin } = await listen();
  const provider = new Provider(origin, {
    adapter: MemoryAdapter,
    jwks: { keys: [privateJwk] },
    clients: [IDP_CLIENT, IDP_IMPOSTOR_CLIENT].map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    scopes: USER_SCOPES.split(' '),
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== AUDIENCE && resourceIndicator !== OTHER_AUDIENCE) {
            throw new providerErrors.InvalidTarget();
          }
          return {
            scope: USER_SCOPES,
            audience: resourceIndicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
  server.on('request', provider.callback());

  const discovery = (await (await fetch(`${origin}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
    jwks_uri: string;
    token_endpoint: string;
  };
  if (discovery.issuer !== origin) throw new Error(`unexpected issuer ${discovery.issuer}`);

  return {
    issuer: discovery.issuer,
    jwksUri: discovery.jwks_uri,
    kid,
    privateKey,
    publicJwk,
    async clientCredentialsToken(options = {}) {
      const client = options.client ?? IDP_CLIENT;
      const response = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: client.clientId,
          client_secret: client.clientSecret,
          resource: options.resource ?? AUDIENCE,
          scope: options.scope ?? USER_SCOPES,
        }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (response.status !== 200 || typeof body.access_token !== 'string') {
        throw new Error(`the identity provider refused the token request: ${response.status} ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },
    sign(payload, header = {}) {
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid, ...header }).sign(privateKey);
    },
    close: () => close(server),
  };
}

/** Our anonymous issuer, serving the token router and its JWKS on a real port. */
export interface AnonymousIssuer {
  anon: AnonymousSessions;
  /** The engine's issuer: `http://127.0.0.1:<port>/`. */
  issuer: string;
  /** Where its JWKS is served. */
  jwksUri: string;
  /** Its private key set. */
  keys: PrivateJwkSet;
  /** Its private signing key and `kid`. */
  signingKey: CryptoKey;
  kid: string;
  /** A new guest session and access token from POST /anonymous/token (over the real port). */
  guestTokens(fields?: Record<string, unknown>): Promise<TokenBody>;
  /** POST /anonymous/logout; resolves to the status. */
  logout(sessionToken: string): Promise<number>;
  close(): Promise<void>;
}

/** Starts the anonymous issuer on 127.0.0.1 with its own freshly generated keys. */
export async function startAnonymousIssuer(overrides: Partial<AnonymousSessionsOptions> = {}): Promise<AnonymousIssuer> {
  const keys = await generateKeySet();
  const signingJwk = keys.keys.find((jwk: PrivateJwk) => jwk.use === 'sig');
  if (signingJwk?.kid === undefined) throw new Error('generated key set has no signing key');
  const signingKey = (await importJWK(signingJwk as JWK, 'RS256')) as CryptoKey;

  const { server, origin } = await listen();
  const issuer = `${origin}/`;
  const logger = silentLogger();
  const anon = await createAnonymousSessions({
    issuer,
    keys,
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [
      { audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products', 'write:cart'] },
      { audience: OTHER_AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon'] },
    ],
    store: memoryStore(),
    rateLimit: false,
    logger,
    ...overrides,
  });
  const app = express();
  app.use(anonymousTokenRouter(anon, { cookie: { secure: false } }));
  app.use(anonymousErrorHandler({ logger }));
  server.on('request', app);

  return {
    anon,
    issuer,
    jwksUri: `${origin}/.well-known/jwks.json`,
    keys,
    signingKey,
    kid: signingJwk.kid,
    async guestTokens(fields = {}) {
      const response = await fetch(`${origin}/anonymous/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE, ...fields }),
      });
      if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as TokenBody;
    },
    async logout(sessionToken) {
      const response = await fetch(`${origin}/anonymous/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID, session_token: sessionToken }),
      });
      await response.arrayBuffer();
      return response.status;
    },
    close: () => close(server),
  };
}

const segment = (value: unknown): string => base64url.encode(JSON.stringify(value));

/** An unsecured JWT (`alg: none`, empty signature), as anyone can write. */
export function unsecuredToken(payload: JWTPayload, header: Record<string, unknown> = {}): string {
  return `${segment({ alg: 'none', typ: 'at+jwt', ...header })}.${segment(payload)}.`;
}

/**
 * The HS/RS confusion: HS256 keyed with the bytes of an issuer's *public* RSA key (its SPKI PEM),
 * which a verifier that let the token pick the algorithm would accept.
 */
export function hs256WithPublicKey(publicJwk: JWK, payload: JWTPayload, header: Record<string, unknown> = {}): string {
  const pem = createPublicKey({ key: { kty: publicJwk.kty, n: publicJwk.n, e: publicJwk.e }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const signingInput = `${segment({ alg: 'HS256', typ: 'at+jwt', ...header })}.${segment(payload)}`;
  return `${signingInput}.${base64url.encode(createHmac('sha256', pem).update(signingInput).digest())}`;
}

/** Signs claims with a chosen RS256 private key and header. */
export function signRs256(privateKey: CryptoKey, payload: JWTPayload, header: Partial<JWTHeaderParameters>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...header }).sign(privateKey);
}

/** The public half of an issuer's signing JWK. */
export function publicPart(jwk: PrivateJwk | JWK): JWK {
  return { kty: jwk.kty as string, n: jwk.n as string, e: jwk.e as string, ...(jwk.kid ? { kid: jwk.kid as string } : {}) };
}

/** How a {@link FaultyIssuer} answers one of its documents. */
export type FaultMode =
  /** The real document, at once. */
  | 'ok'
  /** Headers, then the body one byte at a time, far slower than any timeout. */
  | 'trickle'
  /** Accepts the request and never answers. */
  | 'hang'
  /** 500 with a JSON error body. */
  | 'error500'
  /** 200 with a body that is not JSON. */
  | 'garbage'
  /** 200 with JSON that is not the document (`{ "keys": "nope" }`, or a discovery without `jwks_uri`). */
  | 'wrong-shape'
  /** Destroys the socket without answering. */
  | 'close';

/** The documents a {@link FaultyIssuer} serves. */
export type FaultyDocument = 'discovery' | 'jwks';

/**
 * An issuer on loopback whose discovery document and JWKS can each be made to fail in every way a
 * network or a broken server fails: it counts the fetches it receives per document, and how many
 * answers the client abandoned before the server had finished sending them.
 */
export interface FaultyIssuer {
  /** `http://127.0.0.1:<port>`: its issuer identifier and `issuerBaseURL`. */
  issuer: string;
  /** Its JWKS URL. */
  jwksUri: string;
  /** How each document is answered now (change it at any time). */
  mode: Record<FaultyDocument, FaultMode>;
  /** Fetches received per document. */
  hits: Record<FaultyDocument, number>;
  /** Answers whose connection closed before the server finished them (the client gave up). */
  abandoned: number;
  /** The `kid` of its RS256 signing key. */
  kid: string;
  /** Signs claims with its key (`typ: at+jwt`, its `kid`). */
  sign(payload: JWTPayload, header?: Partial<JWTHeaderParameters>): Promise<string>;
  close(): Promise<void>;
}

/** Starts a {@link FaultyIssuer}; both documents start `ok`. */
export async function startFaultyIssuer(): Promise<FaultyIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = 'faulty-rs256-1';
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' }] });
  const timers = new Set<NodeJS.Timeout>();
  const state = {
    mode: { discovery: 'ok', jwks: 'ok' } as Record<FaultyDocument, FaultMode>,
    hits: { discovery: 0, jwks: 0 } as Record<FaultyDocument, number>,
    abandoned: 0,
  };
  const { server, origin } = await listen((req, res) => {
    const document: FaultyDocument | undefined =
      req.url === '/.well-known/openid-configuration' ? 'discovery' : req.url === '/jwks.json' ? 'jwks' : undefined;
    if (document === undefined) {
      res.writeHead(404).end();
      return;
    }
    state.hits[document] += 1;
    res.on('close', () => {
      if (!res.writableFinished) state.abandoned += 1;
    });
    const body =
      document === 'jwks'
        ? jwks
        : JSON.stringify({ issuer: origin, jwks_uri: `${origin}/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] });
    switch (state.mode[document]) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return;
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= body.length - 1) {
            clearInterval(timer);
            timers.delete(timer);
            return;
          }
          res.write(body[sent]);
          sent += 1;
        }, 50);
        timers.add(timer);
        return;
      }
      case 'hang':
        return;
      case 'error500':
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>502 Bad Gateway</html>');
        return;
      case 'wrong-shape':
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(document === 'jwks' ? '{"keys":"nope"}' : JSON.stringify({ issuer: origin }));
        return;
      case 'close':
        req.socket.destroy();
        return;
    }
  });
  return {
    issuer: origin,
    jwksUri: `${origin}/jwks.json`,
    get mode() {
      return state.mode;
    },
    get hits() {
      return state.hits;
    },
    get abandoned() {
      return state.abandoned;
    },
    kid,
    sign(payload, header = {}) {
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid, ...header }).sign(privateKey);
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      await close(server);
    },
  };
}
