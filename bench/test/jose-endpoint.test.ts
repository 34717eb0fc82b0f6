/**
 * The hand-written jose endpoint the issuance scenarios are held to: it creates a session, continues
 * one (keeping its user, id and start), and refuses a session token it did not make — so the
 * continue references measure a real continue, not an error answer.
 */
import { decodeJwt } from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { generateKeySet } from '@anonymous-sessions/core';
import { joseEndpointApp } from '../jose-endpoint.js';
import { AUDIENCE, CLIENT_ID, TOKEN_PATH, type BenchAlgorithm, type SessionFormat } from '../shared.js';

const ISSUER = 'https://issuer.example';

describe.each<[BenchAlgorithm, SessionFormat]>([
  ['RS256', 'jwe'],
  ['EdDSA', 'jwe'],
  ['RS256', 'jwt'],
])('the hand-written jose endpoint, %s + %s session', (algorithm, format) => {
  it('continues a session it created, for the same user and session', async () => {
    const app = await joseEndpointApp(await generateKeySet({ algorithm }), algorithm, format, ISSUER);
    const created = await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE }).expect(200);
    const continued = await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: created.body.session_token }).expect(200);
    const [before, after] = [decodeJwt(created.body.access_token as string), decodeJwt(continued.body.access_token as string)];
    expect(after.sub).toBe(before.sub);
    expect(after.sid).toBe(before.sid);
    expect(after.jti).not.toBe(before.jti);
  });

  it('refuses a session token another key set made, or a tampered one', async () => {
    const app = await joseEndpointApp(await generateKeySet({ algorithm }), algorithm, format, ISSUER);
    const other = await joseEndpointApp(await generateKeySet({ algorithm }), algorithm, format, ISSUER);
    const foreign = await request(other).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE }).expect(200);
    const token = foreign.body.session_token as string;
    await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: token }).expect(401, { error: 'invalid_session_token' });
    const own = await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE }).expect(200);
    // One character in the middle changed (a middle character carries six whole bits).
    const ownToken = own.body.session_token as string;
    const middle = ownToken.lastIndexOf('.') - 8;
    const tampered = `${ownToken.slice(0, middle)}${ownToken[middle] === 'A' ? 'B' : 'A'}${ownToken.slice(middle + 1)}`;
    await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: tampered }).expect(401, { error: 'invalid_session_token' });
  });
});
