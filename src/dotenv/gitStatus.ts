import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';

/**
 * What git would do with a file:
 * - `tracked`: git tracks it; a token written there is one `git commit -a` from being published.
 * - `not-ignored`: untracked and not ignored; the next `git add .` takes it.
 * - `ignored`: safe.
 * - `no-repo`: the file is not in a git work tree; `no-git`: git is not installed.
 * - `git-failed`: git is there but could not answer (e.g. "detected dubious ownership"); unknown.
 */
export type GitFileStatus = 'tracked' | 'not-ignored' | 'ignored' | 'no-repo' | 'no-git' | 'git-failed';

interface GitRun {
  /** Exit code; -1 when the git executable was not found. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function git(gitPath: string, cwd: string, args: string[]): Promise<GitRun> {
  return new Promise(resolve => {
    // LC_ALL=C: git's messages in English, whatever the user's language ("not a git repository" is read below).
    execFile(gitPath, args, { cwd, timeout: 10_000, windowsHide: true, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const code = err ? ((err as NodeJS.ErrnoException).code === 'ENOENT' ? -1 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The nearest folder on the way to `file` that exists (git cannot run in a missing one). */
async function nearestExistingFolder(file: string): Promise<string> {
  let dir = path.dirname(file);
  for (;;) {
    const isDir = await fsp.stat(dir).then(s => s.isDirectory(), () => false);
    const up = path.dirname(dir);
    if (isDir || up === dir) return dir;
    dir = up;
  }
}

/**
 * Asks git about `file` (absolute path; it and its folders need not exist yet), running git in
 * the nearest existing folder on the way and naming the file relative to it. Spawning git in a
 * missing folder fails with ENOENT just like a missing git, which is why it never runs there.
 * `gitPath` is the executable (tests name a missing one). Never throws; each git call has a
 * 10-second timeout.
 */
export async function gitFileStatus(file: string, gitPath = 'git'): Promise<GitFileStatus> {
  const cwd = await nearestExistingFolder(file);
  const rel = path.relative(cwd, file);
  const inside = await git(gitPath, cwd, ['rev-parse', '--is-inside-work-tree']);
  if (inside.code === -1) return 'no-git';
  if (inside.code === 0 && inside.stdout.trim() === 'false') return 'no-repo'; // inside a .git folder
  if (inside.code !== 0) return /not a git repository/i.test(inside.stderr) ? 'no-repo' : 'git-failed';
  const tracked = await git(gitPath, cwd, ['ls-files', '--error-unmatch', '--', rel]);
  if (tracked.code === 0) return 'tracked';
  // check-ignore: 0 ignored, 1 not ignored, 128 fatal.
  const ignored = await git(gitPath, cwd, ['check-ignore', '-q', '--', rel]);
  return ignored.code === 0 ? 'ignored' : ignored.code === 1 ? 'not-ignored' : 'git-failed';
}

/**
 * The `.gitignore` text with `entry` added on its own line (kept as is when already listed),
 * preserving the file's line endings.
 */
export function addGitignoreEntry(text: string, entry: string): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  if (lines.some(l => l.trim() === entry || l.trim() === `/${entry}`)) return text;
  const sep = text.length === 0 || text.endsWith('\n') ? '' : eol;
  return `${text}${sep}${entry}${eol}`;
}
