/**
 * `anonymousErrorHandler` renders only this suite's errors (issue 11, item 6): every
 * `AnonymousSessionError` — the guards', the cookie extractor's, the transfer's — becomes
 * `{ error, error_description }`; every other error (a host 404, a host crash, a host body parser's
 * 400, a failing user store) goes on untouched to the host's own error handler: Express's
 * `next(err)`, Koa's rethrow.
 */
import request from 'supertest';
import { expect, it } from 'vitest';
import { AnonymousSessionError, InvalidRequestError, isAnonymousSessionError } from '@anonymous-sessions/core';
import { AUDIENCE, expectError } from '../assertions.js';
import { BOOM, buildApp, type ContractAppOptions, type Framework, type HostErrorBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function errorHandlerCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions) => buildApp(framework, options);
  const HOST: HostErrorBody = { handled_by: 'host' };

  it('a host route’s 404 reaches the host’s handler with its status, not as invalid_request', async () => {
    const { app } = await quickStart();
    const res = await request(app).get('/missing');
    expect(res.status).toBe(404);
    expect(res.body).toEqual(HOST);
  });

  it('a host route’s crash reaches the host’s handler, and our logger never sees it', async () => {
    const { app, logger } = await quickStart();
    const res = await request(app).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body).toEqual(HOST);
    expect(logger.error.mock.calls.some((call) => String(call[1]).includes(BOOM))).toBe(false);
  });

  it('a host body parser’s 400 on a host route reaches the host’s handler', async () => {
    const { app } = await quickStart();
    const res = await request(app).post('/host-json').set('Content-Type', 'application/json').send('{"sku":');
    expect(res.status).toBe(400);
    expect(res.body).toEqual(HOST);
  });

  it('this suite’s errors are still rendered as { error, error_description }: guard, requireUser, extractor', async () => {
    const { app, anon } = await quickStart({ guard: { audience: AUDIENCE } });
    const missing = await request(app).get('/api');
    expectError(missing, 401, 'invalid_token');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expectError(await request(app).get('/user'), 401, 'invalid_token');
    const a = (await anon.issueToken({ client_id: 'shop-web' })).response.session_token;
    const b = (await anon.issueToken({ client_id: 'shop-web' })).response.session_token;
    expectError(await request(app).get(`/page?anonymous_session_token=${b}`).set('Cookie', `anon=${a}`), 400, 'invalid_request');
  });

  it('without a host handler, the framework’s own default answers what is not ours (not our JSON)', async () => {
    const { app } = await quickStart({ hostErrorHandler: false });
    const boom = await request(app).get('/boom');
    expect(boom.status).toBe(500);
    expect(boom.text).not.toContain('server_error');
    const missing = await request(app).get('/missing');
    expect(missing.status).toBe(404);
    expect(missing.text).not.toContain('invalid_request');
  });

  it('recognises this suite’s errors across two loaded copies of the package (ESM and CommonJS)', () => {
    const ours = new InvalidRequestError('x');
    expect(isAnonymousSessionError(ours)).toBe(true);
    // An error made by the other copy: not an instance of this copy's class, but branded.
    const foreign = Object.setPrototypeOf(
      Object.defineProperty(Object.assign(new Error('x'), { code: 'invalid_request', status: 400, headers: {} }), Symbol.for('anonymous-sessions.error'), { value: true }),
      Error.prototype,
    ) as unknown;
    expect(foreign instanceof AnonymousSessionError).toBe(false);
    expect(isAnonymousSessionError(foreign)).toBe(true);
    // An http-errors object that merely looks like one (status, expose, code) is not ours.
    expect(isAnonymousSessionError(Object.assign(new Error('Not Found'), { status: 404, expose: true, code: 'invalid_request' }))).toBe(false);
  });
}
