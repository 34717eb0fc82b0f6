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
 * A Node.js readable stream, as far as reading it with events needs: what the Express and Koa
 * bindings hand over (`IncomingMessage`). Described here by its shape; the core imports no Node
 * stream module.
 */
interface EventReadable {
  on(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  pause?(): unknown;
  /** True once `end` was emitted: nothing is left to read. */
  readableEnded?: boolean;
  /** True once destroyed: `end` will never come. */
  destroyed?: boolean;
}

const isEventReadable = (stream: object): stream is EventReadable =>
  typeof (stream as Partial<EventReadable>).on === 'function' && typeof (stream as Partial<EventReadable>).removeListener === 'function';

/** Decodes a whole body at once (a fatal decoder keeps no state between whole decodes). */
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Why a body could not be read: a stream error, an early close, or bytes that are not UTF-8. */
const unreadable = (cause: unknown): InvalidRequestError => new InvalidRequestError('The request body could not be read as UTF-8.', { cause });

/** A body's bytes as they arrive, counted against its cap. */
class BodyBytes {
  readonly #chunks: Uint8Array[] = [];
  #size = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Keeps a chunk (a string as UTF-8); false once the body has passed the cap. */
  add(chunk: Uint8Array | string): boolean {
    const bytes = typeof chunk === 'string' ? utf8Encoder.encode(chunk) : chunk;
    this.#size += bytes.byteLength;
    if (this.#size > this.#limit) return false;
    this.#chunks.push(bytes);
    return true;
  }

  /** The whole body as text (one chunk, the usual case, without a copy); a 400 if it is not UTF-8. */
  text(): string {
    const chunks = this.#chunks;
    let whole = chunks[0] ?? new Uint8Array(0);
    if (chunks.length > 1) {
      whole = new Uint8Array(this.#size);
      let offset = 0;
      for (const chunk of chunks) {
        whole.set(chunk, offset);
        offset += chunk.byteLength;
      }
    }
    try {
      return utf8.decode(whole);
    } catch (error) {
      throw unreadable(error);
    }
  }
}

/**
 * Reads a body stream into text, refusing it as soon as it passes `limit` bytes (413).
 *
 * A Node.js stream (the Express and Koa request) is read with its events, as `raw-body` reads it:
 * its async iterator costs a promise and an end-of-stream watcher per request. Any other async
 * iterable (the fetch binding's `ReadableStream`) is iterated. A stream that errs or closes before
 * its end is an error, never a hang.
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
  if (isEventReadable(stream)) return readEvents(stream, limit);
  const body = new BodyBytes(limit);
  try {
    for await (const chunk of stream) {
      if (!body.add(chunk)) throw new RequestTooLargeError(limit);
    }
  } catch (error) {
    if (error instanceof RequestTooLargeError) throw error;
    throw unreadable(error);
  }
  return body.text();
}

/** {@link readBodyText} over a Node.js stream's `data`, `end`, `error` and `close` events. */
function readEvents(stream: EventReadable, limit: number): Promise<string> {
  // Its events are past: no `end` (or `close`) would come to a listener added now.
  if (stream.readableEnded === true) return Promise.resolve('');
  if (stream.destroyed === true) return Promise.reject(unreadable(new Error('the request was destroyed before its body was read')));
  return new Promise<string>((resolve, reject) => {
    const body = new BodyBytes(limit);
    const onData = (chunk: Uint8Array | string): void => {
      if (!body.add(chunk)) fail(new RequestTooLargeError(limit));
    };
    const onEnd = (): void => {
      stop();
      try {
        resolve(body.text());
      } catch (error) {
        reject(error);
      }
    };
    const onError = (error: unknown): void => fail(unreadable(error));
    const onClose = (): void => fail(unreadable(new Error('the request closed before its body ended')));
    const stop = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    function fail(error: InvalidRequestError | RequestTooLargeError): void {
      stop();
      // Given up, the rest stays unread (as raw-body leaves it): the server drains or closes it
      // once the refusal is sent. Destroying the request here would take the socket, and the
      // refusal, with it.
      stream.pause?.();
      reject(error);
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
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
