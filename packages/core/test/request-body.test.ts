/**
 * Reading a request body (`readBodyText`): a Node.js stream (what the Express and Koa bindings hand
 * over) is read with its events, any other async iterable (the fetch binding's) is iterated; both
 * keep the same rules — the cap while the body streams in, UTF-8 or a 400, an early end an error
 * and never a hang.
 */
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InvalidRequestError, RequestTooLargeError } from '../src/errors/errors.js';
import { readBodyText } from '../src/http/request-body.js';

const euro = Buffer.from('€', 'utf8'); // three bytes, split below across two chunks

/** An async iterable that is not a Node.js stream (no `on`), as the fetch binding's body is. */
async function* iterable(chunks: (Uint8Array | string)[]): AsyncGenerator<Uint8Array | string> {
  for (const chunk of chunks) yield chunk;
}

const sources = {
  'a Node.js stream (events)': (chunks: (Uint8Array | string)[]) => Readable.from(chunks, { objectMode: false }),
  'an async iterable': (chunks: (Uint8Array | string)[]) => iterable(chunks),
};

describe('readBodyText', () => {
  for (const [name, source] of Object.entries(sources)) {
    describe(name, () => {
      it('joins the chunks, a character split between two of them included', async () => {
        const chunks = [Buffer.from('{"a":"'), euro.subarray(0, 1), Buffer.concat([euro.subarray(1), Buffer.from('"}')])];
        await expect(readBodyText(source(chunks), 1024)).resolves.toBe('{"a":"€"}');
      });

      it('takes string chunks as UTF-8', async () => {
        await expect(readBodyText(source(['{"a":', '"€"}']), 1024)).resolves.toBe('{"a":"€"}');
      });

      it('refuses a body past the cap with 413, counting bytes, not characters', async () => {
        await expect(readBodyText(source([Buffer.from('€€')]), 5)).rejects.toBeInstanceOf(RequestTooLargeError);
        await expect(readBodyText(source([Buffer.from('€'), Buffer.from('€')]), 6)).resolves.toBe('€€');
        await expect(readBodyText(source([Buffer.from('€'), Buffer.from('€'), Buffer.from('x')]), 6)).rejects.toMatchObject({ status: 413, code: 'invalid_request' });
      });

      it('refuses bytes that are not UTF-8 with 400 invalid_request', async () => {
        const refused = readBodyText(source([Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])]), 1024);
        await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
        await expect(refused).rejects.toMatchObject({ status: 400, code: 'invalid_request', description: 'The request body could not be read as UTF-8.' });
      });

      it('refuses a declared Content-Length over the cap before reading anything', async () => {
        await expect(readBodyText(source(['{}']), 10, '11')).rejects.toBeInstanceOf(RequestTooLargeError);
      });
    });
  }

  describe('a Node.js stream', () => {
    it('stops reading a body past the cap: the rest stays unread, the stream paused, not destroyed', async () => {
      const stream = new PassThrough();
      const refused = readBodyText(stream, 4);
      stream.write('abc');
      stream.write('de');
      await expect(refused).rejects.toBeInstanceOf(RequestTooLargeError);
      expect([stream.isPaused(), stream.destroyed, stream.listenerCount('data'), stream.listenerCount('end')]).toEqual([true, false, 0, 0]);
    });

    it('a stream error is a 400 invalid_request carrying it as the cause', async () => {
      const stream = new PassThrough();
      const refused = readBodyText(stream, 1024);
      stream.write('{"a"');
      const cause = new Error('ECONNRESET');
      stream.destroy(cause);
      await expect(refused).rejects.toMatchObject({ status: 400, code: 'invalid_request', cause });
    });

    it('a stream that closes before its end is a 400, not a hang', async () => {
      const stream = new PassThrough();
      const refused = readBodyText(stream, 1024);
      stream.write('{"a"');
      stream.destroy();
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    });

    it('a stream destroyed before it is read is a 400, and one already ended is an empty body', async () => {
      const destroyed = new PassThrough();
      destroyed.destroy();
      await expect(readBodyText(destroyed, 1024)).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(readBodyText(destroyed, 1024)).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
      const ended = Readable.from([Buffer.from('{}')]);
      ended.resume();
      await new Promise((resolve) => ended.once('end', resolve));
      await expect(readBodyText(ended, 1024)).resolves.toBe('');
    });
  });
});
