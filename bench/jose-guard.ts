/**
 * The hand-written jose guard the cache-off target is held against: an Express app with one
 * middleware that reads `Authorization: Bearer <token>`, verifies it with jose's `jwtVerify` under
 * the token server's public keys (imported once, looked up by `kid`), with the checks our guard
 * makes of an anonymous access token (issuer, audience, `RS256` only, `typ: at+jwt`, the claims it
 * requires), sets `req.auth` and calls the route. What a careful developer writes by hand with the
 * jose our core uses (jose 6, whose every signature check goes through WebCrypto): no cache, no
 * revocation, no user issuer, no RFC 6750 challenge.
 */
import express, { type Express } from 'express';
import { importJWK, jwtVerify, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';
import { AUDIENCE, GUARDED_PATH } from './shared.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const REQUIRED_CLAIMS = ['sub', 'exp', 'iat', 'jti', 'client_id', 'sid'];

/** Builds the app (public keys imported before it is returned). */
export async function joseGuardApp(keySet: { keys: JWK[] }, issuer: string): Promise<Express> {
  const keys = new Map<string, CryptoKey>();
  for (const { kty, n, e, kid, use } of keySet.keys) {
    if (kty === 'RSA' && use === 'sig' && kid !== undefined) keys.set(kid, (await importJWK({ kty, n, e }, 'RS256')) as CryptoKey);
  }
  const keyFor = (header: JWTHeaderParameters): CryptoKey => {
    const key = header.kid === undefined ? undefined : keys.get(header.kid);
    if (key === undefined) throw new Error('unknown kid');
    return key;
  };
  const options = { issuer, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt', requiredClaims: REQUIRED_CLAIMS };
  const app = express();
  app.disable('x-powered-by');
  app.get(
    GUARDED_PATH,
    (req, res, next) => {
      const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
      if (token === undefined) {
        res.status(401).json({ error: 'invalid_token' });
        return;
      }
      jwtVerify(token, keyFor, options).then(
        ({ payload, protectedHeader }) => {
          (req as { auth?: unknown }).auth = { token, header: protectedHeader, payload };
          next();
        },
        () => {
          res.status(401).json({ error: 'invalid_token' });
        },
      );
    },
    // The guard scenarios' route: it reads what the guard left on the request.
    (req, res) => {
      res.json({ guest: (req as { auth?: { payload: { sub?: unknown } } }).auth?.payload.sub !== undefined });
    },
  );
  return app;
}
