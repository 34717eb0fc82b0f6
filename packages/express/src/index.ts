/**
 * `@anonymous-sessions/express`: Express 4 and 5 bindings. Each only translates Express requests
 * onto `@anonymous-sessions/core`.
 *
 * @packageDocumentation
 */
export { anonymousTokenRouter } from './token-router.js';
export type { AnonymousTokenRouterOptions } from './token-router.js';
export { anonCookieExtractor } from './cookie-extractor.js';
export type { AnonCookieExtractorOptions } from './cookie-extractor.js';
export { anonymousErrorHandler } from './error-handler.js';
export type { AnonymousErrorHandlerOptions } from './error-handler.js';
