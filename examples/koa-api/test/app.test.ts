import { shopApiCases } from '../../../test/support/shop-api-cases.js';
import { CATALOGUE, createApiApp, SHOP_API } from '../src/app.js';

shopApiCases('koa-api example', {
  audience: SHOP_API,
  catalogue: CATALOGUE,
  build: async (options) => (await createApiApp(options)).app.callback(),
});
