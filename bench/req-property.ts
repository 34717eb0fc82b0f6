/**
 * What one property added to an Express 5 request costs, and why (the evidence behind the honest
 * threshold of "Express guard ÷ one no-op middleware" in `harness/targets.ts`).
 *
 * Express 5 gives every request its app's prototype (`Object.setPrototypeOf(req, app.request)` in
 * `app.handle`). V8 then gives each property added to that request a map of its own instead of
 * following a shared transition, so adding `req.auth` allocates a new map and copies the
 * request's ~30 property descriptors: microseconds, where the same add on an `IncomingMessage`
 * whose prototype was left alone takes tens of nanoseconds. Every guard that leaves its result on
 * `req` (ours, `express-oauth2-jwt-bearer`'s `req.auth`, `express-jwt`'s `req.auth`) pays it; a
 * middleware that only calls `next()` does not.
 *
 * `node --import tsx bench/req-property.ts` prints ns per add both ways (requests made in advance,
 * so only the add is timed), median of 5 runs of 100,000 requests.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';

const COUNT = 100_000;
const RUNS = 5;
const socket = new Socket();
const result = Object.freeze({ token: '', header: Object.freeze({}), payload: Object.freeze({}), isAnonymous: true });
const appRequest = (express() as unknown as { request: object }).request;

/** Requests as Express 5 hands them to a middleware (prototype swapped, its own properties set), or left alone. */
function requests(swapped: boolean): IncomingMessage[] {
  return Array.from({ length: COUNT }, () => {
    const req = new IncomingMessage(socket);
    if (swapped) Object.setPrototypeOf(req, appRequest);
    Object.assign(req, { baseUrl: '', originalUrl: '/api/products', params: {}, next: undefined, res: undefined });
    return req;
  });
}

/** ns per `req.auth = …` over fresh requests; the loop without the add is subtracted. */
function nsPerAdd(swapped: boolean): number {
  const timed = (add: boolean): number => {
    const batch = requests(swapped);
    const started = process.hrtime.bigint();
    let seen = 0;
    for (const req of batch) {
      if (add) (req as IncomingMessage & { auth?: unknown }).auth = result;
      else if (req.method === 'never') seen += 1;
    }
    return Number(process.hrtime.bigint() - started) / COUNT + seen;
  };
  return timed(true) - timed(false);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
nsPerAdd(true); // warm-up
nsPerAdd(false);
const swapped = median(Array.from({ length: RUNS }, () => nsPerAdd(true)));
const plain = median(Array.from({ length: RUNS }, () => nsPerAdd(false)));
console.log(`req.auth = … on an Express 5 request (prototype swapped): ${swapped.toFixed(0)} ns per add`);
console.log(`req.auth = … on an IncomingMessage left alone:           ${plain.toFixed(0)} ns per add`);
