/**
 * The logger the engine, the guard and the error renderer write to, and the default one
 * (`console`). Tokens and secrets are never passed to it.
 *
 * @packageDocumentation
 */

/** Where the engine writes its warnings and unexpected errors. Tokens and secrets are never passed. */
export interface Logger {
  /** A condition the operator should know about (dev keys, never-expiring sessions). */
  warn(message: string): void;
  /** An unexpected failure behind a 500 or 503 answer. */
  error(message: string, error?: unknown): void;
  /** Optional detail for debugging, e.g. why the bearer guard refused a token (never the token). */
  debug?(message: string): void;
}

/** The default logger: `console`, every line prefixed with `[anonymous-sessions]`. */
export const consoleLogger: Logger = {
  warn: (message) => console.warn(`[anonymous-sessions] ${message}`),
  error: (message, error) =>
    console.error(`[anonymous-sessions] ${message}`, error instanceof Error ? error : ''),
};
