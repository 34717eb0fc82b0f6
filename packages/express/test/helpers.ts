/**
 * Fixtures for the Express-only tests (and Express 4's): the README quick-start app on Express.
 * The framework-free assertions live with the contract suite and are re-exported here.
 */
import express, { type Express } from 'express';
import { createAnonymousSessions, type AnonymousSessions, type AnonymousSessionsOptions } from '@anonymous-sessions/core';
import {
  anonymousErrorHandler,
  anonymousTokenRouter,
  type AnonymousTokenRouterOptions,
} from '@anonymous-sessions/express';
import { quickStartEngineOptions, silentLogger, type SilentLogger } from '../../../test/contract/assertions.js';

export * from '../../../test/contract/assertions.js';

/** What {@link quickStart} can change. */
export interface QuickStartOptions {
  /** Engine options laid over the quick start's. */
  engine?: Partial<AnonymousSessionsOptions>;
  /** Router options; default `{ cookie: { secure: false } }` as in the quick start. */
  router?: AnonymousTokenRouterOptions;
  /** Path the router is mounted under; default none. */
  mountPath?: string;
  /** Runs before the router is mounted (host body parsers, trust proxy). */
  before?: (app: Express) => void;
  /** Runs after the router, before the error handler (host routes). */
  routes?: (app: Express, anon: AnonymousSessions) => void;
}

/** The quick-start app and what the tests look at. */
export interface QuickStart {
  app: Express;
  anon: AnonymousSessions;
  logger: SilentLogger;
}

/** Builds the README quick start: engine, token router (cookie over http), error handler. */
export async function quickStart(options: QuickStartOptions = {}): Promise<QuickStart> {
  const logger = silentLogger();
  const anon = await createAnonymousSessions(await quickStartEngineOptions(logger, options.engine));
  const app = express();
  options.before?.(app);
  const router = anonymousTokenRouter(anon, options.router ?? { cookie: { secure: false } });
  if (options.mountPath === undefined) app.use(router);
  else app.use(options.mountPath, router);
  options.routes?.(app, anon);
  app.use(anonymousErrorHandler({ logger }));
  return { app, anon, logger };
}

