import { KeapError } from './errors';

/**
 * The most of an answer the extension reads, in bytes (64 KiB; issue 17.5, case S11). Keap's token
 * answer is under 1 KB and its error bodies a few hundred bytes (keap-oauth.md); a gateway page is
 * a few KB. Past this the answer is refused: nothing is stored and the rest is never read.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** An answer as node-fetch gives it: `body` a Node Readable (an async iterable of bytes); `text()` for anything else. */
export interface BodyReader {
  readonly headers: { get(name: string): string | null };
  readonly body?: unknown;
  text(): Promise<string>;
}

function tooLarge(what: string, maxBytes: number): KeapError {
  return new KeapError('transient', `${what} is larger than ${Math.round(maxBytes / 1024)} KB; it was not read past that and nothing was stored.`);
}

/**
 * Reads an answer's body as UTF-8 text, at most `maxBytes` bytes: a `Content-Length` over the limit
 * is refused before reading, and a streamed body is read chunk by chunk and abandoned (the stream
 * destroyed) as soon as it passes the limit, so a 384 MiB answer costs at most `maxBytes` plus one
 * chunk of memory.
 * @param what names the answer in the error ("Keap's answer").
 * @throws KeapError `transient` when the body is larger than `maxBytes`.
 */
export async function readBoundedText(res: BodyReader, what = "Keap's answer", maxBytes = MAX_ANSWER_BYTES): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  const body = res.body as (AsyncIterable<Uint8Array | string> & { destroy?(): void }) | null | undefined;
  if (Number.isFinite(declared) && declared > maxBytes) {
    body?.destroy?.();
    throw tooLarge(what, maxBytes);
  }
  if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
    // Not a stream (a test double, a WHATWG body): the whole text, then the same limit.
    const text = await res.text();
    if (Buffer.byteLength(text, 'utf8') > maxBytes) throw tooLarge(what, maxBytes);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += b.length;
    if (size > maxBytes) {
      body.destroy?.();
      throw tooLarge(what, maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
