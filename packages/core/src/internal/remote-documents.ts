/**
 * Documents the bearer guard fetches from other servers: an identity provider's discovery document
 * and JWKS, a remote anonymous issuer's JWKS. Every fetch is bounded (one timeout for the headers
 * AND the body, a size cap, 200 only, no redirects); every way it can fail — refused, reset,
 * timed out, trickled, a 5xx, a body that is not the document — is an {@link IssuerUnavailableError}
 * (the guard answers 503, never 401). A failure is remembered for the cooldown, so a broken server
 * is asked at most once per cooldown, however many requests arrive.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { Logger } from './logger.js';

/** The largest discovery document or JWKS accepted, in bytes. */
const MAX_DOCUMENT_BYTES = 512 * 1024;

/** A discovery document or JWKS could not be had; requests needing it are answered 503. */
export class IssuerUnavailableError extends Error {
  /** Milliseconds until the next fetch will be tried. */
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IssuerUnavailableError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** How remote documents are fetched and kept. */
export interface RemoteDocumentOptions {
  /** One deadline for the whole fetch (connect, headers, body), ms. */
  timeoutDuration: number;
  /** After a fetch (good or failed), how long before the same URL is fetched again on demand, ms. */
  cooldownDuration: number;
  /** How long a fetched document is used before it is fetched again, ms. */
  cacheMaxAge: number;
  /** Told (warn) about every failed fetch, with its URL and cause. */
  logger: Logger;
}

const describe = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
};

/** GETs `url` and parses its JSON body within `timeoutMs` (headers and body); throws on any failure. */
async function fetchJson(url: URL, timeoutMs: number): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`answered HTTP ${response.status}`);
  }
  if (response.body === null) throw new Error('answered with no body');
  // Read the body ourselves: the same signal bounds it (a trickling body times out), and so does a size cap.
  const reader = response.body.getReader();
  // Web APIs only (no Buffer): this path runs on edge runtimes too.
  const decoder = new TextDecoder('utf-8');
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DOCUMENT_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`answered more than ${MAX_DOCUMENT_BYTES} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return JSON.parse(text + decoder.decode()) as unknown;
}

/**
 * One remote JSON document, parsed into `T`: fetched on first use, used for `cacheMaxAge`, fetched
 * once at a time (concurrent requests share the fetch), and after a failure not fetched again for
 * `cooldownDuration` (requests in between fail at once with the time left).
 */
export class RemoteDocument<T> {
  readonly #url: URL;
  readonly #parse: (json: unknown) => T;
  readonly #options: RemoteDocumentOptions;
  #value: T | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<T> | undefined;

  /**
   * @param url - where the document is.
   * @param parse - turns the JSON into the value; throws when it is not the document.
   * @param options - timeout, cooldown, cache age and logger.
   */
  constructor(url: URL, parse: (json: unknown) => T, options: RemoteDocumentOptions) {
    this.#url = url;
    this.#parse = parse;
    this.#options = options;
  }

  /** The URL fetched. */
  get url(): string {
    return this.#url.href;
  }

  /** The cached value while it is fresh; otherwise a fetch (or, cooling down after a failure, the failure). */
  get(): Promise<T> {
    if (this.#value !== undefined && Date.now() < this.#fetchedAt + this.#options.cacheMaxAge) return Promise.resolve(this.#value);
    return this.#fetch();
  }

  /**
   * A new copy for a cache miss (e.g. a `kid` the cached JWKS lacks): `undefined` when the last good
   * fetch is younger than the cooldown, so a stream of unknown `kid`s costs one fetch per cooldown.
   */
  refresh(): Promise<T | undefined> {
    if (Date.now() < this.#fetchedAt + this.#options.cooldownDuration) return Promise.resolve(undefined);
    return this.#fetch();
  }

  #fetch(): Promise<T> {
    const coolingDownFor = this.#failedAt + this.#options.cooldownDuration - Date.now();
    if (this.#pending === undefined && coolingDownFor > 0) {
      return Promise.reject(new IssuerUnavailableError(`${this.url} failed less than the cooldown ago`, coolingDownFor));
    }
    this.#pending ??= (async () => {
      try {
        let value: T;
        try {
          value = this.#parse(await fetchJson(this.#url, this.#options.timeoutDuration));
        } catch (error) {
          this.#failedAt = Date.now();
          const seconds = Math.ceil(this.#options.cooldownDuration / 1000);
          this.#options.logger.warn(
            `Could not fetch ${this.url}: ${describe(error)}. Bearer tokens that need it are answered 503 for the next ${seconds} s.`,
          );
          throw new IssuerUnavailableError(`${this.url} could not be fetched`, this.#options.cooldownDuration, { cause: error });
        }
        this.#value = value;
        this.#fetchedAt = Date.now();
        this.#failedAt = Number.NEGATIVE_INFINITY;
        return value;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }
}

/** Turns JSON into a local key set; throws when it is not a JWK Set. */
function parseJwks(json: unknown): ReturnType<typeof createLocalJWKSet> {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (typeof json !== 'object' || json === null || !Array.isArray(keys) || !keys.every((key) => typeof key === 'object' && key !== null)) {
    throw new Error('the answer is not a JWK Set');
  }
  return createLocalJWKSet(json as JSONWebKeySet);
}

/**
 * A `JWTVerifyGetKey` over a remote JWKS: keys only ever come from that URL (never from a token's
 * header), an unknown `kid` refetches at most once per cooldown, and any failure to fetch is an
 * {@link IssuerUnavailableError}.
 */
export function remoteKeySet(url: URL, options: RemoteDocumentOptions): JWTVerifyGetKey {
  const document = new RemoteDocument(url, parseJwks, options);
  return async (header, token) => {
    const keys = await document.get();
    try {
      return await keys(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      const refreshed = await document.refresh();
      if (refreshed === undefined) throw error;
      return refreshed(header, token);
    }
  };
}
