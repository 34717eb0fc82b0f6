import { Router, type NextFunction, type Request, type Response } from 'express';
import {
  createTokenEndpoints,
  ENDPOINT_PATHS,
  type AnonymousSessions,
  type HttpRequest,
  type HttpResponse,
  type TokenEndpointsOptions,
} from '@anonymous-sessions/core';
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
  const endpoints = createTokenEndpoints(anon, options);
  const router = Router();
  const route =
    (handler: (request: HttpRequest) => Promise<HttpResponse>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      handler(toHttpRequest(req)).then((response) => sendHttpResponse(res, response), next);
    };

  router.post(ENDPOINT_PATHS.token, route(endpoints.token));
  router.post(ENDPOINT_PATHS.logout, route(endpoints.logout));
  router.get(ENDPOINT_PATHS.session, route(endpoints.session));
  router.get(ENDPOINT_PATHS.jwks, route(endpoints.jwks));
  router.get(ENDPOINT_PATHS.authorizationServerMetadata, route(endpoints.discovery));
  router.get(ENDPOINT_PATHS.openidConfiguration, route(endpoints.discovery));
  for (const path of [ENDPOINT_PATHS.token, ENDPOINT_PATHS.logout, ENDPOINT_PATHS.session]) {
    router.options(path, route(endpoints.preflight));
  }
  return router;
}
