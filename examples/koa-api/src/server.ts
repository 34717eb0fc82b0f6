import { createApiApp } from './app.js';

const port = Number(process.env.PORT ?? 3001);
const issuer = process.env.ISSUER ?? `http://localhost:${port}/`;

// Keys come from ANON_KEYS (the JWK Set's JSON); without them, development keys.
const { app } = await createApiApp({
  issuer,
  ...(process.env.ANON_KEYS === undefined ? {} : { keys: process.env.ANON_KEYS }),
  secureCookie: issuer.startsWith('https:'),
});

app.listen(port, () => {
  console.log(`koa-api: the shop API on http://localhost:${port}/ (POST /anonymous/token, GET /api/products)`);
});
