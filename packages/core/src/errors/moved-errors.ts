/**
 * The error classes core's endpoints and guard throw, as the main entry exported them before they
 * moved to `@anonymous-sessions/core/http`: deprecated aliases, kept one release for hosts that
 * import them from `@anonymous-sessions/core`. A host needs none of them to tell errors apart:
 * `isKnownError(error)` and a `switch (error.code)` narrow to the class.
 *
 * @packageDocumentation
 */
import * as errors from './errors.js';

/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InsufficientScopeError = errors.InsufficientScopeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InsufficientScopeError = errors.InsufficientScopeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InsufficientUserAuthenticationError = errors.InsufficientUserAuthenticationError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InsufficientUserAuthenticationError = errors.InsufficientUserAuthenticationError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidBearerRequestError = errors.InvalidBearerRequestError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidBearerRequestError = errors.InvalidBearerRequestError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidClientError = errors.InvalidClientError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidClientError = errors.InvalidClientError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidMetadataError = errors.InvalidMetadataError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidMetadataError = errors.InvalidMetadataError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidScopeError = errors.InvalidScopeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidScopeError = errors.InvalidScopeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidSessionTokenError = errors.InvalidSessionTokenError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidSessionTokenError = errors.InvalidSessionTokenError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidTargetError = errors.InvalidTargetError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidTargetError = errors.InvalidTargetError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const InvalidTokenError = errors.InvalidTokenError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type InvalidTokenError = errors.InvalidTokenError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const MetadataTooLargeError = errors.MetadataTooLargeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type MetadataTooLargeError = errors.MetadataTooLargeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const RequestTooLargeError = errors.RequestTooLargeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type RequestTooLargeError = errors.RequestTooLargeError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const ServerError = errors.ServerError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type ServerError = errors.ServerError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const SessionExpiredError = errors.SessionExpiredError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type SessionExpiredError = errors.SessionExpiredError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const TemporarilyUnavailableError = errors.TemporarilyUnavailableError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type TemporarilyUnavailableError = errors.TemporarilyUnavailableError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const TooManyRequestsError = errors.TooManyRequestsError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type TooManyRequestsError = errors.TooManyRequestsError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export const UnauthorizedClientError = errors.UnauthorizedClientError;
/** @deprecated import it from `@anonymous-sessions/core/http` (or switch on `code`). Removed in the next major. */
export type UnauthorizedClientError = errors.UnauthorizedClientError;
