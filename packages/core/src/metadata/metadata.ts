/**
 * Session metadata: JSON Merge Patch (RFC 7396) and the limits every merged document must meet
 * (forbidden keys, depth, size, the host's schema).
 *
 * @packageDocumentation
 */
import { InvalidMetadataError, MetadataTooLargeError } from '../errors/errors.js';

/**
 * A host validator for session metadata: any Standard Schema (zod ≥ 3.24, valibot, arktype, …).
 * The merged metadata must pass it or the request fails with `invalid_metadata`.
 */
export interface MetadataSchema {
  /** The Standard Schema v1 interface. */
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) =>
      | { readonly value?: unknown; readonly issues?: ReadonlyArray<{ readonly message: string }> }
      | Promise<{ readonly value?: unknown; readonly issues?: ReadonlyArray<{ readonly message: string }> }>;
  };
}

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object: what session metadata is. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Keys refused anywhere in metadata: they would poison object prototypes downstream. */
export const FORBIDDEN_METADATA_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** The limits merged metadata must meet. */
export interface MetadataLimits {
  /** Maximum UTF-8 size of the JSON document. */
  maxBytes: number;
  /** Maximum nesting depth; an object of scalars is depth 1. */
  maxDepth: number;
  /** Optional host schema. */
  schema?: MetadataSchema | undefined;
}

const encoder = new TextEncoder();

/** Whether `value` is a plain JSON object (not an array, not null, not a class instance). */
export function isJsonObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that a patch is a JSON object made only of JSON values, with no forbidden key at any depth.
 * Depth is bounded here too, so a hostile, deeply nested patch is refused before any recursion into
 * the merge.
 *
 * @throws InvalidMetadataError
 */
export function assertValidPatch(patch: unknown, maxDepth: number): asserts patch is JsonObject {
  if (!isJsonObject(patch)) throw new InvalidMetadataError('metadata must be a JSON object.');
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new InvalidMetadataError('metadata numbers must be finite.');
      return;
    }
    if (depth > maxDepth) throw new InvalidMetadataError(`metadata is nested deeper than ${maxDepth} levels.`);
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    if (!isJsonObject(value)) throw new InvalidMetadataError('metadata must contain only JSON values.');
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_METADATA_KEYS.includes(key)) {
        throw new InvalidMetadataError(`metadata may not contain the key "${key}".`);
      }
      visit(value[key], depth + 1);
    }
  };
  visit(patch, 1);
}

/**
 * Applies a JSON Merge Patch (RFC 7396) to `target` and returns the new document. Neither input is
 * modified; `null` in the patch deletes a key; arrays are replaced, never merged.
 */
export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  const result: JsonObject = { ...target };
  for (const key of Object.keys(patch)) {
    const value = patch[key] as JsonValue;
    if (value === null) {
      delete result[key];
    } else if (isJsonObject(value)) {
      const current = result[key];
      result[key] = mergePatch(isJsonObject(current) ? current : {}, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** The nesting depth of a JSON value: a scalar is 0, `{}` or `{a: 1}` is 1. */
export function jsonDepth(value: JsonValue): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, jsonDepth(child));
  return deepest + 1;
}

/** UTF-8 byte length of the document's JSON text. */
export function jsonByteLength(value: JsonValue): number {
  return encoder.encode(JSON.stringify(value)).byteLength;
}

/**
 * Merges `patch` onto `current` (RFC 7396) and checks the result against a size and a depth limit,
 * as `SessionStore.mergeMetadata` must inside its atomic step. A store adapter that merges in
 * JavaScript under a lock (or in one synchronous step, like `memoryStore()`) can use it as is.
 *
 * @param current - the stored document (`{}` when there is none).
 * @param patch - the already validated JSON Merge Patch.
 * @param limits - `maxBytes` (UTF-8 bytes of the compact JSON text) and `maxDepth`.
 * @returns the merged document, or why it was refused.
 */
export function mergeMetadataWithinLimits(
  current: JsonObject,
  patch: JsonObject,
  limits: { maxBytes: number; maxDepth: number },
): { ok: true; metadata: JsonObject } | { ok: false; reason: 'max_bytes' | 'max_depth' } {
  const merged = mergePatch(current, patch);
  if (jsonDepth(merged) > limits.maxDepth) return { ok: false, reason: 'max_depth' };
  if (jsonByteLength(merged) > limits.maxBytes) return { ok: false, reason: 'max_bytes' };
  return { ok: true, metadata: merged };
}

/**
 * Merges `patch` onto `current` and checks the result against the limits.
 *
 * @param current - the session's metadata now (already valid).
 * @param patch - the client's patch (untrusted).
 * @param limits - the configured limits.
 * @returns the merged metadata.
 * @throws InvalidMetadataError when the patch or the result is malformed, too deep, or fails the schema.
 * @throws MetadataTooLargeError when the result is over `maxBytes`.
 */
export async function applyMetadataPatch(
  current: JsonObject,
  patch: unknown,
  limits: MetadataLimits,
): Promise<JsonObject> {
  assertValidPatch(patch, limits.maxDepth);
  const merged = mergePatch(current, patch);
  if (jsonDepth(merged) > limits.maxDepth) {
    throw new InvalidMetadataError(`metadata is nested deeper than ${limits.maxDepth} levels.`);
  }
  const bytes = jsonByteLength(merged);
  if (bytes > limits.maxBytes) {
    throw new MetadataTooLargeError(`metadata is ${bytes} bytes; the limit is ${limits.maxBytes}.`);
  }
  if (limits.schema) {
    const result = await limits.schema['~standard'].validate(merged);
    if (result.issues !== undefined && result.issues.length > 0) {
      throw new InvalidMetadataError(
        `metadata does not match the schema: ${result.issues.map((issue) => issue.message).join('; ')}`,
      );
    }
  }
  return merged;
}
