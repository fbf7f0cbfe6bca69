import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gitFileStatus } from '../../src/dotenv/gitStatus';
import { describeWhere, itWhere, NO_GIT, WINDOWS } from '../support/platform';

const TRUSTED = { trusted: true } as const;

describeWhere(NO_GIT, 'envFile git guard: every path inside a repository (S5)', () => {
    let root: string;
    let repo: string;
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    before(() => {
        root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'envgit-')));
        repo = path.join(root, 'repo');
        fs.mkdirSync(path.join(repo, 'sub'), { recursive: true });
        git('init', '-q');
        fs.writeFileSync(path.join(repo, 'tracked.env'), 'A=1\n');
        fs.writeFileSync(path.join(repo, '.gitignore'), 'ignored-dir/\n*.secret.env\n');
        git('add', 'tracked.env', '.gitignore');
        git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
        fs.mkdirSync(path.join(root, 'plain'));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it('sub/new/.env, where sub/new does not exist yet, is not ignored (was: "git not installed", no warning)', async () => {
        assert.equal(fs.existsSync(path.join(repo, 'sub/new')), false);
        assert.equal(await gitFileStatus(path.join(repo, 'sub/new/.env'), TRUSTED), 'not-ignored');
        assert.equal(await gitFileStatus(path.join(repo, 'missing/deeper/keap.env'), TRUSTED), 'not-ignored');
        assert.equal(fs.existsSync(path.join(repo, 'sub/new')), false, 'asking creates nothing');
    });

    it('ignored paths, also inside a missing ignored folder', async () => {
        assert.equal(await gitFileStatus(path.join(repo, 'ignored-dir/new/.env'), TRUSTED), 'ignored');
        assert.equal(await gitFileStatus(path.join(repo, 'sub/new/app.secret.env'), TRUSTED), 'ignored');
    });

    it('a tracked file is tracked', async () => {
        assert.equal(await gitFileStatus(path.join(repo, 'tracked.env'), TRUSTED), 'tracked');
    });

    it('outside any repository: no-repo, for missing folders too', async () => {
        assert.equal(await gitFileStatus(path.join(root, 'plain/.env'), TRUSTED), 'no-repo');
        assert.equal(await gitFileStatus(path.join(root, 'plain/a/b/.env'), TRUSTED), 'no-repo');
    });

    it('git missing: no-git, whether the folder exists or not', async () => {
        const missing = path.join(root, 'no-such-git');
        assert.equal(await gitFileStatus(path.join(repo, 'sub/.env'), { trusted: true, gitPath: missing }), 'no-git');
        assert.equal(await gitFileStatus(path.join(repo, 'sub/new/.env'), { trusted: true, gitPath: missing }), 'no-git');
    });

    itWhere(WINDOWS ? 'a shell script stands in for git, and Windows runs no shell scripts' : undefined, 'git that fails for another reason is reported as such, not as "no repository"', async function () {
        const fakeGit = path.join(root, 'failing-git');
        fs.writeFileSync(fakeGit, '#!/bin/sh\necho "fatal: detected dubious ownership in repository" >&2\nexit 128\n', { mode: 0o755 });
        assert.equal(await gitFileStatus(path.join(repo, 'sub/new/.env'), { trusted: true, gitPath: fakeGit }), 'git-failed');
    });
});
