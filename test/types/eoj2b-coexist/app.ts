/**
 * An app using express-oauth2-jwt-bearer and @anonymous-sessions/express together, compiled with
 * `skipLibCheck: false` against the built declarations (see test/types/eoj2b-coexist.test.ts).
 */
import express from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createAnonymousSessions } from '@anonymous-sessions/core';
import { anonymousErrorHandler, getAuth, requireAnonymousOrUser, type RequestWithAuth } from '@anonymous-sessions/express';

export async function build(): Promise<express.Express> {
  const anon = await createAnonymousSessions({
    issuer: 'https://shop.example.com/',
    keys: 'development',
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: 'https://api.shop.example.com', allowAnonymousAccess: true }],
  });
  const app = express();
  // express-oauth2-jwt-bearer's routes: req.auth is its AuthResult.
  app.get('/users-only', auth({ issuerBaseURL: 'https://tenant.example.com/', audience: 'https://api.shop.example.com' }), requiredScopes('read:orders'), (req, res) => {
    const subject: string | undefined = req.auth?.payload.sub;
    const token: string | undefined = req.auth?.token;
    res.json({ subject, token: token !== undefined });
  });
  // Ours: req.auth carries the token, header and payload too; getAuth adds isAnonymous, typed.
  app.get('/products', requireAnonymousOrUser({ anonymous: anon, audience: 'https://api.shop.example.com' }), (req, res) => {
    const subject: string | undefined = req.auth?.payload.sub;
    const guest: boolean = getAuth(req)?.isAnonymous === true;
    res.json({ subject, guest });
  });
  app.get('/typed', requireAnonymousOrUser({ anonymous: anon, audience: 'https://api.shop.example.com' }), (req, res) => {
    const typed = req as RequestWithAuth;
    res.json({ guest: typed.auth.isAnonymous });
  });
  app.use(anonymousErrorHandler());
  return app;
}
