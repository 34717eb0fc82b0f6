/**
 * The rate limits of the token endpoint, as the engine applies them: which bucket a client address
 * falls into, and the store keys of the two fixed-window counters (new sessions per address,
 * continues per session), and the {@link RateLimiter} that counts them through the store.
 *
 * Addresses come from the framework (`req.ip`, `ctx.ip`), so the host's proxy setting decides what
 * they are; see the Express and Koa READMEs for settings a forged `X-Forwarded-For` cannot get
 * around.
 *
 * @packageDocumentation
 */

import { TooManyRequestsError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import type { SessionStore } from '../store/store.js';

/** The window of every rate-limit counter, in seconds. */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** Longest part of an unparseable address kept in a bucket name (the rest is cut off). */
const MAX_OPAQUE_ADDRESS = 100;

/**
 * The bucket a client address counts in for the per-address limit:
 *
 * - an IPv4 address is its own bucket (`203.0.113.7`);
 * - an IPv6 address counts for its whole /64 (`2001:db8:1:2::/64`), the smallest block a single
 *   subscriber is usually given, so rotating through one's own /64 does not open new buckets;
 * - an IPv4-mapped (`::ffff:203.0.113.7`) or NAT64 (`64:ff9b::203.0.113.7`) address is the IPv4
 *   address inside it, so dual-stack sockets and IPv4 count the same;
 * - a value that is not an IP address (only a misconfigured proxy setting lets one through) is its
 *   own bucket, cut to 100 characters;
 * - no address at all (`undefined` or empty) is `undefined`: there is no bucket to count in, and
 *   the engine does not lump every such request into one shared bucket.
 *
 * @param ip - the address as the framework reports it.
 * @returns the bucket name, or `undefined` when there is no address.
 */
export function clientAddressBucket(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  let text = ip.trim();
  if (text === '') return undefined;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const ipv4 = parseIpv4(text);
  if (ipv4 !== undefined) return ipv4.join('.');
  const zone = text.indexOf('%');
  const words = parseIpv6(zone === -1 ? text : text.slice(0, zone));
  if (words === undefined) return `other:${text.slice(0, MAX_OPAQUE_ADDRESS)}`;
  const embedded = embeddedIpv4(words);
  if (embedded !== undefined) return embedded;
  return `${compressWords(words.slice(0, 4))}::/64`;
}

/** Store key of the creation counter of an address bucket. */
export function creationCounterKey(bucket: string): string {
  return `create:${bucket}`;
}

/** Store key of the continue counter of a session. */
export function continueCounterKey(sessionId: string): string {
  return `continue:${sessionId}`;
}

/** Four decimal octets, or `undefined`. */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets;
}

/** Eight 16-bit words (with `::` expanded and a trailing dotted IPv4 part folded in), or `undefined`. */
function parseIpv6(text: string): number[] | undefined {
  let hex = text;
  const lastColon = hex.lastIndexOf(':');
  if (lastColon !== -1 && hex.includes('.', lastColon)) {
    const octets = parseIpv4(hex.slice(lastColon + 1));
    if (octets === undefined) return undefined;
    const [a, b, c, d] = octets as [number, number, number, number];
    hex = `${hex.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return undefined;
  const words = (part: string): number[] | undefined => {
    if (part === '') return [];
    const values: number[] = [];
    for (const word of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(word)) return undefined;
      values.push(Number.parseInt(word, 16));
    }
    return values;
  };
  const head = words(halves[0]!);
  const tail = halves.length === 2 ? words(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...Array.from({ length: missing }, () => 0), ...tail];
}

/** The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) address. */
function embeddedIpv4(words: readonly number[]): string | undefined {
  const mapped = words.slice(0, 5).every((word) => word === 0) && words[5] === 0xffff;
  const nat64 = words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((word) => word === 0);
  if (!mapped && !nat64) return undefined;
  const high = words[6]!;
  const low = words[7]!;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** Lower-case hex words without leading zeros, with trailing zero words left to the `::` suffix. */
function compressWords(words: readonly number[]): string {
  let end = words.length;
  while (end > 0 && words[end - 1] === 0) end -= 1;
  return words
    .slice(0, end)
    .map((word) => word.toString(16))
    .join(':');
}

/** The settings the limiter reads from the resolved configuration. */
export interface RateLimiterSettings {
  rateLimit: false | { createPerMinute: number; continuePerMinute: number };
  logger: Logger;
}

/** The token endpoint's two limits, counted in the store: new sessions per address, continues per session. */
export class RateLimiter {
  readonly #settings: RateLimiterSettings;
  #warnedNoAddress = false;

  constructor(settings: RateLimiterSettings) {
    this.#settings = settings;
  }

  /**
   * Counts a token request against the limit of its kind: a create (no continued session) against
   * its address, a continue against its session.
   *
   * @throws TooManyRequestsError past the limit.
   */
  async enforce(store: Pick<SessionStore, 'increment'>, continuedSessionId: string | undefined, ip: string | undefined): Promise<void> {
    if (continuedSessionId === undefined) await this.#enforceCreation(store, ip);
    else await this.#enforceContinue(store, continuedSessionId);
  }

  /**
   * New sessions per client address (an IPv6 /64 counts as one). A request without an address
   * counts against no one: one shared bucket would let a single client lock every such request
   * out. The operator is told once, since it usually means the proxy setting hides the address.
   */
  async #enforceCreation(store: Pick<SessionStore, 'increment'>, ip: string | undefined): Promise<void> {
    const limit = this.#settings.rateLimit;
    if (limit === false) return;
    const bucket = clientAddressBucket(ip);
    if (bucket === undefined) {
      if (!this.#warnedNoAddress) {
        this.#warnedNoAddress = true;
        this.#settings.logger.warn(
          'A session was created without a client address, so the per-address rate limit could not count it. Pass the address (RequestContext.ip); behind a proxy on a Unix socket, set Express `trust proxy`, Koa `app.proxy` with `maxIpsCount`, or the fetch binding’s `trustProxy` (or its `clientAddress`).',
        );
      }
      return;
    }
    const { count, resetAt } = await store.increment(creationCounterKey(bucket), RATE_LIMIT_WINDOW_SECONDS);
    if (count > limit.createPerMinute) {
      throw new TooManyRequestsError(resetAt - Date.now() / 1000, 'Too many new sessions from this address; try again later.');
    }
  }

  /** Continues of one session, whatever the address: one token cannot drive unbounded signing. */
  async #enforceContinue(store: Pick<SessionStore, 'increment'>, sessionId: string): Promise<void> {
    const limit = this.#settings.rateLimit;
    if (limit === false) return;
    const { count, resetAt } = await store.increment(continueCounterKey(sessionId), RATE_LIMIT_WINDOW_SECONDS);
    if (count > limit.continuePerMinute) {
      throw new TooManyRequestsError(resetAt - Date.now() / 1000, 'Too many requests for this session; try again later.');
    }
  }
}
