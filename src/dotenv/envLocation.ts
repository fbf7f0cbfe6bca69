import { constants, promises as fsp } from 'fs';
import path = require('path');
import { decodeEnvBytes } from './envEncoding';
import { EnvPathError, envFileInFolder, realEnvFile } from './envPath';

/** A `.env` file that may be written: inside its workspace folder, on disk too. */
export interface EnvFileLocation {
  /** The absolute path as the user sees it (under the folder). */
  readonly file: string;
  /** Where the bytes go: `file` with every symbolic link resolved (inside the folder's real path). */
  readonly real: string;
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/**
 * Resolves `given` (relative to `folder`, or absolute) to a file inside `folder`, then follows
 * the symbolic links on the way with `fs.realpath` (the file itself when it exists, else its
 * nearest existing parent) and checks that the real path is still inside the folder's real path
 * (the decision: envPath.ts). Look up again before every write: a link can appear later.
 * @param source names `given` in error messages, e.g. `the setting infusionsoft.env.file`.
 * @throws EnvPathError when the path is refused; fs errors other than "does not exist".
 */
export async function locateEnvFile(folder: string, given: string, source?: string): Promise<EnvFileLocation> {
  const file = envFileInFolder(folder, given, source);
  const realFolder = await fsp.realpath(folder);
  let existing = file;
  for (;;) {
    try {
      await fsp.lstat(existing);
      break;
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTDIR') throw e;
    }
    const up = path.dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  let realExisting: string;
  try {
    realExisting = await fsp.realpath(existing);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ELOOP') throw e;
    throw new EnvPathError('broken-symlink', given, `${source ? `${source} (${JSON.stringify(given)})` : JSON.stringify(given)} goes through the symbolic link ${existing}, which points at nothing; nothing was written.`);
  }
  return { file, real: realEnvFile(file, given, { realFolder, existing, realExisting }, source) };
}

/**
 * The largest `.env` file read (bytes, 1 MiB). The variables this extension writes take a few
 * hundred bytes; a file it is asked to read after a refused refresh or at a sync may have been
 * replaced by a `git pull`, and 100 MB took 27 s and 2.7 GB of the extension host to parse.
 */
export const MAX_ENV_FILE_BYTES = 1_048_576;

/**
 * The file's text (UTF-8, a BOM kept as U+FEFF), or undefined when it does not exist; over
 * {@link MAX_ENV_FILE_BYTES} it is refused, and so is a file that is not UTF-8 (envEncoding.ts). With `own`, read as a write would reach it: not through
 * a symbolic link that appeared since (`O_NOFOLLOW` where the OS has it), and not a file with a
 * second name.
 * @throws EnvPathError `too-large`, `hard-link` (with `own`), `not-a-file` (a folder, named pipe
 *   or device: never waits on a pipe); EnvEncodingError; fs errors.
 */
export async function readEnvText(real: string, own = false): Promise<string | undefined> {
  let handle: fsp.FileHandle;
  try {
    // O_NONBLOCK: a named pipe at the path opens at once (and is refused below) instead of waiting for a writer.
    handle = await fsp.open(real, constants.O_RDONLY | NONBLOCK | (own ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw (await notAFileAt(real)) ?? e;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notAFile(real);
    const { nlink, size } = stat;
    if (own && nlink > 1) throw new EnvPathError('hard-link', real, `${real} has ${nlink} names (hard links); it is not read.`);
    return await readBounded(handle, real, size);
  } finally {
    await handle.close();
  }
}

/** The text of an open file, refused over {@link MAX_ENV_FILE_BYTES}. @throws EnvPathError `too-large`; EnvEncodingError. */
async function readBounded(handle: fsp.FileHandle, real: string, size: number): Promise<string> {
  if (size > MAX_ENV_FILE_BYTES) throw tooLarge(real, size);
  // Read what is there, bounded: the file may grow between the stat and the read. Only the bytes read are decoded.
  const buffer = Buffer.allocUnsafe(MAX_ENV_FILE_BYTES + 1);
  let length = 0;
  for (let n; length < buffer.length && (n = (await handle.read(buffer, length, buffer.length - length, length)).bytesRead) > 0; ) length += n;
  if (length > MAX_ENV_FILE_BYTES) throw tooLarge(real, length);
  return decodeEnvBytes(buffer.subarray(0, length), real);
}

/** `O_NONBLOCK` where the OS has it (not on Windows, which has no named pipes in the file system). */
const NONBLOCK = constants.O_NONBLOCK ?? 0;

function notAFile(real: string): EnvPathError {
  return new EnvPathError('not-a-file', real, `${real} is not a regular file (a folder, a named pipe or a device); it is neither read nor written.`);
}

/** After an open failed (EISDIR, ENXIO, or what the OS says instead): the refusal when something other than a regular file is there. */
async function notAFileAt(real: string): Promise<EnvPathError | undefined> {
  const stat = await fsp.lstat(real).catch(() => undefined);
  return stat && !stat.isFile() && !stat.isSymbolicLink() ? notAFile(real) : undefined;
}

function tooLarge(real: string, size: number): EnvPathError {
  return new EnvPathError('too-large', real, `${real} is ${size.toLocaleString('en')} bytes, over 1 MiB (a .env file holds a few kilobytes); it is neither read nor written.`);
}

/** {@link readEnvText} with `own`: as a write would reach it (from {@link locateEnvFile}). */
export function readOwnEnvText(real: string): Promise<string | undefined> {
  return readEnvText(real, true);
}

/** Owner read and write only. */
export const OWNER_ONLY = 0o600;

/**
 * Writes `text` to `real` (from {@link locateEnvFile}) so that only its owner can read it, where
 * the OS has file modes: a new file is created with mode 0600 (`O_EXCL`, so never through a link
 * that appeared since the check); an existing file is set to 0600 before its new bytes are
 * written, and is opened with `O_NOFOLLOW` where the OS has it. Missing parent folders are created.
 * Written with fs directly, not through an editor: no editor turns dirty, so VS Code makes no
 * Local History entry or hot-exit backup of the tokens.
 * @returns whether the file was created.
 * @throws EnvPathError `hard-link` when the existing file has more than one name (nothing is
 *   written: another name may be outside the folder); `not-a-file` for a folder, named pipe or
 *   device at the path (never waits on a pipe); fs errors.
 */
export async function writeOwnerOnly(real: string, text: string): Promise<boolean> {
  await fsp.mkdir(path.dirname(real), { recursive: true });
  const nofollow = constants.O_NOFOLLOW ?? 0;
  let handle: fsp.FileHandle;
  let created = true;
  try {
    handle = await fsp.open(real, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | nofollow, OWNER_ONLY);
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') throw (await notAFileAt(real)) ?? e;
    created = false;
    try {
      // O_NONBLOCK: a named pipe with no reader fails at once (ENXIO) instead of waiting for one.
      handle = await fsp.open(real, constants.O_WRONLY | nofollow | NONBLOCK);
    } catch (e2) {
      throw (await notAFileAt(real)) ?? e2;
    }
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notAFile(real);
    // A hard link is another name of the same bytes, possibly outside the folder (realpath cannot see it).
    const { nlink } = stat;
    if (!created && nlink > 1) {
      throw new EnvPathError('hard-link', real, `${real} has ${nlink} names (hard links); another may be outside the workspace folder, so the tokens are not written to it. Nothing was written.`);
    }
    if (process.platform !== 'win32') await handle.chmod(OWNER_ONLY);
    await handle.truncate(0);
    await handle.writeFile(text, 'utf8');
  } finally {
    await handle.close();
  }
  return created;
}
