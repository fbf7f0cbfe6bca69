import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gitFileStatus, GitFileStatus, isSafeGitStatus, mayKeepWriting, resolveGit } from '../../src/dotenv/gitStatus';
import { describeWhere, NO_GIT } from '../support/platform';

/**
 * Issue 17.1, cases.md S7: a folder's own git configuration never runs. Real git, real temporary
 * repositories whose configuration would create a marker file if git obeyed it.
 */
describeWhere(NO_GIT, 'the .env git guard never runs a folder\'s git configuration (S7)', function () {
    this.timeout(30_000);
    let root: string;
    let marker: string;
    /** A shell command for git's configuration that leaves the marker behind (and fails, as a broken fsmonitor would). */
    let touch: string;
    const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });

    /** A repository with a tracked, an ignored and a plain file; `config` lines go into its .git/config. */
    function repoWith(name: string, config: Record<string, string>): string {
        const repo = path.join(root, name);
        fs.mkdirSync(repo, { recursive: true });
        git(repo, 'init', '-q');
        fs.writeFileSync(path.join(repo, 'tracked.env'), 'A=1\n');
        fs.writeFileSync(path.join(repo, '.gitignore'), '.env\n');
        git(repo, 'add', 'tracked.env', '.gitignore');
        git(repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
        for (const [k, v] of Object.entries(config)) git(repo, 'config', k, v);
        return repo;
    }

    async function answers(repo: string, trusted = true): Promise<string[]> {
        return Promise.all(['tracked.env', '.env', 'plain.env', 'new/dir/.env'].map(f => gitFileStatus(path.join(repo, f), { trusted })));
    }

    before(function () {
        if (process.platform === 'win32') this.skip(); // the marker command is a POSIX shell command
        root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'gitguard-')));
        marker = path.join(root, 'MARKER');
        touch = `touch '${marker}'; false`;
    });
    afterEach(() => fs.rmSync(marker, { force: true }));
    after(() => root && fs.rmSync(root, { recursive: true, force: true }));

    it('the premise: plain git runs the repository\'s core.fsmonitor command for ls-files (so the test can fail)', () => {
        const repo = repoWith('premise', { 'core.fsmonitor': touch });
        try {
            execFileSync('git', ['ls-files', '--error-unmatch', '--', 'tracked.env'], { cwd: repo, stdio: 'ignore' });
        } catch {
            /* the answer does not matter */
        }
        assert.equal(fs.existsSync(marker), true, 'git ran the folder\'s fsmonitor command');
    });

    it('core.fsmonitor in .git/config: the guard answers as before and the command never runs', async () => {
        const repo = repoWith('fsmonitor', { 'core.fsmonitor': touch });
        assert.deepEqual(await answers(repo), ['tracked', 'ignored', 'not-ignored', 'ignored']);
        assert.equal(fs.existsSync(marker), false, 'the folder\'s command ran');
    });

    it('core.fsmonitor in a file the repository includes (include.path), and core.untrackedCache: never runs', async () => {
        const included = path.join(root, 'included.gitconfig');
        fs.writeFileSync(included, `[core]\n\tfsmonitor = ${touch}\n\tuntrackedCache = true\n`);
        const repo = repoWith('include', { 'include.path': included });
        assert.deepEqual(await answers(repo), ['tracked', 'ignored', 'not-ignored', 'ignored']);
        assert.equal(fs.existsSync(marker), false);
    });

    it('an embedded git directory named by a .git file (gitdir:), as an archive or a committed folder brings it: never runs', async () => {
        const source = repoWith('embedded-source', { 'core.fsmonitor': touch });
        const folder = path.join(root, 'downloaded');
        fs.mkdirSync(folder);
        fs.renameSync(path.join(source, '.git'), path.join(folder, 'embedded.git'));
        for (const f of ['tracked.env', '.gitignore']) fs.copyFileSync(path.join(source, f), path.join(folder, f));
        fs.writeFileSync(path.join(folder, '.git'), 'gitdir: embedded.git\n');
        git(folder, 'config', 'core.worktree', folder);
        assert.deepEqual(await answers(folder), ['tracked', 'ignored', 'not-ignored', 'ignored']);
        assert.equal(fs.existsSync(marker), false);
    });

    it('a repository configuration that reads standard input (include.path = /dev/stdin) gets nothing and does not stall the answer', async () => {
        const repo = repoWith('stdin', { 'include.path': '/dev/stdin' });
        // With stdin an open pipe git waits for it until the 10-second limit, and the answer is git-failed.
        assert.deepEqual(await answers(repo), ['tracked', 'ignored', 'not-ignored', 'ignored']);
    });

    it('untrusted workspace: no git process at all, whatever git would do (decision function; code-server runs trusted)', async () => {
        const repo = repoWith('untrusted', { 'core.fsmonitor': touch });
        // A "git" that leaves the marker behind as soon as it is started.
        const spy = path.join(root, 'spy-git');
        fs.writeFileSync(spy, `#!/bin/sh\ntouch '${marker}'\nexec git "$@"\n`, { mode: 0o755 });
        assert.equal(await gitFileStatus(path.join(repo, '.env'), { trusted: false, gitPath: spy }), 'untrusted');
        assert.deepEqual(await answers(repo, false), ['untrusted', 'untrusted', 'untrusted', 'untrusted']);
        assert.equal(fs.existsSync(marker), false, 'a process was started in Restricted Mode');
        // The same spy, trusted: it runs (so the assertion above can fail).
        assert.equal(await gitFileStatus(path.join(repo, '.env'), { trusted: true, gitPath: spy }), 'ignored');
        assert.equal(fs.existsSync(marker), true);
    });

    it('git is looked up in PATH\'s absolute folders only, never in the folder it runs in (a git the workspace carries)', async () => {
        const planted = path.join(root, 'planted');
        const bin = path.join(root, 'bin');
        fs.mkdirSync(planted);
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(planted, 'git'), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
        fs.writeFileSync(path.join(bin, 'git'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
        const cwd = process.cwd();
        process.chdir(planted);
        try {
            assert.equal(await resolveGit('git', { PATH: `.${path.delimiter}${path.delimiter}planted${path.delimiter}${bin}` }), path.join(bin, 'git'));
            assert.equal(await resolveGit('git', { PATH: `.${path.delimiter}planted` }), undefined);
        } finally {
            process.chdir(cwd);
        }
        // Windows: PATHEXT, a case-insensitive Path variable, and no lookup in relative folders either.
        const seen: string[] = [];
        const isFile = async (p: string) => (seen.push(p), p === 'C:\\Git\\cmd\\git.exe');
        assert.equal(await resolveGit('git', { Path: '.;C:\\Git\\cmd', PATHEXT: '.COM;.EXE' }, 'win32', isFile), 'C:\\Git\\cmd\\git.exe');
        assert.ok(seen.every(p => p.startsWith('C:\\Git\\cmd\\')), seen.join(', '));
        assert.equal(fs.existsSync(marker), false);
    });
});

describe('keep-in-sync asks git every time: the decision (S9)', () => {
    const all: GitFileStatus[] = ['tracked', 'not-ignored', 'ignored', 'no-repo', 'no-git', 'git-failed', 'untrusted'];

    it('writes without asking only where git ignores the file or there is no git or repository', () => {
        assert.deepEqual(all.filter(isSafeGitStatus), ['ignored', 'no-repo', 'no-git']);
    });

    it('a file written as ignored stops syncing once git tracks it, un-ignores it, cannot answer, or may not be asked', () => {
        for (const now of all) assert.equal(mayKeepWriting(now, undefined), isSafeGitStatus(now), now);
    });

    it('"Write Anyway" covers exactly what the user saw: tracked stays writable while tracked, not when it turns into something else', () => {
        assert.equal(mayKeepWriting('tracked', 'tracked'), true);
        assert.equal(mayKeepWriting('untrusted', 'untrusted'), true);
        assert.equal(mayKeepWriting('tracked', 'not-ignored'), false);
        assert.equal(mayKeepWriting('git-failed', 'tracked'), false);
        assert.equal(mayKeepWriting('untrusted', 'not-ignored'), false);
        assert.equal(mayKeepWriting('ignored', 'tracked'), true);
    });
});
