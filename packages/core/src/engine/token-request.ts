/**
 * The token request (`POST /anonymous/token`) and the logout request, validated with zod. Unknown
 * parameters are ignored, as OAuth 2.0 requires.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { InvalidRequestError } from '../errors/errors.js';
import { MAX_SESSION_TOKEN_LENGTH } from '../tokens/session-token.js';

const field = (name: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required.` : `${name} must be a string.`) })
    .min(1, `${name} must not be empty.`)
    .max(max, `${name} is too long.`);

/** The token request's fields (docs/wire-contract.md). */
export const tokenRequestSchema = z.object({
  client_id: field('client_id', 256),
  audience: field('audience', 2048).optional(),
  scope: z.string({ error: 'scope must be a space-separated string.' }).max(2048, 'scope is too long.').optional(),
  session_token: field('session_token', MAX_SESSION_TOKEN_LENGTH).optional(),
  metadata: z.unknown().optional(),
  user_id: z.string({ error: 'user_id must be a string.' }).optional(),
});

/** A token request: create a session (no `session_token`) or continue one. */
export type TokenRequest = z.input<typeof tokenRequestSchema>;

/** The logout request's fields. */
export const logoutRequestSchema = z.object({
  client_id: field('client_id', 256),
  session_token: field('session_token', MAX_SESSION_TOKEN_LENGTH).optional(),
});

/** A logout request. */
export type LogoutRequest = z.input<typeof logoutRequestSchema>;

/**
 * Parses untrusted input with a request schema. Every problem is listed in one `invalid_request`.
 *
 * @throws InvalidRequestError
 */
export function parseRequest<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('The request body must be a JSON object or a form.');
  }
  const result = schema.safeParse(input);
  if (!result.success) throw new InvalidRequestError(result.error.issues.map((issue) => issue.message).join(' '));
  return result.data;
}
