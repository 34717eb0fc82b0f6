/**
 * The whole client suite again, against the fetch binding on Hono (`@anonymous-sessions/fetch/hono`
 * served by `@hono/node-server`) instead of Express: the client works unchanged against it.
 */
import { useServer } from './helpers.js';

useServer('hono');
await import('./access-token.test.js');
await import('./batching.test.js');
await import('./cookie-mode.test.js');
await import('./merge-patch.test.js');
await import('./offline.test.js');
await import('./session.test.js');
await import('./storage.test.js');
