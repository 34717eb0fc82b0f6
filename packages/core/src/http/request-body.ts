/**
 * Request bodies for the endpoints: reading a stream with a size cap, and parsing JSON or
 * `application/x-www-form-urlencoded` into the fields the engine validates. Framework-free: a
 * binding hands over the body stream (or a body its host already parsed) and the `Content-Type`.
 *
 * @packageDocumentation
 */
import { InvalidRequestError, RequestTooLargeError } from '../errors/errors.js';

/** The default cap on request bodies: 16 KiB. */
export const DEFAULT_BODY_LIMIT = 16 * 1024;

/**
 * Reads a body stream into text, refusing it as soon as it passes `limit` bytes (413).
 *
 * @param stream - the request (any async iterable of byte chunks).
 * @param limit - the cap in bytes.
 * @param declaredLength - the `Content-Length` header, checked before reading.
 */
export async function readBodyText(
  stream: AsyncIterable<Uint8Array | string>,
  limit: number,
  declaredLength?: string | undefined,
): Promise<string> {
  if (declaredLength !== undefined && Number(declaredLength) > limit) throw new RequestTooLargeError(limit);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const encoder = new TextEncoder();
  let size = 0;
  let text = '';
  try {
    for await (const chunk of stream) {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      size += bytes.byteLength;
      if (size > limit) throw new RequestTooLargeError(limit);
      text += decoder.decode(bytes, { stream: true });
    }
    return text + decoder.decode();
  } catch (error) {
    if (error instanceof RequestTooLargeError) throw error;
    throw new InvalidRequestError('The request body could not be read as UTF-8.', { cause: error });
  }
}

/**
 * Parses a body by its content type into a plain object of fields. JSON must be an object; a form
 * may not repeat a parameter (RFC 6749 §3.2); a form's `metadata` field is JSON text.
 *
 * @throws InvalidRequestError
 */
export function parseBodyText(text: string, contentType: string | undefined): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') return {};
  if (type === 'application/json' || type.endsWith('+json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new InvalidRequestError('The request body is not valid JSON.', { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InvalidRequestError('The request body must be a JSON object.');
    }
    return value as Record<string, unknown>;
  }
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of new URLSearchParams(text)) {
      if (Object.prototype.hasOwnProperty.call(fields, name)) {
        throw new InvalidRequestError(`The parameter ${name} is repeated.`);
      }
      fields[name] = value;
    }
    if (typeof fields.metadata === 'string') fields.metadata = parseFormMetadata(fields.metadata);
    return fields;
  }
  throw new InvalidRequestError('Send the request as application/json or application/x-www-form-urlencoded.');
}

/**
 * The size in bytes of a body a host parser already read, for the cap when no `Content-Length`
 * declared it (a chunked body): the UTF-8 length of the text, or of the parsed value as compact
 * JSON. Something that cannot be measured counts as over any cap.
 */
export function parsedBodySize(body: unknown): number {
  if (body instanceof Uint8Array) return body.byteLength;
  try {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return text === undefined ? 0 : new TextEncoder().encode(text).byteLength;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** Normalises a body a host already parsed (e.g. `express.json()` ran first). */
export function normaliseParsedBody(body: unknown, contentType: string | undefined): Record<string, unknown> {
  if (body === undefined || body === null || body === '') return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object or a form.');
  }
  const fields = { ...(body as Record<string, unknown>) };
  const isForm = (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
  if (isForm && typeof fields.metadata === 'string') fields.metadata = parseFormMetadata(fields.metadata);
  return fields;
}

function parseFormMetadata(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidRequestError('metadata must be JSON text in a form body.', { cause: error });
  }
}
