/**
 * The wire types the client reads and writes: JSON metadata, the session as
 * `GET /anonymous/session` returns it, and the token response of `POST /anonymous/token`.
 * Declared here (not imported from the core) so the browser build carries no server code.
 *
 * @packageDocumentation
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object: session metadata, or a JSON Merge Patch (RFC 7396) onto it. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The anonymous session, as `GET /anonymous/session` returns it. */
export interface AnonymousSession {
  /** `anon|` + a UUID (or the id chosen at creation); stays the same for the session's life. */
  user_id: string;
  /** `sess_` + 128 random bits; what logout revokes. */
  session_id: string;
  /** ISO 8601 instant the session began. */
  created_at: string;
  /** ISO 8601 instant the session ends, or `null` when it never expires. */
  expires_at: string | null;
  /** The application's metadata (cart, preferences, consents). */
  metadata: JsonObject;
}

/** The body of a successful `POST /anonymous/token`. */
export interface TokenResponse {
  /** The new session token (rotated on every call). */
  session_token: string;
  /** The access token for the requested API. */
  access_token: string;
  /** Always `Bearer`. */
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Space-separated granted scopes. */
  scope: string;
}
