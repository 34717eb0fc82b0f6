/**
 * The scenarios of a run: what each server runs, what it is loaded with, and which anchor of the
 * same round it is divided by. Built from the run's context ({@link BenchContext}): the keys and
 * tokens are read when a scenario starts, not when it is defined.
 */
import type { Group } from '../report.js';
import {
  AUDIENCE,
  CLIENT_ID,
  GUARDED_PATH,
  TOKEN_PATH,
  type BenchAlgorithm,
  type Framework,
  type LoadSpec,
  type ServerLaunch,
  type ServerSpec,
  type SessionFormat,
  type StoreKind,
} from '../shared.js';
import type { BenchContext } from './context.js';
import type { RunningServer } from './servers.js';

/** A load request before it is aimed at a server. */
export type RequestShape = Omit<LoadSpec, 'connections' | 'duration' | 'url'> & { path: string };

/** A scenario served over HTTP by `server.ts` and loaded by `load.ts`. */
export interface HttpScenario {
  type: 'http';
  id: string;
  label: string;
  group: Group;
  anchor: string;
  launch: () => ServerLaunch;
  /** The request to load it with, made once the server is up (may ask the server for a token). */
  request: (server: RunningServer) => Promise<RequestShape>;
  skip?: string;
}

/** The raw crypto ceiling (`ceiling.ts`), no HTTP. */
export interface CeilingScenario {
  type: 'ceiling';
  id: string;
  label: string;
  group: 'ceiling';
  anchor: string;
  algorithm: BenchAlgorithm;
  format: SessionFormat;
  /** 2 = one per core (the issue's ceiling); 1 = what a single Node process can reach. */
  processes: number;
  skip?: string;
}

export type Scenario = HttpScenario | CeilingScenario;

interface IssuedTokenBody {
  session_token: string;
  access_token: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json().catch(() => undefined)) as unknown };
}

/** Creates a session at a token server. */
export async function createSession(baseUrl: string): Promise<IssuedTokenBody> {
  const { status, json } = await postJson(`${baseUrl}${TOKEN_PATH}`, { client_id: CLIENT_ID, audience: AUDIENCE });
  if (status !== 200) throw new Error(`token endpoint answered ${status}: ${JSON.stringify(json)}`);
  return json as IssuedTokenBody;
}

/** Asks the token server for `count` access tokens, a few at a time. */
export async function issueAccessTokens(baseUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const worker = async (): Promise<void> => {
    while (tokens.length < count) {
      const { access_token } = await createSession(baseUrl);
      if (tokens.length < count) tokens.push(access_token);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return tokens;
}

export const ceilingId = (algorithm: BenchAlgorithm, format: SessionFormat): string => `ceiling-${algorithm.toLowerCase()}-${format}`;
const sessionLabel = (format: SessionFormat): string => (format === 'jwe' ? 'JWE session' : 'JWT session');

/** Creating a session, or continuing one. */
export type IssuanceKind = 'create' | 'continue';

/** The id of the hand-written jose endpoint doing one kind of issuance with one algorithm and session format. */
export const joseIssuerId = (kind: IssuanceKind, algorithm: BenchAlgorithm, format: SessionFormat): string =>
  `express-jose-issue-${kind}-${algorithm.toLowerCase()}-${format}`;

/** The id of the hand-written jose issuance endpoint the create target divides by (RS256 + JWE). */
export const JOSE_ISSUER_ID = joseIssuerId('create', 'RS256', 'jwe');

/**
 * The hand-written jose endpoint doing the same crypto as an issuance scenario (same kind, algorithm
 * and session format; none of the store, cookie or validation), read off the scenario's id; its
 * latency tail is the one the scenario's p99 is held to. `undefined` for any other scenario.
 */
export function joseIssuerFor(scenarioId: string): string | undefined {
  const match = /-issue-(create|continue)-(rs256|es256|eddsa)-(jwe|jwt)(?:-|$)/.exec(scenarioId);
  if (match === null) return undefined;
  const algorithm = ({ rs256: 'RS256', es256: 'ES256', eddsa: 'EdDSA' } as const)[match[2] as 'rs256' | 'es256' | 'eddsa'];
  return joseIssuerId(match[1] as IssuanceKind, algorithm, match[3] as SessionFormat);
}
/** The hand-written jose guard (`jose-guard.ts`), loaded with the distinct tokens. */
export const JOSE_GUARD_ID = 'express-jose-guard-distinct';

/** Why the Redis scenarios cannot run, or `undefined`. */
export interface Availability {
  koaGuard: string | undefined;
  koaIssuance: string | undefined;
  redis: string | undefined;
}

/** Every scenario of a full run, in the order a round measures them. */
export function allScenarios(context: BenchContext, available: Availability): Scenario[] {
  return [
    ...guardScenarios(context, 'express', undefined, available.redis),
    ...guardScenarios(context, 'koa', available.koaGuard, available.redis),
    ...ceilingScenarios(),
    ...issuanceScenarios(context, 'express', undefined, available.redis),
    ...issuanceScenarios(context, 'koa', available.koaGuard ?? available.koaIssuance, available.redis),
  ];
}

function guardScenarios(context: BenchContext, framework: Framework, skip: string | undefined, redisSkip: string | undefined): HttpScenario[] {
  const { tokens, keyFiles, settings } = context;
  const launch = (spec: ServerSpec) => (): ServerLaunch => ({
    spec,
    keysFile: keyFiles.get('RS256')!,
    trustedIssuer: tokens.trustedIssuer,
    redisUrl: context.redisUrl,
    redisPrefix: `anon-bench:${process.pid}:${Date.now()}:guard:`,
  });
  const reused = async (): Promise<RequestShape> => ({ path: GUARDED_PATH, method: 'GET', headers: { authorization: `Bearer ${tokens.reused}` } });
  const distinct = async (): Promise<RequestShape> => ({ path: GUARDED_PATH, method: 'GET', headers: {}, bearerTokens: tokens.distinct });
  const group: Group = framework === 'express' ? 'guard-express' : 'guard-koa';
  const name = framework === 'express' ? 'Express' : 'Koa';
  const anchor = `${framework}-bare`;
  const prefix = framework === 'koa' ? 'Koa: ' : '';
  const n = settings.distinctTokens;
  const base = { type: 'http' as const, group, anchor };
  const own = (count: number) => async (server: RunningServer): Promise<RequestShape> => {
    const issued = await issueAccessTokens(server.url, count);
    return count === 1 ? { path: GUARDED_PATH, method: 'GET', headers: { authorization: `Bearer ${issued[0]!}` } } : { path: GUARDED_PATH, method: 'GET', headers: {}, bearerTokens: issued };
  };
  const guard = (cache: boolean, checkRevocation: boolean, store: StoreKind = 'memory') => launch({ kind: 'guard', framework, cache, checkRevocation, store });
  const list: HttpScenario[] = [
    { ...base, id: anchor, label: `bare ${name} route`, launch: launch({ kind: 'bare', framework }), request: reused },
    // The floor any guard pays: the same route behind one middleware that only calls next().
    { ...base, id: `${framework}-noop`, label: `${name} route behind one no-op middleware`, launch: launch({ kind: 'noop', framework }), request: reused },
    // Express only: the floor of a guard that sets req.auth (one property on a request whose
    // prototype Express swapped). Koa's guard writes ctx.state, a plain object of Koa's own.
    ...(framework === 'express'
      ? [{ ...base, id: 'express-set-auth', label: 'Express route behind one middleware that only sets req.auth', launch: launch({ kind: 'set-auth', framework: 'express' }), request: reused }]
      : []),
    // Stateless (checkRevocation: false), as the peers are: what the like-for-like targets compare.
    { ...base, id: `${framework}-guard-reused-cache`, label: `${prefix}requireAnonymousOrUser, 1 token, cache on, no revocation check`, launch: guard(true, false), request: reused },
    { ...base, id: `${framework}-guard-reused-nocache`, label: `${prefix}requireAnonymousOrUser, 1 token, cache off, no revocation check`, launch: guard(false, false), request: reused },
    { ...base, id: `${framework}-guard-distinct-cache`, label: `${prefix}requireAnonymousOrUser, ${n} tokens, cache on, no revocation check`, launch: guard(true, false), request: distinct },
    { ...base, id: `${framework}-guard-distinct-nocache`, label: `${prefix}requireAnonymousOrUser, ${n} tokens, cache off, no revocation check`, launch: guard(false, false), request: distinct },
    // Secure by default (checkRevocation on: the store is asked on every request), memory and Redis
    // stores. Loaded with tokens their own engine issued (same issuer and keys, and the same store,
    // so the tokens carry its epoch marker, as one deployment shares them): `server.ts` serves the
    // token router beside the guarded route for that.
    { ...base, id: `${framework}-guard-reused-revocation`, label: `${prefix}requireAnonymousOrUser defaults, 1 token (cache on, checkRevocation, memory store)`, launch: guard(true, true), request: own(1) },
    { ...base, id: `${framework}-guard-distinct-revocation`, label: `${prefix}requireAnonymousOrUser defaults, ${n} tokens (cache on, checkRevocation, memory store)`, launch: guard(true, true), request: own(n) },
  ];
  if (framework === 'express') {
    const redis = redisSkip === undefined ? {} : { skip: redisSkip };
    list.push(
      { ...base, id: 'express-guard-reused-revocation-redis', label: 'requireAnonymousOrUser defaults, 1 token (cache on, checkRevocation, Redis store)', launch: guard(true, true, 'redis'), request: own(1), ...redis },
      { ...base, id: 'express-guard-distinct-revocation-redis', label: `requireAnonymousOrUser defaults, ${n} tokens (cache on, checkRevocation, Redis store)`, launch: guard(true, true, 'redis'), request: own(n), ...redis },
      { ...base, id: 'express-peer-oauth2-reused', label: 'express-oauth2-jwt-bearer, 1 token', launch: launch({ kind: 'peer-oauth2-jwt-bearer' }), request: reused },
      { ...base, id: 'express-peer-oauth2-distinct', label: `express-oauth2-jwt-bearer, ${n} tokens`, launch: launch({ kind: 'peer-oauth2-jwt-bearer' }), request: distinct },
      // The floor of a guard on the jose the core uses: jwtVerify by hand, no cache (jose-guard.ts).
      { ...base, id: JOSE_GUARD_ID, label: `hand-written jose jwtVerify middleware, ${n} tokens`, launch: launch({ kind: 'jose-guard' }), request: distinct },
      { ...base, id: 'express-peer-express-jwt-reused', label: 'express-jwt + jwks-rsa, 1 token', launch: launch({ kind: 'peer-express-jwt' }), request: reused },
    );
  }
  return list.map((scenario) => (skip === undefined || scenario.skip !== undefined ? scenario : { ...scenario, skip }));
}

function ceilingScenarios(): CeilingScenario[] {
  const variants: [BenchAlgorithm, SessionFormat][] = [
    ['RS256', 'jwe'],
    ['ES256', 'jwe'],
    ['EdDSA', 'jwe'],
    ['RS256', 'jwt'],
  ];
  const list: CeilingScenario[] = variants.map(([algorithm, format]) => ({
    type: 'ceiling',
    id: ceilingId(algorithm, format),
    label: `jose ${algorithm} sign + ${format === 'jwe' ? 'dir/A256GCM encrypt' : `${algorithm} sign`}`,
    group: 'ceiling',
    anchor: ceilingId('RS256', 'jwe'),
    algorithm,
    format,
    processes: 2,
  }));
  // Not a target: shows how much of the two-process ceiling one Node process (what a server is)
  // can reach, since RSA signing in one process does not spread evenly over both cores.
  list.push({ ...list[0]!, id: `${ceilingId('RS256', 'jwe')}-1proc`, label: 'jose RS256 sign + dir/A256GCM encrypt, 1 process', processes: 1 });
  return list;
}

interface IssuanceConfig {
  algorithm: BenchAlgorithm;
  format: SessionFormat;
  store: StoreKind;
  /** Every secure default on: rate limits counted in the store (limits no run reaches), the default Secure cookie. */
  defaults?: boolean;
  /** `clients` as a resolver that counts its calls (reported as lookups per request). */
  countingClients?: boolean;
}

const tokenBody = (extra: Record<string, string> = {}): string => JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE, ...extra });

function issuanceScenarios(context: BenchContext, framework: Framework, skip: string | undefined, redisSkip: string | undefined): HttpScenario[] {
  const configs: IssuanceConfig[] =
    framework === 'express'
      ? [
          { algorithm: 'RS256', format: 'jwe', store: 'memory' },
          { algorithm: 'ES256', format: 'jwe', store: 'memory' },
          { algorithm: 'EdDSA', format: 'jwe', store: 'memory' },
          { algorithm: 'RS256', format: 'jwt', store: 'memory' },
          { algorithm: 'RS256', format: 'jwe', store: 'redis' },
          { algorithm: 'RS256', format: 'jwe', store: 'memory', defaults: true },
          { algorithm: 'RS256', format: 'jwe', store: 'redis', defaults: true },
          { algorithm: 'RS256', format: 'jwe', store: 'memory', countingClients: true },
        ]
      : [{ algorithm: 'RS256', format: 'jwe', store: 'memory' }];
  const group: Group = framework === 'express' ? 'issuance-express' : 'issuance-koa';
  const list: HttpScenario[] = [];
  if (framework === 'express') {
    // The hand-written jose endpoint for every kind, algorithm and session format measured below:
    // what the same crypto costs with nothing else, and the latency tail each scenario is held to.
    const crypto = [...new Map(configs.map((config) => [`${config.algorithm}-${config.format}`, config])).values()];
    for (const { algorithm, format } of crypto) {
      const session = format === 'jwe' ? 'dir/A256GCM JWE' : `${algorithm} JWT`;
      const launch = (): ServerLaunch => ({ spec: { kind: 'jose-issuer', algorithm, format }, keysFile: context.keyFiles.get(algorithm)! });
      const base = { type: 'http' as const, group, anchor: ceilingId(algorithm, format), launch };
      list.push({
        ...base,
        id: joseIssuerId('create', algorithm, format),
        label: `hand-written jose endpoint (Express, express.json()): ${algorithm} access token + ${session}, keys imported once`,
        request: async () => ({ path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody() }),
      });
      list.push({
        ...base,
        id: joseIssuerId('continue', algorithm, format),
        label: `hand-written jose endpoint continuing a session: ${format === 'jwe' ? 'decrypt' : 'verify'}, then ${algorithm} access token + ${session}`,
        request: async (server) => {
          const { session_token } = await createSession(server.url);
          return { path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody({ session_token }) };
        },
      });
    }
  }
  for (const config of configs) {
    const launch = (): ServerLaunch => ({
      spec: { kind: 'issuer', framework, algorithm: config.algorithm, format: config.format, store: config.store, defaults: config.defaults === true, countingClients: config.countingClients === true },
      keysFile: context.keyFiles.get(config.algorithm)!,
      redisUrl: context.redisUrl,
      redisPrefix: `anon-bench:${process.pid}:${Date.now()}:${config.algorithm}:${config.format}:`,
    });
    const variant = config.defaults ? '-defaults' : config.countingClients ? '-resolver' : '';
    const suffix = `${config.algorithm.toLowerCase()}-${config.format}-${config.store}${variant}`;
    const extra = config.defaults ? ', every default on (rate limits, Secure cookie)' : config.countingClients ? ', clients resolver counting its calls' : '';
    const what = `${config.algorithm} + ${sessionLabel(config.format)}, ${config.store} store${extra}${framework === 'koa' ? ' (Koa)' : ''}`;
    const scenarioSkip = skip ?? (config.store === 'redis' ? redisSkip : undefined);
    const base = { type: 'http' as const, group, anchor: ceilingId(config.algorithm, config.format), launch, ...(scenarioSkip === undefined ? {} : { skip: scenarioSkip }) };
    list.push({
      ...base,
      id: `${framework}-issue-create-${suffix}`,
      label: `POST /anonymous/token create, ${what}`,
      request: async () => ({ path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody() }),
    });
    if (framework === 'express') {
      list.push({
        ...base,
        id: `${framework}-issue-continue-${suffix}`,
        label: `POST /anonymous/token continue, ${what}`,
        request: async (server) => {
          const { session_token } = await createSession(server.url);
          return { path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: tokenBody({ session_token }) };
        },
      });
    }
  }
  return list;
}
