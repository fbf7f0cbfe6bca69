import { spawnSync } from 'node:child_process';

/**
 * Why a test cannot run on this platform, said in the test's own name (a skip without a reason
 * is a defect). Windows Node under Wine (scripts/windows/test-windows.sh) has no git, no bash,
 * no Linux Chromium and no esbuild binary for win32: the unit suite is built on Linux and only run
 * there. Each reason is checked, never assumed from the platform alone, so a Windows machine that
 * has git runs the git tests.
 */
export const WINDOWS = process.platform === 'win32';

function runs(command: string, args: string[]): boolean {
  const r = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return !r.error && r.status === 0;
}

function esbuildRuns(): boolean {
  try {
    require.resolve(`@esbuild/${process.platform}-${process.arch}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Reasons, computed once; undefined where the test runs. */
export const NO_GIT = WINDOWS && !runs('git', ['--version']) ? 'no git on this Windows Node (Wine has none); the no-git fallback is tested' : undefined;
export const NO_BASH = WINDOWS && !runs('bash', ['-c', 'true']) ? 'no bash on this Windows Node (Wine has none)' : undefined;
export const NO_OPENSSL = WINDOWS && !runs('openssl', ['version']) ? 'no openssl on this Windows Node (Wine has none) to make the self-signed certificate' : undefined;
export const NO_PYTHON = WINDOWS && !runs('python3', ['--version']) && !runs('python', ['--version']) ? 'no Python on this Windows Node (Wine has none), so no python-dotenv' : undefined;
export const NO_ESBUILD = WINDOWS && !esbuildRuns() ? 'no esbuild binary for win32 (the bundle is built and tested on Linux)' : undefined;

/** The title with the reason appended when `reason` says the test cannot run here. */
export function titled(title: string, reason: string | undefined): string {
  return reason ? `${title} [skipped here: ${reason}]` : title;
}

/** `it`, or `it.skip` with the reason in the title. */
export function itWhere(reason: string | undefined, title: string, fn: Mocha.Func | Mocha.AsyncFunc): Mocha.Test {
  return reason ? it.skip(titled(title, reason), fn) : it(title, fn);
}

/** `describe`, or `describe.skip` with the reason in the title. */
export function describeWhere(reason: string | undefined, title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  return reason ? describe.skip(titled(title, reason), fn) : describe(title, fn);
}

function symlinksWork(): boolean {
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'symlink-probe-'));
  try {
    fs.writeFileSync(path.join(dir, 'target'), '');
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'));
    return fs.lstatSync(path.join(dir, 'link')).isSymbolicLink();
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Windows lets only an elevated user or Developer Mode make symbolic links; Wine 8 makes none (it reports success). */
export const NO_SYMLINKS = WINDOWS && !symlinksWork() ? 'symbolic links need a privilege on Windows, and Wine 8 makes none' : undefined;
