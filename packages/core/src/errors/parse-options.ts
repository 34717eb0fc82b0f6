/**
 * Options parsing, written once: every factory (the engine, the router, the cookie codec, the
 * extractors, the guard, the login flow, the stores) parses its options with one strict zod schema
 * (`zod/mini`, or classic zod: both are typed on zod's core) through {@link parseOptions}, so a bad
 * or unknown option is a {@link ConfigError} naming its path.
 *
 * @packageDocumentation
 */
import { safeParse, type $ZodIssue, type $ZodType, type output } from 'zod/v4/core';
import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * Refuses keys a factory does not know (for factories whose options are functions and objects a
 * schema adds nothing to): a misspelt option is a {@link ConfigError}, never a silent default.
 *
 * @param options - the options as the host wrote them.
 * @param known - every key the factory reads.
 * @param path - prefix of the reported paths.
 * @throws ConfigError naming every unknown key.
 */
export function assertKnownOptions(options: object, known: readonly string[], path = ''): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((key) => ({ path: path === '' ? key : `${path}.${key}`, message: 'is not a known option' })));
  }
}

/**
 * Parses a factory's options with its schema.
 *
 * @param schema - the factory's strict schema.
 * @param options - the options as the host wrote them.
 * @param path - prefix of every reported path (`cookie`, `users`), or `''` for the top level.
 * @returns the parsed (defaulted) options.
 * @throws ConfigError naming every bad or unknown key.
 */
export function parseOptions<S extends $ZodType>(schema: S, options: unknown, path = ''): output<S> {
  const result = safeParse(schema, options);
  if (!result.success) throw new ConfigError(toConfigIssues(result.error.issues, path));
  return result.data;
}

/**
 * Converts zod issues into {@link ConfigIssue}s with dotted paths like `resourceServers[0].audience`.
 * Unknown keys come first (a misspelt option often explains the other issues, e.g. a required one
 * "missing"); the rest keep the schema's order.
 */
export function toConfigIssues(issues: readonly $ZodIssue[], prefix = ''): ConfigIssue[] {
  const specific = issues.flatMap((issue) => specificIssues(issue, []));
  return [...specific.filter((issue) => issue.unknown), ...specific.filter((issue) => !issue.unknown)].map((issue) => ({
    path: formatPath(prefix, issue.path),
    message: issue.message,
  }));
}

/**
 * Makes an issue point at the bad field itself. An unknown option is reported under its own name;
 * a union (`clients: [...] | resolver`) in which exactly one branch got past the field's own type
 * reports that branch's issues (`resourceServers[0].tokenLifetimeForAnonymousAccess`) instead of a
 * bare "Invalid input" on the union.
 */
function specificIssues(
  issue: $ZodIssue,
  parent: readonly PropertyKey[],
): { path: readonly PropertyKey[]; message: string; unknown?: true }[] {
  const path = [...parent, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...path, key], message: 'is not a known option', unknown: true as const }));
  }
  if (issue.code === 'invalid_union') {
    const reachedInside = issue.errors.filter(
      (branch) => branch.length > 0 && branch.every((inner) => inner.path.length > 0),
    );
    if (reachedInside.length === 1) return reachedInside[0]!.flatMap((inner) => specificIssues(inner, path));
  }
  return [{ path, message: issue.message }];
}

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : `${out ? '.' : ''}${String(segment)}`;
  }
  return out;
}

