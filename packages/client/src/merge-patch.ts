/**
 * JSON Merge Patch (RFC 7396), the semantics the server applies to session metadata: objects merge
 * key by key, `null` deletes a key, anything else (arrays included) replaces. Also composes two
 * patches into one, which is how the client sends many updates as a single request.
 *
 * @packageDocumentation
 */
import type { JsonObject, JsonValue } from './types.js';

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property, even one named `__proto__`, without touching the prototype. */
function put(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

const hasOwn = (object: JsonObject, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Applies `patch` to `target` (RFC 7396 §2) and returns the result; neither input is modified.
 * Useful for optimistic UI: apply the patch you just sent to the session you last read.
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key] as JsonValue;
    if (value === null) delete result[key];
    else put(result, key, mergePatch(hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

/**
 * Whether one patch can say what applying `first` then `second` says. It cannot when `first` sets
 * a key to a non-object (or deletes it) and `second` then merges an object into that key: the
 * result is "replace with this object", which a merge patch cannot express.
 */
export function canComposePatches(first: JsonObject, second: JsonObject): boolean {
  for (const key of Object.keys(second)) {
    const next = second[key];
    if (!isJsonObject(next) || !hasOwn(first, key)) continue;
    const previous = first[key];
    if (!isJsonObject(previous) || !canComposePatches(previous, next)) return false;
  }
  return true;
}

/**
 * The one patch equivalent to applying `first` and then `second`, for any target document.
 * Call only when {@link canComposePatches} is true. Neither input is modified.
 */
export function composePatches(first: JsonObject, second: JsonObject): JsonObject {
  const result: JsonObject = { ...first };
  for (const key of Object.keys(second)) {
    const next = second[key] as JsonValue;
    const previous = hasOwn(result, key) ? result[key] : undefined;
    put(result, key, isJsonObject(next) && isJsonObject(previous) ? composePatches(previous, next) : next);
  }
  return result;
}
