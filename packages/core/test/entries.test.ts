/**
 * The exact export lists of core's two public entries, pinned: `@anonymous-sessions/core` (what a
 * host writes) and `@anonymous-sessions/core/http` (what a binding or store-adapter author needs).
 * A name added, moved or removed fails here, so every change to either list is deliberate (and
 * goes in a changeset). Values are read from the modules at run time; types, and which names are
 * `@deprecated`, from the sources with the TypeScript compiler.
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as main from '@anonymous-sessions/core';
import * as http from '@anonymous-sessions/core/http';

const source = (entry: string): string => fileURLToPath(new URL(`../src/${entry}.ts`, import.meta.url));

interface EntryNames {
  values: string[];
  types: string[];
  deprecated: string[];
}

/** The entry's exports as the compiler sees them: values, type-only names, and the deprecated ones. */
function entryNames(entry: string, runtime: object): EntryNames {
  const file = source(entry);
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  const values = Object.keys(runtime).sort();
  const types: string[] = [];
  const deprecated: string[] = [];
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    if (!values.includes(exported.name)) types.push(exported.name);
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declarations = target.declarations ?? [];
    if (declarations.length > 0 && declarations.every((declaration) => ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === 'deprecated'))) {
      deprecated.push(exported.name);
    }
  }
  return { values, types: types.sort(), deprecated: deprecated.sort() };
}

/** The host's entry: the factory, stores, keys, errors, recipes and their types. */
const MAIN = {
  values: [
    'AccessDeniedError',
    'AnonymousSessionError',
    'ConfigError',
    'DEVELOPMENT_KEYS',
    'InvalidRequestError',
    'composeHooks',
    'copyPreferences',
    'createAnonymousSessions',
    'fromAuth0Settings',
    'generateKeySet',
    'isAnonymousSessionError',
    'isKnownError',
    'linkSessions',
    'loginCallbackError',
    'memoryStore',
    'mergeCart',
    'mergeGuestMetadata',
    'rotateKeySet',
    'sumCartsBySku',
  ],
  types: [
    'AccessTokenClaims',
    'AnonymousSession',
    'AnonymousSessionErrorCode',
    'AnonymousSessions',
    'AnonymousSessionsOptions',
    'Auth0Settings',
    'ClientInput',
    'ClientResolver',
    'ConfigIssue',
    'CopyPreferencesOptions',
    'FromAuth0SettingsOptions',
    'GenerateKeySetOptions',
    'IdTokenClaims',
    'JsonObject',
    'JsonValue',
    'KnownAnonymousSessionError',
    'LinkSessionsOptions',
    'Logger',
    'MemoryStoreOptions',
    'MergeCartOptions',
    'MergeGuestMetadataOptions',
    'MetadataOptions',
    'MetadataSchema',
    'OriginCheck',
    'PrivateJwk',
    'PrivateJwkSet',
    'RateLimitOptions',
    'ResourceServerInput',
    'ResourceServerResolver',
    'SessionCookieOptions',
    'SessionStore',
    'SigningAlgorithm',
    'StoredUser',
    'TransferApi',
    'TransferEvent',
    'TransferHook',
    'TransferLogEntry',
    'TransferResult',
    'TransferUser',
    'UsersAdapter',
  ],
  /** Kept one release for hosts: the recipe's old name, and the error classes now on `/http`. */
  deprecated: [
    'InsufficientScopeError',
    'InsufficientUserAuthenticationError',
    'InvalidBearerRequestError',
    'InvalidClientError',
    'InvalidMetadataError',
    'InvalidScopeError',
    'InvalidSessionTokenError',
    'InvalidTargetError',
    'InvalidTokenError',
    'LinkedSession',
    'MergeMetadataOptions',
    'MetadataTooLargeError',
    'RequestTooLargeError',
    'ServerError',
    'SessionExpiredError',
    'TemporarilyUnavailableError',
    'TooManyRequestsError',
    'UnauthorizedClientError',
    'mergeMetadata',
  ],
};

/** The binding and store-adapter author's entry. */
const HTTP = {
  values: [
    'ACCESS_TOKEN_TYPE',
    'ANONYMOUS_USER_ID',
    'AccessDeniedError',
    'AnonymousSessionError',
    'CLIENT_ERROR_CODES',
    'ConfigError',
    'DEFAULT_BODY_LIMIT',
    'DEFAULT_REALM',
    'DEFAULT_SESSION_QUERY_PARAM',
    'ENDPOINT_PATHS',
    'ENDPOINT_ROUTES',
    'FORBIDDEN_METADATA_KEYS',
    'InsufficientScopeError',
    'InsufficientUserAuthenticationError',
    'InvalidBearerRequestError',
    'InvalidClientError',
    'InvalidMetadataError',
    'InvalidRequestError',
    'InvalidScopeError',
    'InvalidSessionTokenError',
    'InvalidTargetError',
    'InvalidTokenError',
    'LOGIN_BINDING_COOKIE',
    'LOGIN_BINDING_LIFETIME',
    'LOGIN_BINDING_TYPE',
    'LOGIN_RETURN_COOKIE',
    'LOGIN_SEED_COOKIE',
    'MAX_COOKIE_BYTES',
    'MAX_SESSION_TOKEN_LENGTH',
    'MetadataTooLargeError',
    'RESERVED_CLAIMS',
    'RequestTooLargeError',
    'SERVER_ERROR_CODES',
    'SESSION_TOKEN_TYPE',
    'ServerError',
    'SessionExpiredError',
    'TemporarilyUnavailableError',
    'TooManyRequestsError',
    'UNSUPPORTED_TRANSFER_FLOWS',
    'UnauthorizedClientError',
    'acceptsQuerySessionToken',
    'applyMetadataPatch',
    'assertScopes',
    'assertUser',
    'bearerChallenge',
    'bearerToken',
    'claimEqualsCheck',
    'claimIncludesCheck',
    'claimPredicateCheck',
    'clientAddressBucket',
    'cookieCodec',
    'createBearerGuard',
    'createCookieExtractor',
    'createEndpoints',
    'createErrorRenderer',
    'createLoginBinder',
    'createLoginFinish',
    'createLoginStart',
    'createOpenIdClientLogin',
    'createSessionExtractor',
    'createTransferHandler',
    'engineSessionCookie',
    'epochSeconds',
    'errorResponse',
    'forwardedRequestFacts',
    'headerValue',
    'isAnonymousSessionError',
    'isKnownError',
    'isSameOrigin',
    'isSameOriginOrAllowed',
    'jsonByteLength',
    'jsonDepth',
    'loginCallbackError',
    'matchEndpoint',
    'mergeMetadataWithinLimits',
    'mergePatch',
    'parseBodyText',
    'parseLoginStackOptions',
    'parseOptions',
    'parsedBodySize',
    'readBodyText',
    'safeRedirectTarget',
    'sameOriginReturnTo',
    'stripQueryParameter',
    'toAnonymousSessionError',
    // Deprecated aliases (below).
    'LOGIN_STACK_OPTION_KEYS',
    'assertLoginStackOptions',
    'createTokenEndpoints',
    'sessionCookie',
  ],
  types: [
    'AllowedOriginCheck',
    'AnonymousSession',
    'AnonymousSessionErrorCode',
    'AnonymousSessionErrorOptions',
    'AnonymousSessions',
    'AuthResult',
    'AuthenticatedUser',
    'AuthorizationServerMetadata',
    'BearerGuard',
    'BearerGuardOptions',
    'BearerRequest',
    'ClaimCheck',
    'ClaimPredicate',
    'ClaimValue',
    'Client',
    'ConfigIssue',
    'CookieExtractorOptions',
    'CookieWriteContext',
    'CounterState',
    'CustomUserVerifier',
    'EndpointName',
    'ErrorRendererOptions',
    'ErrorResponseBody',
    'ExtractedSession',
    'ForwardedRequestInput',
    'HttpHeaders',
    'HttpRequest',
    'HttpResponse',
    'IdTokenClaims',
    'IssuedTokens',
    'KnownAnonymousSessionError',
    'LoginBinderRequest',
    'LoginBindingOutcome',
    'LoginFinishOutcome',
    'LoginFinishRequest',
    'LoginFlowCookieOptions',
    'LoginStackOptions',
    'LoginStartOptions',
    'LoginStartOutcome',
    'LoginStartRequest',
    'LogoutParameters',
    'MetadataLimits',
    'MetadataMergeOptions',
    'MetadataMergeResult',
    'OpenIdCallbackOutcome',
    'OpenIdCallbackRequest',
    'OpenIdClientApi',
    'OpenIdClientLoginOptions',
    'OpenIdClientLoginSteps',
    'OpenIdLoginStartOutcome',
    'OpenIdLoginStartRequest',
    'OpenIdTokens',
    'ProxyTrust',
    'RemoteAnonymousIssuer',
    'RemoteAnonymousIssuerByDiscovery',
    'RemoteAnonymousIssuerByJwks',
    'RequestContext',
    'RequestOriginFacts',
    'ResolvedConfig',
    'ResolvedSessionCookieOptions',
    'ResourceServer',
    'SeedMetadataResult',
    'SessionCookie',
    'SessionCookieOptions',
    'SessionExtractor',
    'SessionExtractorOptions',
    'SessionExtractorRequest',
    'SessionTokenPayload',
    'StoredMetadata',
    'TokenEndpoints',
    'TokenEndpointsOptions',
    'TokenResponse',
    'TransferHandler',
    'TransferHandlerOptions',
    'TransferHandlerOutcome',
    'TransferHandlerRequest',
    'TransferParameters',
    'TransferRequestReaders',
    'TransferResult',
    'UserIssuerOptions',
    'VerifyAccessTokenOptions',
  ],
  deprecated: [
    'LOGIN_STACK_OPTION_KEYS',
    'TransferRouteOptions',
    'TransferRouteRequest',
    'TransferStepOptions',
    'TransferStepOutcome',
    'TransferStepRequest',
    'assertLoginStackOptions',
    'createTokenEndpoints',
    'createTransferRoute',
    'createTransferStep',
    'sessionCookie',
  ],
};

describe('the public entries', () => {
  it.each([
    ['@anonymous-sessions/core', 'index', main, MAIN],
    ['@anonymous-sessions/core/http', 'http', http, HTTP],
  ] as const)('%s exports exactly its pinned names', (_name, entry, runtime, pinned) => {
    const names = entryNames(entry, runtime);
    const deprecatedValues = pinned.deprecated.filter((name) => names.values.includes(name));
    const deprecatedTypes = pinned.deprecated.filter((name) => !names.values.includes(name));
    expect(names.values).toEqual([...pinned.values, ...deprecatedValues.filter((name) => !pinned.values.includes(name))].sort());
    expect(names.types).toEqual([...pinned.types, ...deprecatedTypes].sort());
    expect(names.deprecated).toEqual([...pinned.deprecated].sort());
  });

  it('the host entry stays about sixty names, not counting the deprecated aliases', () => {
    expect(MAIN.values.length + MAIN.types.length).toBe(59);
  });
});
