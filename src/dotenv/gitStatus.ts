import { execFile } from 'child_process';
import * as path from 'path';

/**
 * What git would do with a file:
 * - `tracked`: git tracks it; a token written there is one `git commit -a` from being published.
 * - `not-ignored`: untracked and not ignored; the next `git add .` takes it.
 * - `ignored`: safe.
 * - `no-repo`: the folder is not in a git work tree; `no-git`: git is not installed.
 */
export type GitFileStatus = 'tracked' | 'not-ignored' | 'ignored' | 'no-repo' | 'no-git';

function git(cwd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise(resolve => {
    execFile('git', args, { cwd, timeout: 10_000, windowsHide: true }, (err, stdout) => {
      const code = err ? ((err as NodeJS.ErrnoException).code === 'ENOENT' ? -1 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });
}

/** Asks git about `file` (absolute path) from its folder. Never throws. */
export async function gitFileStatus(file: string): Promise<GitFileStatus> {
  const dir = path.dirname(file);
  const inside = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  if (inside.code === -1) return 'no-git';
  if (inside.code !== 0 || inside.stdout.trim() !== 'true') return 'no-repo';
  const tracked = await git(dir, ['ls-files', '--error-unmatch', '--', path.basename(file)]);
  if (tracked.code === 0) return 'tracked';
  const ignored = await git(dir, ['check-ignore', '-q', '--', path.basename(file)]);
  return ignored.code === 0 ? 'ignored' : 'not-ignored';
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
