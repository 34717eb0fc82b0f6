/**
 * An app on Hono and on plain route handlers with @anonymous-sessions/fetch, compiled with
 * `skipLibCheck: false` against the built declarations (see test/types/declarations.test.ts): the
 * guard's result and `c.get('auth')` typed, refusals typed with their response.
 */
import { Hono } from 'hono';
import { createAnonymousSessions } from '@anonymous-sessions/core';
import { anonymousErrorResponse, anonymousTokenHandler, requireAnonymousOrUser, requireUser, type AnonymousErrorWithResponse } from '@anonymous-sessions/fetch';
import * as hono from '@anonymous-sessions/fetch/hono';

export async function build(): Promise<{ app: Hono; route: (request: Request) => Promise<Response> }> {
  const anon = await createAnonymousSessions({
    issuer: 'https://shop.example.com/',
    keys: 'development',
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: 'https://api.shop.example.com', allowAnonymousAccess: true }],
  });
  const app = new Hono();
  app.onError(hono.anonymousErrorHandler());
  app.use(hono.anonymousTokenRouter(anon));
  app.get('/products', hono.requireAnonymousOrUser({ anonymous: anon, audience: 'https://api.shop.example.com' }), (c) => {
    const subject: string | undefined = c.get('auth')?.payload.sub;
    const guest: boolean | undefined = c.get('auth')?.isAnonymous;
    // @ts-expect-error the variables are typed: auth is not a string
    const wrong: string = c.get('auth');
    return c.json({ subject, guest, wrong, same: hono.isAnonymous(c) });
  });

  const tokens = anonymousTokenHandler(anon);
  const guard = requireAnonymousOrUser({ anonymous: anon, audience: 'https://api.shop.example.com' });
  const route = async (request: Request): Promise<Response> => {
    try {
      const answered: Response | undefined = await tokens(request);
      if (answered) return answered;
      const user = requireUser()(await guard(request));
      return Response.json({ sub: user.payload.sub });
    } catch (error) {
      const refused: Response | undefined = anonymousErrorResponse(error);
      if (refused) return refused;
      return (error as AnonymousErrorWithResponse).getResponse();
    }
  };
  // @ts-expect-error the handler takes a Request, not a URL string
  void tokens('https://shop.example.com/anonymous/token');
  return { app, route };
}
