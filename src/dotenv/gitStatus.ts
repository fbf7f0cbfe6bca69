import { spawn } from 'child_process';
import { promises as fsp } from 'fs';
import os = require('os');
import path = require('path');

/**
 * What git would do with a file:
 * - `tracked`: git tracks it; a token written there is one `git commit -a` from being published.
 * - `not-ignored`: untracked and not ignored; the next `git add .` takes it.
 * - `ignored`: safe.
 * - `no-repo`: the file is not in a git work tree; `no-git`: git is not installed.
 * - `git-failed`: git is there but could not answer (e.g. "detected dubious ownership"); unknown.
 * - `untrusted`: the workspace is not trusted (Restricted Mode), so git was not asked; unknown.
 */
export type GitFileStatus = 'tracked' | 'not-ignored' | 'ignored' | 'no-repo' | 'no-git' | 'git-failed' | 'untrusted';

/**
 * A folder's own git configuration never runs (cases.md S7). git reads the configuration of the
 * repository it runs in, and a folder can bring its own (a downloaded archive, a shared drive, a
 * `.git` file pointing at an embedded git directory committed as plain files). The keys of that
 * configuration that execute something for the three commands asked here (`rev-parse`,
 * `ls-files`, `check-ignore`), checked with git 2.39:
 * - `core.fsmonitor`: a command run to list changed files whenever the index is read, which
 *   `ls-files` and `check-ignore` do (a `.git/config` with `fsmonitor = touch marker` ran it on
 *   every Insert Token). Switched off per call: `-c core.fsmonitor=false`. Command-line `-c` wins
 *   over every configuration file, `include.path`/`includeIf` files of the repository too.
 * - hooks (`core.hooksPath`): none of the three runs a hook; pointed at the null device anyway,
 *   should a git version add one (e.g. `post-index-change` on an index write).
 * - `core.untrackedCache`: runs nothing, but would make git write the index: off.
 * - `GIT_OPTIONAL_LOCKS=0`: no opportunistic index write.
 * - `core.pager`/`pager.*`: git pages only to a terminal; the output here is a pipe, and
 *   `--no-pager` says so.
 * - `include.path = /dev/stdin`-like tricks: stdin is the null device, git reads nothing (an open
 *   pipe made git wait for the 10-second limit).
 * - not read by these commands: `core.sshCommand`, `core.askPass`, `credential.*`, `filter.*`
 *   (no checkout or add), `diff.external`, `*.textconv`, `gpg.program`, `core.editor`,
 *   `core.alternateRefsCommand`; `alias.*` can never replace a built-in command; `trace2.*` and
 *   `safe.directory` are read from the user's and the system's configuration only.
 * - the executable itself: `git` is looked up in the directories of PATH that are absolute, never
 *   in the folder git runs in (Windows would otherwise run a `git.exe` the folder carries).
 * The user's own (global) and the system configuration are kept: `core.excludesFile` there is
 * part of the answer "is it ignored?".
 *
 * Decision (issue 17.1): ask git with these per-call overrides rather than reading `.gitignore`
 * and the index ourselves, since the answer must be git's own (global excludes, `info/exclude`,
 * negations, sparse and split indexes); and in an untrusted workspace run no git process at all
 * (`untrusted`): the caller then says it could not ask git and asks the user.
 */
export const GIT_SAFE_ARGS: readonly string[] = [
  '--no-pager',
  '-c', 'core.fsmonitor=false',
  '-c', 'core.untrackedCache=false',
  '-c', `core.hooksPath=${os.devNull}`,
];

/** The environment of a guarded git call: the user's, plus English messages and no optional locks. */
export function gitSafeEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // LC_ALL=C: git's messages in English, whatever the user's language ("not a git repository" is read below).
  return { ...env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' };
}

/**
 * The absolute path of the git executable: `gitPath` itself when it has a directory part (an
 * absolute path; tests name one), else the first match in PATH's absolute directories (with
 * PATHEXT on Windows), never the current folder. Undefined when there is none.
 */
export async function resolveGit(
  gitPath = 'git',
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  isFile: (p: string) => Promise<boolean> = p => fsp.stat(p).then(s => s.isFile(), () => false),
): Promise<string | undefined> {
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (gitPath.includes('/') || (platform === 'win32' && gitPath.includes('\\'))) return p.isAbsolute(gitPath) && (await isFile(gitPath)) ? gitPath : undefined;
  const pathVar = (platform === 'win32' ? Object.entries(env).find(([k]) => k.toUpperCase() === 'PATH')?.[1] : env.PATH) ?? '';
  const exts = platform === 'win32' ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean) : [''];
  for (const dir of pathVar.split(p.delimiter)) {
    if (!dir || !p.isAbsolute(dir)) continue; // '' and '.' would be the folder git runs in
    for (const ext of platform === 'win32' && !p.extname(gitPath) ? exts : ['']) {
      const candidate = p.join(dir, gitPath + ext.toLowerCase());
      if (await isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

interface GitRun {
  /** Exit code; -1 when the git executable was not found. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs git with {@link GIT_SAFE_ARGS}; stdin is the null device (a configuration that reads it gets nothing). */
function git(exe: string, cwd: string, args: string[]): Promise<GitRun> {
  return new Promise(resolve => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const done = (run: GitRun) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(run);
    };
    const child = spawn(exe, [...GIT_SAFE_ARGS, ...args], { cwd, windowsHide: true, env: gitSafeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill();
      done({ code: 1, stdout: '', stderr: 'git did not answer within 10 seconds' });
    }, 10_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', e => done({ code: (e as NodeJS.ErrnoException).code === 'ENOENT' ? -1 : 1, stdout: '', stderr: e.message }));
    child.on('close', code => done({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
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

/** How {@link gitFileStatus} may ask git. */
export interface GitAsk {
  /** `vscode.workspace.isTrusted`: false runs no git process at all (answer `untrusted`). */
  readonly trusted: boolean;
  /** The git executable: a bare name looked up in PATH (default `git`), or an absolute path (tests). */
  readonly gitPath?: string;
}

/**
 * Asks git about `file` (absolute path; it and its folders need not exist yet), running git in
 * the nearest existing folder on the way and naming the file relative to it, with the folder's
 * own git configuration unable to run anything ({@link GIT_SAFE_ARGS}). In an untrusted
 * workspace nothing runs: `untrusted`. Never throws; each git call has a 10-second timeout.
 */
export async function gitFileStatus(file: string, ask: GitAsk): Promise<GitFileStatus> {
  if (!ask.trusted) return 'untrusted';
  const exe = await resolveGit(ask.gitPath);
  if (exe === undefined) return 'no-git';
  const cwd = await nearestExistingFolder(file);
  const rel = path.relative(cwd, file);
  const inside = await git(exe, cwd, ['rev-parse', '--is-inside-work-tree']);
  if (inside.code === -1) return 'no-git';
  if (inside.code === 0 && inside.stdout.trim() === 'false') return 'no-repo'; // inside a .git folder
  if (inside.code !== 0) return /not a git repository/i.test(inside.stderr) ? 'no-repo' : 'git-failed';
  const tracked = await git(exe, cwd, ['ls-files', '--error-unmatch', '--', rel]);
  if (tracked.code === 0) return 'tracked';
  // check-ignore: 0 ignored, 1 not ignored, 128 fatal.
  const ignored = await git(exe, cwd, ['check-ignore', '-q', '--', rel]);
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

/** Statuses under which a token file may be written without asking: git ignores it, or there is no git or repository. */
const SAFE: readonly GitFileStatus[] = ['ignored', 'no-repo', 'no-git'];

/**
 * Whether keep-in-sync (and following the app's rotation) may still write a file git now says
 * `now` about (issue 17.3, cases.md S9): when it is safe, or exactly what the user accepted with
 * "Write Anyway" at Insert Token (`accepted`). A `git pull` that made an ignored file tracked or
 * not ignored, or git failing where it used to answer, stops the writes.
 */
export function mayKeepWriting(now: GitFileStatus, accepted: GitFileStatus | undefined): boolean {
  return SAFE.includes(now) || now === accepted;
}

/** Whether Insert Token may write a file git says `status` about without asking the user first. */
export function isSafeGitStatus(status: GitFileStatus): boolean {
  return SAFE.includes(status);
}
