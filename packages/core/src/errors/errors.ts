/**
 * The one error hierarchy of anonymous-sessions.
 *
 * Every runtime failure is an {@link AnonymousSessionError} with a stable OAuth `code`, an HTTP
 * `status` (also as `statusCode`), a client-safe `description`, optional response `headers`, and the
 * internal reason as `cause`. Express's finalhandler and Koa's `ctx.onerror` both read `status`,
 * `expose` and `headers`, so these errors render correctly with no glue.
 *
 * Configuration problems are a different thing: {@link ConfigError} is thrown once, at start-up.
 *
 * @packageDocumentation
 */

/**
 * The error codes of client errors (4xx), the one list: the {@link AnonymousSessionErrorCode} union
 * is derived from it, and a foreign 4xx error (a body parser's, a host's `http-errors`) keeps its
 * `code` only when it is one of these.
 */
export const CLIENT_ERROR_CODES = Object.freeze([
  'invalid_request',
  'invalid_target',
  'invalid_client',
  'unauthorized_client',
  'access_denied',
  'invalid_scope',
  'session_expired',
  'invalid_session_token',
  'invalid_metadata',
  'metadata_too_large',
  'too_many_requests',
  'invalid_token',
  'insufficient_scope',
  'insufficient_user_authentication',
] as const);

/** The error codes of server errors (5xx). */
export const SERVER_ERROR_CODES = Object.freeze(['temporarily_unavailable', 'server_error'] as const);

/** Every error code an anonymous-sessions endpoint or guard can answer with. */
export type AnonymousSessionErrorCode = (typeof CLIENT_ERROR_CODES)[number] | (typeof SERVER_ERROR_CODES)[number];

/** Options shared by every {@link AnonymousSessionError} constructor. */
export interface AnonymousSessionErrorOptions {
  /** The internal reason; never shown to the client. */
  cause?: unknown;
  /** Extra response headers, e.g. `Retry-After` or `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/** The body every error response carries: `{ error, error_description }`. */
export interface ErrorResponseBody {
  /** The stable OAuth error code. */
  error: AnonymousSessionErrorCode;
  /** A short, client-safe description. */
  error_description: string;
}

/**
 * Marks every {@link AnonymousSessionError}, so {@link isAnonymousSessionError} recognises one even
 * when two copies of this package are loaded (an ESM and a CommonJS build side by side).
 */
const BRAND = Symbol.for('anonymous-sessions.error');

/** Base class of every runtime error. Switch on `code`. */
export class AnonymousSessionError extends Error {
  /** The stable OAuth error code. */
  readonly code: AnonymousSessionErrorCode;
  /** HTTP status the error maps to. */
  readonly status: number;
  /** Client-safe description (the message). */
  readonly description: string;
  /** Response headers that belong to this error. */
  readonly headers: Record<string, string>;
  /** Whether the message may be shown to the client (Koa's convention). Always true: it is safe. */
  readonly expose: boolean = true;

  /**
   * @param code - OAuth error code.
   * @param status - HTTP status.
   * @param description - client-safe description.
   * @param options - internal cause and extra headers.
   */
  constructor(
    code: AnonymousSessionErrorCode,
    status: number,
    description: string,
    options: AnonymousSessionErrorOptions = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.description = description;
    this.headers = { ...options.headers };
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Same as `status`; Express's finalhandler reads either. */
  get statusCode(): number {
    return this.status;
  }

  /** The JSON body of the error response. */
  toJSON(): ErrorResponseBody {
    return { error: this.code, error_description: this.description };
  }
}

/** 400 `invalid_request`: malformed body or JSON, a missing or ill-typed field. */
export class InvalidRequestError extends AnonymousSessionError {
  declare readonly code: 'invalid_request';
  /** @param description - what is wrong with the request. @param options - cause and headers. */
  constructor(description = 'The request is malformed.', options?: AnonymousSessionErrorOptions) {
    super('invalid_request', 400, description, options);
  }
}

/** 413 `invalid_request`: the request body is larger than the configured cap. */
export class RequestTooLargeError extends AnonymousSessionError {
  declare readonly code: 'invalid_request';
  /** @param limit - the cap in bytes. */
  constructor(limit: number) {
    super('invalid_request', 413, `The request body is larger than ${limit} bytes.`);
  }
}

/** 400 `invalid_target`: unknown `audience` (RFC 8707). */
export class InvalidTargetError extends AnonymousSessionError {
  declare readonly code: 'invalid_target';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'The requested audience is unknown.', options?: AnonymousSessionErrorOptions) {
    super('invalid_target', 400, description, options);
  }
}

/** 401 `invalid_client`: unknown `client_id`. */
export class InvalidClientError extends AnonymousSessionError {
  declare readonly code: 'invalid_client';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'Unknown client.', options?: AnonymousSessionErrorOptions) {
    super('invalid_client', 401, description, options);
  }
}

/** 403 `unauthorized_client`: the client may not create anonymous sessions. */
export class UnauthorizedClientError extends AnonymousSessionError {
  declare readonly code: 'unauthorized_client';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(
    description = 'This client may not create anonymous sessions.',
    options?: AnonymousSessionErrorOptions,
  ) {
    super('unauthorized_client', 403, description, options);
  }
}

/** 403 `access_denied`: the API does not allow anonymous access, or a cross-site request was refused. */
export class AccessDeniedError extends AnonymousSessionError {
  declare readonly code: 'access_denied';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(
    description = 'The requested API does not allow anonymous access.',
    options?: AnonymousSessionErrorOptions,
  ) {
    super('access_denied', 403, description, options);
  }
}

/** 400 `invalid_scope`: a scope outside the API's anonymous scopes. */
export class InvalidScopeError extends AnonymousSessionError {
  declare readonly code: 'invalid_scope';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'The requested scope is not allowed.', options?: AnonymousSessionErrorOptions) {
    super('invalid_scope', 400, description, options);
  }
}

/** 401 `session_expired`: the session token has expired; the client starts a new session. */
export class SessionExpiredError extends AnonymousSessionError {
  declare readonly code: 'session_expired';
  /** @param options - cause and headers. */
  constructor(options?: AnonymousSessionErrorOptions) {
    super('session_expired', 401, 'The anonymous session has expired.', options);
  }
}

/**
 * 401 `invalid_session_token`: bad signature, tampered, other issuer, wrong type, or ended by logout.
 * The description is deliberately the same for every cause.
 */
export class InvalidSessionTokenError extends AnonymousSessionError {
  declare readonly code: 'invalid_session_token';
  /** @param options - cause (internal) and headers. */
  constructor(options?: AnonymousSessionErrorOptions) {
    super('invalid_session_token', 401, 'The session token is invalid.', options);
  }
}

/** 400 `invalid_metadata`: not an object, forbidden key, too deep, or fails the host schema. */
export class InvalidMetadataError extends AnonymousSessionError {
  declare readonly code: 'invalid_metadata';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'The metadata is invalid.', options?: AnonymousSessionErrorOptions) {
    super('invalid_metadata', 400, description, options);
  }
}

/** 413 `metadata_too_large`: merged metadata, or the session cookie, is over its limit. */
export class MetadataTooLargeError extends AnonymousSessionError {
  declare readonly code: 'metadata_too_large';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'The session metadata is too large.', options?: AnonymousSessionErrorOptions) {
    super('metadata_too_large', 413, description, options);
  }
}

/** 429 `too_many_requests`: over a rate limit (new sessions, or continues of one session); `Retry-After` is set. */
export class TooManyRequestsError extends AnonymousSessionError {
  declare readonly code: 'too_many_requests';
  /**
   * @param retryAfterSeconds - seconds until the window resets.
   * @param description - client-safe description of the limit that was hit.
   */
  constructor(retryAfterSeconds: number, description = 'Too many new sessions from this address; try again later.') {
    super('too_many_requests', 429, description, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    });
  }
}

/** 503 `temporarily_unavailable`: the store cannot be reached; the request fails closed. */
export class TemporarilyUnavailableError extends AnonymousSessionError {
  declare readonly code: 'temporarily_unavailable';
  /** @param options - the store failure as cause. */
  constructor(options?: AnonymousSessionErrorOptions) {
    super('temporarily_unavailable', 503, 'The session service is temporarily unavailable.', {
      ...options,
      headers: { 'Retry-After': '1', ...options?.headers },
    });
  }
}

/** 500 `server_error`: anything unexpected. Logged server-side; the client sees no detail. */
export class ServerError extends AnonymousSessionError {
  declare readonly code: 'server_error';
  /** @param options - the unexpected error as cause. */
  constructor(options?: AnonymousSessionErrorOptions) {
    super('server_error', 500, 'An unexpected error occurred.', options);
  }
}

/** 401 `invalid_token`: a bad or expired access token (RFC 6750). */
export class InvalidTokenError extends AnonymousSessionError {
  declare readonly code: 'invalid_token';
  /** @param description - client-safe description. @param options - cause and headers. */
  constructor(description = 'The access token is invalid.', options?: AnonymousSessionErrorOptions) {
    super('invalid_token', 401, description, options);
  }

  /**
   * The RFC 6750 §3.1 refusal of a bearer token, with its own challenge:
   * `Bearer realm="…", error="invalid_token", error_description="…"`.
   */
  static forBearer(realm: string, description: string, cause?: unknown): InvalidTokenError {
    return new InvalidTokenError(description, { cause, headers: bearerChallenge(realm, { error: 'invalid_token', error_description: description }) });
  }

  /**
   * A request without a bearer token (RFC 6750 §3.1): the bare challenge `Bearer realm="…"`, no
   * error attribute, as the RFC asks when the request carries no authentication at all.
   */
  static missing(realm: string, cause?: unknown): InvalidTokenError {
    return new InvalidTokenError('An access token is required.', { cause, headers: bearerChallenge(realm) });
  }
}

/** One problem found in the configuration. */
export interface ConfigIssue {
  /** Dotted path of the bad field, e.g. `resourceServers[0].anonymousScopes`. */
  path: string;
  /** What is wrong with it. */
  message: string;
}

/**
 * Thrown by `createAnonymousSessions` when the configuration is invalid. Lists every bad field at
 * once. Not an {@link AnonymousSessionError}: it happens at start-up, never in a request.
 */
export class ConfigError extends Error {
  /** Every problem found, in order. */
  readonly issues: readonly ConfigIssue[];

  /** @param issues - every problem found. */
  constructor(issues: readonly ConfigIssue[]) {
    super(
      `Invalid anonymous-sessions configuration:\n${issues
        .map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Whether `error` is one of this suite's errors (an {@link AnonymousSessionError}: the endpoints',
 * the guards', the cookie extractor's, the transfer's), also across two loaded copies of the
 * package. The bindings' `anonymousErrorHandler` renders these and passes every other error on.
 */
export function isAnonymousSessionError(error: unknown): error is AnonymousSessionError {
  return error instanceof AnonymousSessionError || (typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true);
}

/**
 * Turns anything thrown into an {@link AnonymousSessionError}: known errors pass through, the rest
 * become a {@link ServerError} carrying the original as `cause`.
 */
export function toAnonymousSessionError(error: unknown): AnonymousSessionError {
  if (error instanceof AnonymousSessionError) return error;
  // A client error from elsewhere in the stack (a body parser, another OAuth library) keeps its
  // status and headers; its message is shown only if it says it is safe to (`expose`).
  const httpError = error as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown; headers?: unknown; message?: unknown };
  const status = Number(httpError?.status ?? httpError?.statusCode);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    const code = KNOWN_CODES.has(httpError.code as AnonymousSessionErrorCode)
      ? (httpError.code as AnonymousSessionErrorCode)
      : 'invalid_request';
    const headers =
      typeof httpError.headers === 'object' && httpError.headers !== null
        ? Object.fromEntries(Object.entries(httpError.headers).filter(([, value]) => typeof value === 'string'))
        : {};
    // Body-parser errors (`type: 'entity.parse.failed'`, …) may quote the body: never echo them.
    const fromBodyParser = typeof (error as { type?: unknown }).type === 'string';
    const description =
      httpError.expose === true && typeof httpError.message === 'string' && !fromBodyParser
        ? httpError.message
        : status === 413
          ? 'The request body is too large.'
          : 'The request is invalid.';
    return new AnonymousSessionError(code, status, description, { cause: error, headers });
  }
  return new ServerError({ cause: error });
}

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(CLIENT_ERROR_CODES);

/**
 * The `realm` of a bearer guard's challenges when its options name none; the bearer errors and the
 * claim checks default to it, so a binding need not leave it on a request.
 */
export const DEFAULT_REALM = 'api';

/** 400 `invalid_request` from a bearer guard (RFC 6750 §3.1): e.g. a token sent in two places. */
export class InvalidBearerRequestError extends AnonymousSessionError {
  declare readonly code: 'invalid_request';
  /**
   * @param description - what is wrong.
   * @param realm - the realm of the challenge it builds (`Bearer realm, error="invalid_request"`);
   *   a ready challenge (the headers) is still accepted.
   */
  constructor(description: string, realm: string | Record<string, string> = DEFAULT_REALM) {
    super('invalid_request', 400, description, {
      headers: typeof realm === 'string' ? bearerChallenge(realm, { error: 'invalid_request', error_description: description }) : realm,
    });
  }
}

/** 403 `insufficient_scope` (RFC 6750 §3.1): the token lacks a required scope. */
export class InsufficientScopeError extends AnonymousSessionError {
  declare readonly code: 'insufficient_scope';
  /**
   * @param description - which scopes are missing.
   * @param scopes - the scopes the route requires (the challenge's `scope`); a ready challenge (the
   *   headers) is still accepted.
   * @param realm - the realm of the challenge. Default `api`.
   */
  constructor(description: string, scopes: readonly string[] | Record<string, string>, realm = DEFAULT_REALM) {
    super('insufficient_scope', 403, description, {
      headers: Array.isArray(scopes)
        ? bearerChallenge(realm, { error: 'insufficient_scope', error_description: description, scope: scopes.join(' ') })
        : (scopes as Record<string, string>),
    });
  }
}

/** 403 `insufficient_user_authentication` (RFC 9470): a guest reached a route that needs a real user. */
export class InsufficientUserAuthenticationError extends AnonymousSessionError {
  declare readonly code: 'insufficient_user_authentication';
  /**
   * @param realm - the realm of the challenge it builds; a ready challenge (the headers) is still
   *   accepted.
   */
  constructor(realm: string | Record<string, string> = DEFAULT_REALM) {
    super('insufficient_user_authentication', 403, 'A signed-in user is required.', {
      headers:
        typeof realm === 'string'
          ? bearerChallenge(realm, { error: 'insufficient_user_authentication', error_description: 'A signed-in user is required.' })
          : realm,
    });
  }
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, '')}"`;

/**
 * Builds a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3). Each bearer error above builds
 * its own; this is exported for a binding's or host's own refusals.
 */
export function bearerChallenge(realm: string, parameters: Record<string, string | undefined> = {}): Record<string, string> {
  const parts = [`realm=${quote(realm)}`];
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) parts.push(`${name}=${quote(value)}`);
  return { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` };
}

/**
 * Every error class core throws in a request, discriminated by `code`: after
 * `if (isKnownError(error))`, a `switch (error.code)` narrows to the class.
 */
export type KnownAnonymousSessionError =
  | InvalidRequestError
  | RequestTooLargeError
  | InvalidTargetError
  | InvalidClientError
  | UnauthorizedClientError
  | AccessDeniedError
  | InvalidScopeError
  | SessionExpiredError
  | InvalidSessionTokenError
  | InvalidMetadataError
  | MetadataTooLargeError
  | TooManyRequestsError
  | TemporarilyUnavailableError
  | ServerError
  | InvalidTokenError
  | InvalidBearerRequestError
  | InsufficientScopeError
  | InsufficientUserAuthenticationError;

/** Whether `error` is one of core's request errors ({@link KnownAnonymousSessionError}). */
export function isKnownError(error: unknown): error is KnownAnonymousSessionError {
  return error instanceof AnonymousSessionError;
}
