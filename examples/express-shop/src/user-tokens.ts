import { SignJWT, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';

/**
 * The demo's stand-in for the host's own identity provider: it signs access tokens for signed-in
 * users with its own key and issuer, entirely separate from the anonymous issuer's keys.
 */
export class UserTokens {
  readonly issuer: string;
  readonly #privateKey: CryptoKey;
  readonly #publicKey: CryptoKey;

  private constructor(issuer: string, privateKey: CryptoKey, publicKey: CryptoKey) {
    this.issuer = issuer;
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
  }

  /** Generates the demo identity provider's key. */
  static async create(issuer: string): Promise<UserTokens> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return new UserTokens(issuer, privateKey, publicKey);
  }

  /** Issues a user access token for `audience`, with the transfer's custom claims. */
  issue(userId: string, audience: string, claims: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT({ ...claims, scope: 'read:products write:cart checkout' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(userId)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(this.#privateKey);
  }

  /** Verifies a user token (the guard's custom `verify`). */
  async verify(token: string, audience?: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.#publicKey, {
      issuer: this.issuer,
      algorithms: ['ES256'],
      typ: 'at+jwt',
      ...(audience === undefined ? {} : { audience }),
    });
    return payload;
  }
}
