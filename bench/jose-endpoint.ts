/**
 * The hand-written jose issuance endpoint the issue compares `POST /anonymous/token` with: an
 * Express app with `express.json()` and one route that checks `client_id` and `audience`, opens
 * the `session_token` when there is one (decrypt or verify: `joseSessionOpener`), then signs the
 * access token and encrypts the session token with keys imported once (`joseIssuer`), and answers
 * with `res.json()`. What a careful developer writes by hand with the same library, the same claims
 * and the same framework; no store, no cookie, no rate limit.
 */
import express, { type Express } from 'express';
import type { JWK } from 'jose';
import { joseIssuer, joseSessionOpener, type JoseIssued } from './jose-issuer.js';
import { AUDIENCE, CLIENT_ID, TOKEN_PATH, type BenchAlgorithm, type SessionFormat } from './shared.js';

/** Builds the app (keys imported before it is returned). */
export async function joseEndpointApp(keySet: { keys: JWK[] }, algorithm: BenchAlgorithm, format: SessionFormat, issuer: string): Promise<Express> {
  const issue = await joseIssuer(keySet, algorithm, format, issuer);
  const open = await joseSessionOpener(keySet, algorithm, format, issuer);
  const app = express();
  app.disable('x-powered-by');
  app.post(TOKEN_PATH, express.json(), (req, res, next) => {
    const body = req.body as { client_id?: unknown; audience?: unknown; session_token?: unknown } | undefined;
    if (body?.client_id !== CLIENT_ID || body.audience !== AUDIENCE) {
      res.status(400).json({ error: 'invalid_request' });
      return;
    }
    const send = (issued: JoseIssued): void => {
      res.set('Cache-Control', 'no-store').json({
        access_token: issued.accessToken,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: issued.scope,
        session_token: issued.sessionToken,
      });
    };
    const token = body.session_token;
    if (typeof token !== 'string') {
      issue().then(send, next);
      return;
    }
    open(token).then(
      (session) => issue(session).then(send, next),
      () => {
        res.status(401).json({ error: 'invalid_session_token' });
      },
    );
  });
  return app;
}
