import fs = require('fs');
import os = require('os');
import path = require('path');
import { PROTOCOL_VERSION } from './protocol';

/**
 * Where the token helper's doors are: one private folder per user holding, for each VS Code window
 * whose helper is on, a Unix socket (`w-<id>.sock`; on Windows a named pipe `\\.\pipe\keap-token-<id>`)
 * and its registry entry (`w-<id>.json`: address, secret, process id). `keap-token` tries the
 * window its terminal names first, then every entry, so a call still works after that window closed.
 * The folder is the user's alone (0700, owned by them, not a link); so is every file in it (0600).
 * Node only, no `vscode`: the CLI (src/tokenHelper/cli.ts) reads it too.
 */

/** One window's door, as its registry entry says. */
export interface HelperEntry {
  readonly v: typeof PROTOCOL_VERSION;
  /** The socket path or pipe name. */
  readonly address: string;
  /** The window's secret (hex). */
  readonly secret: string;
  /** The extension host's process id (a dead one marks a stale entry). */
  readonly pid: number;
  /** Epoch ms: the newest window is tried first. */
  readonly startedAt: number;
}

/** The environment variables terminals get (src/vscode/tokenHelper.ts) and `keap-token` reads. */
export const ENV = {
  /** The address of the window whose terminal this is. */
  address: 'KEAP_TOKEN_IPC',
  /** The private folder of every window's entry. */
  dir: 'KEAP_TOKEN_IPC_DIR',
  /** That window's secret. */
  secret: 'KEAP_TOKEN_SECRET',
  /** The extension host's Node (Electron run as Node) for the `keap-token` wrapper scripts. */
  node: 'KEAP_TOKEN_NODE',
} as const;

/**
 * The private folder: `$XDG_RUNTIME_DIR/keap-token` (a folder systemd already keeps owner-only),
 * else `<tmpdir>/keap-token-<uid>`; on Windows `<tmpdir>\keap-token` (the user's own temp folder).
 */
export function helperDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(os.tmpdir(), 'keap-token');
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'keap-token');
  return path.join(os.tmpdir(), `keap-token-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);
}

/** Why a folder is not private, or undefined when it is: a real folder, owned by this user, with no group or other permission bits (not checked on Windows). */
export function privateDirProblem(dir: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) return 'not a folder';
  if (process.platform === 'win32') return undefined;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return 'owned by another user';
  if (st.mode & 0o077) return `mode ${(st.mode & 0o777).toString(8)} lets others in`;
  return undefined;
}

/**
 * Creates the private folder (0700) or checks the one there; tightens the mode of one this user
 * owns. Throws when the path is a link, not a folder, or another user's.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let problem = privateDirProblem(dir);
  if (problem?.startsWith('mode ')) {
    fs.chmodSync(dir, 0o700);
    problem = privateDirProblem(dir);
  }
  if (problem) throw new Error(`the token helper's folder ${dir} is not private (${problem})`);
}

/** The socket path (or pipe name on Windows) of the window `id` (`w-` and 16 hex digits). */
export function addressOf(dir: string, id: string, platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? `\\\\.\\pipe\\keap-token-${id}` : path.join(dir, `${id}.sock`);
}

/** The registry file of the window `id`. */
export function entryFile(dir: string, id: string): string {
  return path.join(dir, `${id}.json`);
}

/** Reads one registry file; undefined when it is not an entry. */
export function parseEntry(text: string): HelperEntry | undefined {
  try {
    const v = JSON.parse(text) as Partial<HelperEntry>;
    if (v.v !== PROTOCOL_VERSION || typeof v.address !== 'string' || typeof v.secret !== 'string' || typeof v.pid !== 'number' || typeof v.startedAt !== 'number') return undefined;
    return { v: v.v, address: v.address, secret: v.secret, pid: v.pid, startedAt: v.startedAt };
  } catch {
    return undefined;
  }
}

/** Every window's entry in the folder (newest first), with its file's id; unreadable files are skipped. */
export function listEntries(dir: string): Array<HelperEntry & { readonly id: string }> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<HelperEntry & { id: string }> = [];
  for (const name of names) {
    const m = /^(w-[0-9a-f]{16})\.json$/.exec(name);
    if (!m) continue;
    try {
      const e = parseEntry(fs.readFileSync(path.join(dir, name), 'utf8'));
      if (e) out.push({ ...e, id: m[1] });
    } catch {
      // Gone meanwhile (its window closed).
    }
  }
  return out.sort((a, b) => b.startedAt - a.startedAt);
}

/** Whether a process id is alive (signal 0; EPERM: alive, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
