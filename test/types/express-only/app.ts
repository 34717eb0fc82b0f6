/**
 * An app using @anonymous-sessions/express alone, compiled with `skipLibCheck: false` against the
 * built declarations (see test/types/declarations.test.ts): `req.auth` as the README uses it.
 */
import express from 'express';
import { createAnonymousSessions } from '@anonymous-sessions/core';
import { getAuth, requireAnonymousOrUser } from '@anonymous-sessions/express';

export async function build(): Promise<express.Express> {
  const anon = await createAnonymousSessions({
    issuer: 'https://shop.example.com/',
    keys: 'development',
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: 'https://api.shop.example.com', allowAnonymousAccess: true }],
  });
  const app = express();
  app.get('/products', requireAnonymousOrUser({ anonymous: anon, audience: 'https://api.shop.example.com' }), (req, res) => {
    const subject: string | undefined = req.auth?.payload.sub;
    const kid: string | undefined = req.auth?.header.kid;
    const typed: boolean | undefined = getAuth(req)?.isAnonymous;
    res.json({ guest: req.auth!.isAnonymous, subject, kid, typed });
  });
  return app;
}
