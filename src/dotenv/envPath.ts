import path = require('path');
import { isWindowsFlavour, windowsPathVerdict } from './windowsPath';

/**
 * Where a `.env` file may be written — a pure decision (no fs): inside the workspace folder the
 * user opened, where they can see it, and nowhere else.
 *
 * `infusionsoft.env.file` is a resource-scoped setting, so a cloned repository's
 * `.vscode/settings.json` can set it (cases.md, S5). A value such as `../outside/keap.env`, an
 * absolute path elsewhere, or a symbolic link inside the folder that points out of it would put
 * tokens in a file the user never chose. The lexical part is decided here from the strings; the
 * symlink part from real paths (`fs.realpath`) that the caller looked up (see envLocation.ts).
 */

/** The `path` flavour to use (`path.posix` or `path.win32`); tests pass either. */
export type PathApi = Pick<typeof path, 'resolve' | 'relative' | 'isAbsolute' | 'sep' | 'join'>;

export type EnvPathRefusal =
  /** The path names the folder itself (empty, `.`, a trailing separator leading nowhere), or a folder, pipe or device. */
  | 'not-a-file'
  /** `..` or an absolute path leads out of the folder. */
  | 'outside-folder'
  /** A symbolic link (the file or a folder on the way) leads out of the folder. */
  | 'symlink-outside'
  /** A symbolic link on the way points at nothing: where it would lead cannot be checked. */
  | 'broken-symlink'
  /** The file has another name (a hard link) that may be outside the folder. */
  | 'hard-link'
  /** The file is over MAX_ENV_FILE_BYTES (envLocation.ts): not read, so not written either. */
  | 'too-large';

/** Thrown when a `.env` path is refused; `message` names the path and, when given, the setting. */
export class EnvPathError extends Error {
  constructor(
    readonly reason: EnvPathRefusal,
    /** The path as given (the setting's value or the command's argument). */
    readonly given: string,
    message: string,
  ) {
    super(message);
    this.name = 'EnvPathError';
  }
}

/** Whether `target` is strictly below `folder` (both absolute, same flavour). */
export function isInsideFolder(folder: string, target: string, p: PathApi = path): boolean {
  const rel = p.relative(p.resolve(folder), p.resolve(target));
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel);
}

function describe(given: string, source: string | undefined): string {
  return source ? `${source} (${JSON.stringify(given)})` : JSON.stringify(given);
}

/**
 * The absolute file `given` names, resolved against `folder` (absolute), by strings alone.
 * `source` names where `given` came from for the error message, e.g. the setting
 * `infusionsoft.env.file`.
 * With the Windows flavour (`path.win32`: on Windows Node, or handed in by a test) the path is first
 * read as Windows reads it (windowsPath.ts): device prefixes, drive-relative paths, data streams
 * and device names are refused, and trailing dots and spaces dropped.
 * @throws EnvPathError `not-a-file` or `outside-folder`.
 */
export function envFileInFolder(folder: string, given: string, source?: string, p: PathApi = path): string {
  let asUsed = given;
  if (isWindowsFlavour(p)) {
    const verdict = windowsPathVerdict(given);
    if (verdict.kind === 'refuse') {
      throw new EnvPathError(
        verdict.reason,
        given,
        `${describe(given, source)} ${verdict.why}; nothing was written.` +
          (verdict.reason === 'outside-folder' ? ` The workspace folder is ${folder}. A .env file holding tokens must stay inside the folder you opened.` : ''),
      );
    }
    asUsed = verdict.given;
  }
  const file = p.resolve(folder, asUsed);
  if (p.relative(p.resolve(folder), file) === '' || /[\\/]$/.test(given)) {
    throw new EnvPathError('not-a-file', given, `${describe(given, source)} names the folder ${folder}, not a file; nothing was written.`);
  }
  if (!isInsideFolder(folder, file, p)) {
    throw new EnvPathError(
      'outside-folder',
      given,
      `${describe(given, source)} leads to ${file}, outside the workspace folder ${folder}; nothing was written. ` +
        'A .env file holding tokens must stay inside the folder you opened.',
    );
  }
  return file;
}

/** What the caller looked up on disk for {@link realEnvFile}. */
export interface RealPaths {
  /** `fs.realpath` of the workspace folder. */
  readonly realFolder: string;
  /** The nearest existing path on the way to the file (the file itself when it exists). */
  readonly existing: string;
  /** `fs.realpath(existing)`. */
  readonly realExisting: string;
}

/**
 * The real path the write would reach: `realExisting` plus the part of `file` that does not exist
 * yet. It must be inside `realFolder`, so a symbolic link (to a file or a folder) may point within
 * the folder but never out of it.
 * @param file the absolute path from {@link envFileInFolder}.
 * @throws EnvPathError `symlink-outside`.
 */
export function realEnvFile(file: string, given: string, real: RealPaths, source?: string, p: PathApi = path): string {
  const target = p.join(real.realExisting, p.relative(real.existing, file));
  if (!isInsideFolder(real.realFolder, target, p)) {
    throw new EnvPathError(
      'symlink-outside',
      given,
      `${describe(given, source)} goes through a symbolic link to ${target}, outside the workspace folder ${real.realFolder}; nothing was written.`,
    );
  }
  return target;
}
