import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { createApiApp } from './app.js';

const port = Number(process.env.PORT ?? 3002);
const issuer = process.env.ISSUER ?? `http://localhost:${port}/`;

// Keys come from ANON_KEYS (the JWK Set's JSON); without them, development keys.
const { app } = await createApiApp({
  issuer,
  ...(process.env.ANON_KEYS === undefined ? {} : { keys: process.env.ANON_KEYS }),
  secureCookie: issuer.startsWith('https:'),
  clientAddress: (c) => getConnInfo(c).remote.address,
});

serve({ fetch: app.fetch, port }, () => {
  console.log(`hono-api: the shop API on http://localhost:${port}/ (POST /anonymous/token, GET /api/products)`);
});
