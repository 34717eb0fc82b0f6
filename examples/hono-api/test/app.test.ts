import { getRequestListener } from '@hono/node-server';
import { shopApiCases } from '../../../test/support/shop-api-cases.js';
import { CATALOGUE, createApiApp, SHOP_API } from '../src/app.js';

// The Hono app over HTTP through @hono/node-server, as src/server.ts serves it.
shopApiCases('hono-api example (the fetch binding on Hono)', {
  audience: SHOP_API,
  catalogue: CATALOGUE,
  build: async (options) => getRequestListener((await createApiApp(options)).app.fetch),
});
