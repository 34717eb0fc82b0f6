/**
 * The session token: identifies and persists an anonymous session and carries its metadata.
 * `jwe` (default): `dir` + `A256GCM`, so the client cannot read or change it. `jwt`: signed with the
 * access-token signing key, header `typ: "anon-session+jwt"`.
 *
 * @packageDocumentation
 */
import { EncryptJWT, SignJWT, errors, jwtDecrypt, jwtVerify, type JWTPayload } from 'jose';
import * as z from 'zod/mini';
import { InvalidSessionTokenError, SessionExpiredError } from '../errors/errors.js';
import type { KeyRing } from '../keys/keys.js';
import { decryptionKeyResolver, signatureKeyResolver } from '../keys/key-resolvers.js';
import { isJsonObject, type JsonObject } from '../metadata/metadata.js';

/** The JWT `typ` of a signed session token; never accepted as an access token. */
export const SESSION_TOKEN_TYPE = 'anon-session+jwt';

/**
 * The longest session token accepted anywhere (body, `Authorization` header, cookie), checked before
 * any decryption or signature work: 16 KiB.
 */
export const MAX_SESSION_TOKEN_LENGTH = 16_384;

/** `anon|` + 8–128 of `[A-Za-z0-9_-]`: every anonymous `user_id`. */
export const ANONYMOUS_USER_ID = /^anon\|[A-Za-z0-9_-]{8,128}$/;

/** An anonymous session, as the engine and the hooks see it. */
export interface AnonymousSession {
  /** `anon|…`: stable for the whole session. */
  user_id: string;
  /** `sess_…`: 128 random bits, stable for the whole session. */
  session_id: string;
  /** When the session began (ISO 8601). */
  created_at: string;
  /** When the session ends (ISO 8601), or `null` when sessions never expire. */
  expires_at: string | null;
  /** The application's metadata: cart, preferences, consents. */
  metadata: JsonObject;
}

/** The session token's claims. */
export interface SessionTokenPayload extends JWTPayload {
  iss: string;
  iat: number;
  exp?: number;
  user_id: string;
  session_id: string;
  created_at: string;
  metadata: JsonObject;
  /**
   * `metadataStorage: 'store'` only: the version of the store's metadata document that `metadata`
   * is a snapshot of (0 = none yet). Absent in tokens issued in `'token'` mode.
   */
  metadata_version?: number;
  /**
   * The store's epoch marker when the token was issued (absent when the store has no `epoch()`). A
   * token from another epoch was issued before the store lost its data (see `revocationLoss`).
   */
  store_epoch?: string;
}

const payloadSchema = z.object({
  iss: z.string(),
  iat: z.int(),
  exp: z.optional(z.int()),
  user_id: z.string().check(z.regex(ANONYMOUS_USER_ID)),
  session_id: z.string().check(z.regex(/^sess_[A-Za-z0-9_-]{16,64}$/)),
  created_at: z.iso.datetime({ offset: true }),
  metadata: z.custom<JsonObject>(isJsonObject),
  metadata_version: z.optional(z.int().check(z.nonnegative())),
  store_epoch: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
});

/** What the codec needs from the configuration. */
export interface SessionTokenSettings {
  issuer: string;
  format: 'jwe' | 'jwt';
  clockTolerance: number;
  /** Whether sessions expire (`sessionLifetime > 0`): then `exp` is required. */
  expires: boolean;
}

/** Encodes and decodes session tokens with one key ring. */
export interface SessionTokenCodec {
  /** Seals a session into a token. `exp` absent = never expires. */
  encode(claims: Omit<SessionTokenPayload, 'iss'>): Promise<string>;
  /**
   * Opens a token. Expired → {@link SessionExpiredError}; anything else wrong (tampered, other
   * issuer, other key, wrong type, malformed claims) → {@link InvalidSessionTokenError}, all alike.
   */
  decode(token: string): Promise<SessionTokenPayload>;
}

/** Builds the session-token codec. */
export function sessionTokenCodec(ring: KeyRing, settings: SessionTokenSettings): SessionTokenCodec {
  const requiredClaims = settings.expires ? ['iat', 'exp'] : ['iat'];
  const getSignatureKey = signatureKeyResolver(ring);
  const getDecryptionKey = decryptionKeyResolver(ring);

  const open = async (token: string): Promise<JWTPayload> => {
    if (settings.format === 'jwe') {
      const { payload } = await jwtDecrypt(token, getDecryptionKey, {
        issuer: settings.issuer,
        clockTolerance: settings.clockTolerance,
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        requiredClaims,
      });
      return payload;
    }
    const { payload } = await jwtVerify(token, getSignatureKey, {
      issuer: settings.issuer,
      clockTolerance: settings.clockTolerance,
      algorithms: [...ring.signingAlgorithms],
      typ: SESSION_TOKEN_TYPE,
      requiredClaims,
    });
    return payload;
  };

  return {
    async encode(claims) {
      const payload = { ...claims, iss: settings.issuer };
      if (settings.format === 'jwe') {
        const key = ring.encryptionKeys[0]!;
        return new EncryptJWT(payload)
          .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: key.kid })
          .encrypt(key.key);
      }
      const key = ring.signingKeys[0]!;
      return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: SESSION_TOKEN_TYPE }).sign(key.privateKey);
    },

    async decode(token) {
      if (token.length > MAX_SESSION_TOKEN_LENGTH) {
        throw new InvalidSessionTokenError({ cause: new Error(`session token longer than ${MAX_SESSION_TOKEN_LENGTH} characters`) });
      }
      let payload: JWTPayload;
      try {
        payload = await open(token);
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw new SessionExpiredError({ cause: error });
        throw new InvalidSessionTokenError({ cause: error });
      }
      const parsed = payloadSchema.safeParse(payload);
      if (!parsed.success) throw new InvalidSessionTokenError({ cause: parsed.error });
      return parsed.data as SessionTokenPayload;
    },
  };
}

/** When a session ends, in epoch seconds, or `null` when it never expires. */
export function sessionExpiresAt(session: Pick<AnonymousSession, 'expires_at'>): number | null {
  return session.expires_at === null ? null : Math.floor(Date.parse(session.expires_at) / 1000);
}

/** The public view of a decoded session token. */
export function toAnonymousSession(payload: SessionTokenPayload): AnonymousSession {
  return {
    user_id: payload.user_id,
    session_id: payload.session_id,
    created_at: payload.created_at,
    expires_at: payload.exp === undefined ? null : new Date(payload.exp * 1000).toISOString(),
    metadata: payload.metadata,
  };
}
