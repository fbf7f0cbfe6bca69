/**
 * Which encoding a `.env` file's bytes are in — a pure module (no `vscode`, no fs). Issue 17.8,
 * cases.md K14: a `.env` saved by Windows PowerShell (`Out-File`) is UTF-16 LE with a byte order
 * mark; an old one can be Windows-1252 (`DB_PASSWORD=päss` as the byte 0xE4). Decoding either as
 * UTF-8 turns the BOM and `ä` into U+FFFD, and writing the text back destroys them. So a file is
 * read only when it is valid UTF-8 (a UTF-8 BOM is kept as U+FEFF), decoded with
 * `TextDecoder('utf-8', { fatal: true })`; anything else is refused and never rewritten. Valid
 * UTF-8 decodes and encodes back to the same bytes, so every byte the edit does not touch stays.
 */

/** What the bytes are, when they are not UTF-8 that this extension may rewrite. */
export type EnvEncodingFinding =
  | { readonly kind: 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be'; readonly bom: true }
  /** NUL bytes: UTF-16 without a byte order mark, or not a text file. `offset`: the first NUL (bytes). */
  | { readonly kind: 'nul'; readonly offset: number; readonly line: number }
  /** Not valid UTF-8: an 8-bit encoding such as Windows-1252 or Latin-1. `offset`: the first bad byte. */
  | { readonly kind: 'not-utf-8'; readonly offset: number; readonly line: number; readonly byte: number };

/** Thrown for a file that is not UTF-8; nothing was (or will be) written to it. */
export class EnvEncodingError extends Error {
  constructor(
    readonly finding: EnvEncodingFinding,
    /** The file, as named in the message. */
    readonly file: string,
  ) {
    super(`${file} is ${describeEncoding(finding)}, not UTF-8; it is neither read nor written, so nothing was written. Convert it to UTF-8 (in VS Code: click the encoding in the status bar, then "Save with Encoding" → UTF-8) and try again.`);
    this.name = 'EnvEncodingError';
  }
}

/** The encoding found, in words (English; the VS Code layer has its own translated words). */
export function describeEncoding(f: EnvEncodingFinding): string {
  switch (f.kind) {
    case 'utf-16le':
      return 'UTF-16 LE (with a byte order mark, as Windows PowerShell saves it)';
    case 'utf-16be':
      return 'UTF-16 BE (with a byte order mark)';
    case 'utf-32le':
      return 'UTF-32 LE (with a byte order mark)';
    case 'utf-32be':
      return 'UTF-32 BE (with a byte order mark)';
    case 'nul':
      return `UTF-16 without a byte order mark, or not text (a NUL byte on line ${f.line})`;
    case 'not-utf-8':
      return `in an 8-bit encoding such as Windows-1252 (the byte 0x${f.byte.toString(16).toUpperCase().padStart(2, '0')} on line ${f.line} is not UTF-8)`;
  }
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

/**
 * Where the first invalid UTF-8 sequence starts (a byte offset), for the message only: whether the
 * bytes are valid is decided by `TextDecoder` in {@link findEncoding}. Follows the well-formed
 * byte sequences of Unicode 15, table 3-7.
 */
function firstInvalid(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/** Undefined when `bytes` are UTF-8 (with or without its BOM) holding no NUL; else what they are. */
export function findEncoding(bytes: Uint8Array): EnvEncodingFinding | undefined {
  const [a, b, c, d] = bytes;
  if (a === 0xff && b === 0xfe) return { kind: c === 0 && d === 0 && bytes.length >= 4 ? 'utf-32le' : 'utf-16le', bom: true };
  if (a === 0xfe && b === 0xff) return { kind: 'utf-16be', bom: true };
  if (a === 0 && b === 0 && c === 0xfe && d === 0xff) return { kind: 'utf-32be', bom: true };
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const offset = Math.min(firstInvalid(bytes), bytes.length - 1);
    return { kind: 'not-utf-8', offset, line: lineAt(bytes, offset), byte: bytes[offset] };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { kind: 'nul', offset: nul, line: lineAt(bytes, nul) };
  return undefined;
}

/**
 * The text of a `.env` file's bytes: valid UTF-8 only, a UTF-8 BOM kept as U+FEFF (so writing the
 * text back as UTF-8 gives the same bytes).
 * @param file names the file in the error.
 * @throws EnvEncodingError for anything else (UTF-16/32 with a BOM, NUL bytes, invalid UTF-8).
 */
export function decodeEnvBytes(bytes: Uint8Array, file: string): string {
  const finding = findEncoding(bytes);
  if (finding) throw new EnvEncodingError(finding, file);
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
}
