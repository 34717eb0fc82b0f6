import { Router, type NextFunction, type Request, type Response } from 'express';
import {
  createEndpoints,
  matchEndpoint,
  type AnonymousSessions,
  type TokenEndpointsOptions,
} from '@anonymous-sessions/core/http';
import { sendHttpResponse, toHttpRequest } from './http.js';

/** Options of {@link anonymousTokenRouter}: the session cookie, the body cap, JWKS caching. */
export type AnonymousTokenRouterOptions = TokenEndpointsOptions;

/**
 * An Express router serving the anonymous-session endpoints: `POST /anonymous/token`,
 * `POST /anonymous/logout`, `GET /anonymous/session`, `GET /.well-known/jwks.json` and both
 * discovery documents. Mount it anywhere (`app.use(router)` or `app.use('/auth', router)`); no
 * body parser is needed, and one the host already installed is respected.
 *
 * @param anon - the engine from `createAnonymousSessions`.
 * @param options - cookie options (`{ secure: false }` for local http), body cap, JWKS max-age.
 * @throws ConfigError for bad options, at start-up.
 */
export function anonymousTokenRouter(anon: AnonymousSessions, options: AnonymousTokenRouterOptions = {}): Router {
  const endpoints = createEndpoints(anon, options);
  const router = Router();
  router.use((req: Request, res: Response, next: NextFunction): void => {
    const endpoint = matchEndpoint(req.method, req.path);
    if (endpoint === undefined) {
      next();
      return;
    }
    endpoints[endpoint](toHttpRequest(req)).then((response) => sendHttpResponse(res, response), next);
  });
  return router;
}
