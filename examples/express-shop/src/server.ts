import { readFileSync } from 'node:fs';
import { createShopApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const issuer = process.env.ISSUER ?? `http://localhost:${port}/`;
// Keys come from ANON_KEYS (the JWK Set's JSON) or ANON_KEYS_FILE; without them, development keys.
const keys = process.env.ANON_KEYS ?? (process.env.ANON_KEYS_FILE ? readFileSync(process.env.ANON_KEYS_FILE, 'utf8') : undefined);

const { app } = await createShopApp({
  issuer,
  ...(keys === undefined ? {} : { keys }),
  secureCookie: issuer.startsWith('https:'),
});

app.listen(port, () => {
  console.log(`express-shop: guest shop on http://localhost:${port}/`);
});
