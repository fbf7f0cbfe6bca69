import type { PathApi } from './envPath';

/**
 * How Windows reads a path before it reaches a file, for the `.env` confinement (envPath.ts) when
 * the path flavour is `path.win32` (Windows Node, or a test that hands it in). `path.win32`
 * already compares case-insensitively (`C:` and `c:`) and knows UNC roots (`\\server\share`), but
 * it does not know what the Win32 file API does to a name afterwards, so these rules come first:
 *
 * - `\\?\`, `\\.\` and `\??\` hand the rest to the object manager unchanged: no `..` folding, no
 *   trimming, and devices (`\\.\PhysicalDrive0`) are reachable. Refused.
 * - `C:name` (a drive without a separator) is relative to that drive's current folder, which the
 *   process keeps per drive, not to the workspace folder. Refused.
 * - Any other `:` names an alternate data stream (`.env:stream`, `.env::$DATA`): a hidden part of
 *   the file that no editor or dotenv loader shows. Refused.
 * - Reserved device names (`CON`, `PRN`, `AUX`, `NUL`, `COM0`-`COM9`, `LPT0`-`LPT9`, also with
 *   superscript digits, `CONIN$`, `CONOUT$`), in any case, with any extension (`CON.env`) and with
 *   trailing spaces (`NUL .txt`), open the device, not a file. Refused.
 * - Trailing dots and spaces are dropped from every name (`.env.` writes `.env`; `.. ` is `..`), so
 *   the path is checked, and written, as Windows will use it. A name made only of dots and spaces
 *   other than `.` and `..` (`...`) has no file Windows can create. Refused.
 *
 * Sources: Microsoft, "Naming Files, Paths, and Namespaces" (Win32 file namespaces, reserved
 * names, trailing period and space) and ".NET file path formats" (path normalization).
 */

/** What a Windows rule says about a given path: a refusal, or the path as Windows will use it. */
export type WindowsPathVerdict =
  | { readonly kind: 'use'; readonly given: string }
  | { readonly kind: 'refuse'; readonly reason: 'outside-folder' | 'not-a-file'; readonly why: string };

const DEVICE_PREFIX = /^[\\/]{2}[?.][\\/]|^[\\/]\?\?[\\/]/;
const DRIVE_RELATIVE = /^[A-Za-z]:(?![\\/])/;
const RESERVED = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)$/i;

/** Whether `p` is the Windows flavour (`path.win32`, or `path` on Windows Node). */
export function isWindowsFlavour(p: PathApi): boolean {
  return p.sep === '\\';
}

/** The Windows verdict on `given` (a setting's value or a command's argument), by strings alone. */
export function windowsPathVerdict(given: string): WindowsPathVerdict {
  const prefix = DEVICE_PREFIX.exec(given);
  if (prefix) {
    return { kind: 'refuse', reason: 'outside-folder', why: `uses the Windows device prefix ${prefix[0]}, which skips Windows' path rules and can reach any file or device` };
  }
  const drive = DRIVE_RELATIVE.exec(given);
  if (drive) {
    return { kind: 'refuse', reason: 'outside-folder', why: `is relative to the current folder of drive ${drive[0]}, which Windows keeps per process, not to the workspace folder` };
  }
  const root = /^[A-Za-z]:[\\/]|^[\\/]+/.exec(given)?.[0] ?? '';
  const names = given.slice(root.length).split(/[\\/]/);
  if (names.some(n => n.includes(':'))) {
    return { kind: 'refuse', reason: 'not-a-file', why: 'names an alternate data stream (the part after ":"), a hidden part of a file that editors and dotenv loaders do not read' };
  }
  const kept: string[] = [];
  for (const [i, name] of names.entries()) {
    if (name === '' || name === '.' || name === '..') {
      kept.push(name);
      continue;
    }
    // Windows drops trailing spaces, so ".. " and ". " are ".." and "."; they are then folded like any other.
    const spaceless = name.replace(/ +$/, '');
    if (spaceless === '.' || spaceless === '..') {
      kept.push(spaceless);
      continue;
    }
    const trimmed = name.replace(/[. ]+$/, '');
    if (trimmed === '') {
      return { kind: 'refuse', reason: 'not-a-file', why: `has the name ${JSON.stringify(name)}, made only of dots and spaces, which Windows cannot create` };
    }
    const device = trimmed.split('.')[0].replace(/ +$/, '');
    if (RESERVED.test(device)) {
      return { kind: 'refuse', reason: 'not-a-file', why: `names the Windows device ${device.toUpperCase()}${i < names.length - 1 ? ' as a folder' : ''}, not a file` };
    }
    kept.push(trimmed);
  }
  return { kind: 'use', given: root + kept.join('\\') };
}
