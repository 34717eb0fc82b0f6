/** What the soak's orchestrator (`run.ts`) and its app instances (`server.ts`) share. */

/** The API guests call with their access tokens (guarded, revocation checked). */
export const API_PATH = '/api/cart';
/** Garbage-collects, then answers `process.memoryUsage()`. */
export const HEAP_PATH = '/soak/heap';
export const TOKEN_PATH = '/anonymous/token';
export const SESSION_PATH = '/anonymous/session';
export const LOGOUT_PATH = '/anonymous/logout';
export const AUDIENCE = 'https://api.shop.example';
export const CLIENT_ID = 'shop-web';

/** Everything an instance needs, as JSON in `SOAK_SERVER`. */
export interface SoakServerLaunch {
  /** The instance's name (`A`, `B`). */
  name: string;
  /** Its loopback port (fixed, so a restarted instance comes back where it was). */
  port: number;
  /** The soak's own Redis (loopback). */
  redisUrl: string;
  prefix: string;
  /** A private JWK Set file shared by both instances. */
  keysFile: string;
  revocationLoss: 'accept' | 'reject';
  storeTimeoutMs: number;
}
