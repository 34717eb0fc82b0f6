/**
 * What the harness's processes share: the fixed client/API of every benchmark app, the server
 * specs the orchestrator sends to `server.ts`, the load specs it sends to `load.ts`, and the IPC
 * messages between them.
 */

/** The API every guard protects and every access token is issued for. */
export const AUDIENCE = 'https://api.shop.example';
/** The one client of every benchmark engine. */
export const CLIENT_ID = 'shop-web';
/** The anonymous scopes of the API. */
export const SCOPES = ['anon', 'read:products', 'write:cart'];
/** The guarded (or bare) route of the guard scenarios. */
export const GUARDED_PATH = '/api/products';
/** The token endpoint. */
export const TOKEN_PATH = '/anonymous/token';
/** Only loopback, ever. */
export const HOST = '127.0.0.1';

export type Framework = 'express' | 'koa';
export type BenchAlgorithm = 'RS256' | 'ES256' | 'EdDSA';
export type SessionFormat = 'jwe' | 'jwt';
export type StoreKind = 'memory' | 'redis';

/** Which app a server process builds. */
export type ServerSpec =
  /** The framework's route with no auth at all (the ceiling of the guard scenarios). */
  | { kind: 'bare'; framework: Framework }
  /** The bare route behind one middleware that only calls `next()`: the floor any guard pays. */
  | { kind: 'noop'; framework: Framework }
  /** Express only: the route behind one middleware that only sets `req.auth` (the floor of a guard that leaves its result on the request). */
  | { kind: 'set-auth'; framework: 'express' }
  /**
   * `requireAnonymousOrUser({ anonymous: anon, audience })`, verified-token cache on or off, and
   * `checkRevocation` (the default: the memory store is asked on every request) or `false`
   * (stateless until `exp`, as the peers are); the engine's store is memory or Redis.
   */
  | { kind: 'guard'; framework: Framework; cache: boolean; checkRevocation: boolean; store?: StoreKind }
  /** express-oauth2-jwt-bearer `auth({ issuerBaseURL, audience })` against the token server. */
  | { kind: 'peer-oauth2-jwt-bearer' }
  /** The hand-written jose guard (`jose-guard.ts`): jose's `jwtVerify`, keys imported once, no cache. */
  | { kind: 'jose-guard' }
  /** express-jwt + jwks-rsa against the token server's JWKS. */
  | { kind: 'peer-express-jwt' }
  /**
   * `anonymousTokenRouter` (its issuer is its own URL). Rate limit off and a non-Secure cookie,
   * unless `defaults`: then every secure default is on (the rate limits counted in the store, at
   * limits no run reaches, since every request comes from one address). `countingClients`:
   * `clients` is a resolver that counts its calls.
   */
  | {
      kind: 'issuer';
      framework: Framework;
      algorithm: BenchAlgorithm;
      format: SessionFormat;
      store: StoreKind;
      defaults?: boolean;
      countingClients?: boolean;
    }
  /** The hand-written jose endpoint (`jose-endpoint.ts`), on Express. */
  | { kind: 'jose-issuer'; algorithm: BenchAlgorithm; format: SessionFormat };

/** Everything a server process needs, passed as JSON in `BENCH_SERVER`. */
export interface ServerLaunch {
  spec: ServerSpec;
  /** A private JWK Set file (for engines). */
  keysFile: string;
  /** The token server's issuer, which the guard and peer scenarios trust. */
  trustedIssuer?: string;
  /** For the Redis store. */
  redisUrl?: string;
  /** Unique per run, so nothing collides with other users of the Redis server. */
  redisPrefix?: string;
}

/** server → orchestrator. */
export type ServerMessage =
  /**
   * Listening; `uptimeMs` is how long start-up took (a profile skips that much); `core` is the file
   * `@anonymous-sessions/core` resolved to (its build, never its source).
   */
  | { type: 'ready'; port: number; uptimeMs: number; core: string }
  | { type: 'failed'; message: string }
  /** The answer to `{ type: 'cpu', id }`: `process.cpuUsage()` (every thread, crypto pool included), µs. */
  | { type: 'cpu'; id: number; user: number; system: number; clientLookups?: number };

/** What the load process runs (one autocannon run). */
export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** When set, requests rotate through these bearer tokens (one `requests` entry per token). */
  bearerTokens?: string[];
  connections: number;
  /** Seconds. */
  duration: number;
}

/** What the load process reports for one run. */
export interface LoadResult {
  /** Completed responses per second over the run. */
  requestsPerSecond: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  max: number;
  /** Responses outside 2xx. */
  non2xx: number;
  /** Socket errors (including timeouts). */
  errors: number;
  timeouts: number;
  /** Responses by status code. */
  statusCodes: Record<string, number>;
  total: number;
  duration: number;
}

/** orchestrator → load process. */
export interface LoadRequest {
  type: 'run';
  id: number;
  spec: LoadSpec;
}

/** load process → orchestrator. */
export type LoadReply = { type: 'result'; id: number; result: LoadResult } | { type: 'failed'; id: number; message: string };

/** What the crypto-ceiling process reports. */
export interface CeilingResult {
  operations: number;
  seconds: number;
  /** CPU time the process used while measuring (every thread), µs. */
  cpuMicros: number;
}

/** What the memory process reports. */
export interface MemoryResult {
  revocations: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** Node's flags that run a bench script (TypeScript) through tsx. */
export const TSX_EXEC_ARGV = ['--import', 'tsx'];
