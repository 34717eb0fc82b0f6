/**
 * The login-stack pieces of the core (`login-stack.ts`), framework-free: the query-token rule
 * (Fetch Metadata), the same-origin `returnTo` without the token, the seed cookie's lifetime, the
 * callback's choice of session and cookies, the OAuth-library error mapping, and strict options.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AccessDeniedError,
  ConfigError,
  InvalidRequestError,
  loginCallbackError,
  mergeCart,
  type AnonymousSessions,
  type JsonObject,
  type TransferUser,
  type UsersAdapter,
} from '@anonymous-sessions/core';
import {
  acceptsQuerySessionToken,
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  createTransferHandler,
  createTransferRoute,
  createTransferStep,
  sameOriginReturnTo,
  stripQueryParameter,
} from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine, CLIENT_ID, T0 } from './fixtures.js';

let anon: AnonymousSessions;

beforeAll(async () => {
  ({ anon } = await buildEngine({ rateLimit: false }));
});

afterEach(() => {
  vi.useRealTimers();
});

async function guestToken(metadata: JsonObject = {}, engine: AnonymousSessions = anon): Promise<string> {
  return (await engine.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, metadata }, { ip: '203.0.113.9' })).response.session_token;
}

const cookieValue = (setCookies: string[], name: string): string | undefined => {
  const header = setCookies.find((value) => value.startsWith(`${name}=`));
  return header === undefined ? undefined : decodeURIComponent(header.slice(name.length + 1).split(';')[0]!);
};

function users(): UsersAdapter & { records: Map<string, TransferUser> } {
  const records = new Map<string, TransferUser>([['u1', { user_id: 'u1', app_metadata: {}, user_metadata: {} }]]);
  return {
    records,
    get: (userId) => structuredClone(records.get(userId)),
    update: (userId, changes) => {
      const user = records.get(userId)!;
      records.set(userId, { ...user, user_metadata: { ...user.user_metadata, ...changes.user_metadata } });
    },
  };
}

describe('acceptsQuerySessionToken', () => {
  it('only on a navigation the user or the same site started', () => {
    for (const site of ['none', 'same-origin', 'same-site']) expect(acceptsQuerySessionToken({ 'sec-fetch-site': site }), site).toBe(true);
    for (const site of ['cross-site', '', 'NONE', 'same-site, cross-site']) expect(acceptsQuerySessionToken({ 'sec-fetch-site': site }), site).toBe(false);
    expect(acceptsQuerySessionToken({})).toBe(false);
    expect(acceptsQuerySessionToken({ 'sec-fetch-site': ['cross-site', 'none'] })).toBe(false);
  });
});

describe('stripQueryParameter and sameOriginReturnTo', () => {
  it('removes the token parameter, keeps the rest of the path', () => {
    expect(stripQueryParameter('/cart?anonymous_session_token=abc&y=1#top', 'anonymous_session_token')).toBe('/cart?y=1#top');
    expect(stripQueryParameter('/cart?anonymous_session_token=a&anonymous_session_token=b', 'anonymous_session_token')).toBe('/cart');
    expect(stripQueryParameter('/cart?y=1', 'anonymous_session_token')).toBe('/cart?y=1');
    expect(stripQueryParameter('/cart?anonymous_session_token=a', false)).toBe('/cart?anonymous_session_token=a');
  });

  it('accepts paths and absolute URLs of the app only', () => {
    expect(sameOriginReturnTo('/orders?x=1', 'http://localhost:3000')).toBe('/orders?x=1');
    expect(sameOriginReturnTo('http://localhost:3000/orders?x=1#a', 'http://localhost:3000')).toBe('/orders?x=1#a');
    expect(sameOriginReturnTo('HTTP://LOCALHOST:3000/orders', 'http://localhost:3000')).toBe('/orders');
    for (const target of ['http://localhost:3001/x', 'https://localhost:3000/x', 'http://evil.example/', '//evil.example', '/\\evil', 'javascript:alert(1)', 42, undefined]) {
      expect(sameOriginReturnTo(target, 'http://localhost:3000'), String(target)).toBe('/');
    }
    expect(sameOriginReturnTo('http://localhost:3000//evil.example', 'http://localhost:3000')).toBe('/');
    expect(sameOriginReturnTo('http://localhost:3000/x', undefined)).toBe('/');
  });
});

describe('createLoginStart', () => {
  it('keeps a query token in its own cookie for no longer than the login, nor the session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const { anon: shortLived } = await buildEngine({ rateLimit: false, sessionLifetime: 120 });
    const token = await guestToken({}, shortLived);
    const start = createLoginStart(shortLived, { cookie: { secure: false } });
    const outcome = await start({ headers: { 'sec-fetch-site': 'none' }, query: { anonymous_session_token: token } });
    expect(outcome.source).toBe('query');
    const seed = outcome.setCookies.find((value) => value.startsWith('anon_login_seed='))!;
    expect(seed).toContain('Max-Age=120;');
    expect(seed).toMatch(/HttpOnly/);
    expect(outcome.setCookies.some((value) => value.startsWith('anon='))).toBe(false);

    const longLived = createLoginStart(anon);
    const long = await longLived({ headers: { 'sec-fetch-site': 'same-site' }, query: { anonymous_session_token: await guestToken() } });
    expect(long.setCookies.find((value) => value.startsWith('anon_login_seed='))).toMatch(/Max-Age=600;.*Secure/);
  });

  it("prefers an accepted query token to the cookie's session, and binds the cookie's when the query one is refused", async () => {
    const own = await guestToken();
    const other = await guestToken();
    const start = createLoginStart(anon);
    const ownId = (await anon.verifySessionToken(own)).session_id;
    const otherId = (await anon.verifySessionToken(other)).session_id;
    const accepted = await start({ headers: { cookie: `anon=${own}`, 'sec-fetch-site': 'same-origin' }, query: { anonymous_session_token: other } });
    expect(await anon.verifyLoginBinding(accepted.binding!)).toBe(otherId);
    const refused = await start({ headers: { cookie: `anon=${own}`, 'sec-fetch-site': 'cross-site' }, query: { anonymous_session_token: other } });
    expect(await anon.verifyLoginBinding(refused.binding!)).toBe(ownId);
    expect(refused.source).toBe('cookie');
    expect(refused.headers).toEqual({ 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' });
  });

  it("with the binding for the stack's state: no binding cookie, the binding in the outcome only", async () => {
    const token = await guestToken();
    const outcome = await createLoginStart(anon)({ headers: { cookie: `anon=${token}` }, bindingIn: 'state' });
    expect(outcome.binding).toBeDefined();
    expect(outcome.setCookies).toEqual([]);
  });
});

describe('createLoginFinish', () => {
  it('transfers the seed when there is one, clears it, and keeps the browser session cookie even when the seed session ends', async () => {
    const store = users();
    const own = await guestToken({ cart: [{ sku: 'own', qty: 1 }] });
    const seed = await guestToken({ cart: [{ sku: 'seed', qty: 1 }] });
    const start = await createLoginStart(anon)({ headers: { cookie: `anon=${own}`, 'sec-fetch-site': 'none' }, query: { anonymous_session_token: seed } });
    const binding = cookieValue(start.setCookies, 'anon_login')!;
    const finish = createLoginFinish(anon, { users: store, onPostLogin: mergeCart(), endAnonymousSession: true });
    const outcome = await finish({
      headers: { cookie: `anon=${own}; anon_login=${binding}; anon_login_seed=${seed}` },
      user: { userId: 'u1', isNewUser: false },
    });
    expect(outcome.transfer).toMatchObject({ transferred: true, ended_anonymous_session: true });
    expect(store.records.get('u1')?.user_metadata).toEqual({ cart: [{ sku: 'seed', qty: 1 }] });
    expect(outcome.setCookies.map((value) => value.split('=')[0]).sort()).toEqual(['anon_login', 'anon_login_seed']);
    await expect(anon.verifySessionToken(seed)).rejects.toMatchObject({ status: 401 });
    await expect(anon.verifySessionToken(own)).resolves.toBeDefined();
  });

  it('with an empty binding from a state that carried none, never falls back to a (planted) binding cookie', async () => {
    const planted = await guestToken({ cart: [{ sku: 'evil', qty: 1 }] });
    const plantedBinding = await anon.createLoginBinding((await anon.verifySessionToken(planted)).session_id);
    const finish = createLoginFinish(anon, { users: users(), onPostLogin: mergeCart() });
    const headers = { cookie: `anon=${planted}; anon_login=${plantedBinding}` };
    expect((await finish({ headers, user: { userId: 'u1', isNewUser: false }, loginBinding: '' })).transfer).toMatchObject({
      transferred: false,
      reason: 'not_bound',
    });
  });
});

describe('createTransferHandler', () => {
  interface CallbackRequest {
    user?: { userId: string; isNewUser: boolean };
  }

  it('transfers for whoever getUser names and clears the binding cookie; nobody: undefined, nothing set', async () => {
    const store = users();
    const token = await guestToken({ cart: [{ sku: 'kept', qty: 2 }] });
    const binding = await anon.createLoginBinding((await anon.verifySessionToken(token)).session_id);
    const handler = createTransferHandler<CallbackRequest>(anon, { users: store, onPostLogin: mergeCart(), getUser: (request) => request.user });
    const headers = { cookie: `anon=${token}; anon_login=${binding}` };
    expect(await handler({}, { headers })).toBeUndefined();
    const outcome = await handler({ user: { userId: 'u1', isNewUser: false } }, { headers });
    expect(outcome?.result).toMatchObject({ transferred: true });
    expect(store.records.get('u1')?.user_metadata).toEqual({ cart: [{ sku: 'kept', qty: 2 }] });
    expect(outcome?.setCookies.map((value) => value.split('=')[0])).toEqual(['anon_login']);
  });

  it('keeps the old names one release: createTransferRoute is the handler, createTransferStep still transfers', async () => {
    expect(createTransferRoute).toBe(createTransferHandler);
    const token = await guestToken({ cart: [{ sku: 'step', qty: 1 }] });
    const binding = await anon.createLoginBinding((await anon.verifySessionToken(token)).session_id);
    const step = createTransferStep(anon, { users: users(), onPostLogin: mergeCart() });
    const outcome = await step({ headers: { cookie: `anon=${token}; anon_login=${binding}` }, user: { userId: 'u1', isNewUser: false } });
    expect(outcome.result).toMatchObject({ transferred: true });
  });
});

describe('loginCallbackError', () => {
  it('maps the OAuth library refusals to 400/403 and leaves anything else alone', () => {
    const denied = loginCallbackError(Object.assign(new Error('authorization response from the server is an error'), { code: 'OAUTH_AUTHORIZATION_RESPONSE_ERROR', error: 'access_denied' }));
    expect(denied).toBeInstanceOf(AccessDeniedError);
    const state = loginCallbackError(Object.assign(new Error('invalid response encountered'), { code: 'OAUTH_INVALID_RESPONSE' }));
    expect(state).toBeInstanceOf(InvalidRequestError);
    expect((state as InvalidRequestError).description).not.toMatch(/state|response/);
    const grant = loginCallbackError(Object.assign(new Error('server responded with an error'), { code: 'OAUTH_RESPONSE_BODY_ERROR', error: 'invalid_grant' }));
    expect(grant).toMatchObject({ status: 400, code: 'invalid_request' });
    const network = new TypeError('fetch failed');
    expect(loginCallbackError(network)).toBe(network);
    expect(loginCallbackError(undefined)).toBeUndefined();
  });

  it("maps express-openid-connect's http-errors 400 wrapping of those refusals, and no other 4xx or 5xx", () => {
    // express-openid-connect: createError(400, error.message, { error: error.error || error.code, … })
    const wrap = (message: string, error: string) => Object.assign(new Error(message), { status: 400, statusCode: 400, expose: true, error, error_description: message });
    expect(loginCallbackError(wrap('access denied', 'access_denied'))).toBeInstanceOf(AccessDeniedError);
    const state = loginCallbackError(wrap('state mismatch, expected abc, got: xyz', 'OAUTH_INVALID_RESPONSE'));
    expect(state).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((state as InvalidRequestError).description).not.toMatch(/abc|xyz/);
    const notFound = Object.assign(new Error('Not Found'), { status: 404, error: 'not_found' });
    expect(loginCallbackError(notFound)).toBe(notFound);
    const bare400 = Object.assign(new Error('Bad Request'), { status: 400 });
    expect(loginCallbackError(bare400)).toBe(bare400);
    const upstream = Object.assign(new Error('Unexpected issued_token_type'), { status: 500, error: 'invalid_token_response' });
    expect(loginCallbackError(upstream)).toBe(upstream);
  });
});

describe('assertLoginStackOptions', () => {
  it('names every unknown or ill-typed option at once', () => {
    let thrown: unknown;
    try {
      assertLoginStackOptions({ users: { get: () => undefined }, onPostlogin: () => undefined, onPreRegistration: 'x', queryParam: '' }, ['getUser']);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).issues.map((issue) => issue.path).sort()).toEqual(['getUser', 'onPostlogin', 'onPreRegistration', 'queryParam', 'users']);
  });

  it('checks the cookie options through the session cookie', () => {
    expect(() => assertLoginStackOptions({ users: users(), cookie: { sameSite: 'none', secure: false } })).toThrow(ConfigError);
    expect(() => assertLoginStackOptions({ users: users(), returnToCookieName: 'a;b' })).toThrow(/name/);
    expect(() => assertLoginStackOptions({ users: users(), queryParam: false, cookie: { secure: false } })).not.toThrow();
  });
});
