/**
 * The token request (`POST /anonymous/token`) and the logout request, validated with zod. Unknown
 * parameters are ignored, as OAuth 2.0 requires.
 *
 * @packageDocumentation
 */
import * as z from 'zod/mini';
import { safeParse, type $ZodType, type input, type output } from 'zod/v4/core';
import { ENGLISH_MESSAGES } from '../errors/parse-options.js';
import { InvalidRequestError } from '../errors/errors.js';
import { MAX_SESSION_TOKEN_LENGTH } from '../tokens/session-token.js';

const field = (name: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required.` : `${name} must be a string.`) })
    .check(z.minLength(1, `${name} must not be empty.`), z.maxLength(max, `${name} is too long.`));

/** The token request's fields (docs/wire-contract.md). */
export const tokenRequestSchema = z.object({
  client_id: field('client_id', 256),
  audience: z.optional(field('audience', 2048)),
  scope: z.optional(z.string({ error: 'scope must be a space-separated string.' }).check(z.maxLength(2048, 'scope is too long.'))),
  session_token: z.optional(field('session_token', MAX_SESSION_TOKEN_LENGTH)),
  metadata: z.optional(z.unknown()),
  user_id: z.optional(z.string({ error: 'user_id must be a string.' })),
});

/** A token request: create a session (no `session_token`) or continue one. */
export type TokenRequest = input<typeof tokenRequestSchema>;

/** The logout request's fields. */
export const logoutRequestSchema = z.object({
  client_id: field('client_id', 256),
  session_token: z.optional(field('session_token', MAX_SESSION_TOKEN_LENGTH)),
});

/** A logout request. */
export type LogoutRequest = input<typeof logoutRequestSchema>;

/**
 * Parses untrusted input with a request schema. Every problem is listed in one `invalid_request`.
 *
 * @throws InvalidRequestError
 */
export function parseRequest<T extends $ZodType>(schema: T, input: unknown): output<T> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRequestError('The request body must be a JSON object or a form.');
  }
  const result = safeParse(schema, input, { error: ENGLISH_MESSAGES });
  if (!result.success) throw new InvalidRequestError(result.error.issues.map((issue) => issue.message).join(' '));
  return result.data;
}
