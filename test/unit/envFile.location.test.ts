import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { locateEnvFile, MAX_ENV_FILE_BYTES, OWNER_ONLY, readEnvText, readOwnEnvText, writeOwnerOnly } from '../../src/dotenv/envLocation';
import { EnvPathError, envFileInFolder, isInsideFolder, realEnvFile } from '../../src/dotenv/envPath';
import { itWhere, NO_SYMLINKS, WINDOWS } from '../support/platform';

const SETTING = 'the setting infusionsoft.env.file';

function refusal(fn: () => unknown): EnvPathError {
    try {
        fn();
    } catch (e) {
        assert.ok(e instanceof EnvPathError, `expected EnvPathError, got ${String(e)}`);
        return e;
    }
    assert.fail('expected the path to be refused');
}

async function refusalOf(p: Promise<unknown>): Promise<EnvPathError> {
    try {
        await p;
    } catch (e) {
        assert.ok(e instanceof EnvPathError, `expected EnvPathError, got ${String(e)}`);
        return e;
    }
    assert.fail('expected the path to be refused');
}

describe('envFile location: the path decision (S5, pure)', () => {
    const folder = '/work/project';
    const table: Array<[given: string, expected: string | 'outside-folder' | 'not-a-file']> = [
        ['.env', '/work/project/.env'],
        ['keap.env', '/work/project/keap.env'],
        ['sub/new/.env', '/work/project/sub/new/.env'],
        ['./sub/../.env', '/work/project/.env'],
        ['/work/project/config/.env', '/work/project/config/.env'],
        ['..env', '/work/project/..env'],
        ['../outside/keap.env', 'outside-folder'],
        ['sub/../../outside/.env', 'outside-folder'],
        ['..', 'outside-folder'],
        ['/etc/keap.env', 'outside-folder'],
        ['/work/project-other/.env', 'outside-folder'],
        ['/work/projectX', 'outside-folder'],
        ['.', 'not-a-file'],
        ['', 'not-a-file'],
        ['sub/', 'not-a-file'],
        ['/work/project', 'not-a-file'],
    ];
    for (const [given, expected] of table) {
        it(`${JSON.stringify(given)} → ${expected}`, () => {
            if (expected.startsWith('/')) {
                assert.equal(envFileInFolder(folder, given, SETTING, path.posix), expected);
            } else {
                const e = refusal(() => envFileInFolder(folder, given, SETTING, path.posix));
                assert.equal(e.reason, expected);
                assert.equal(e.given, given);
                assert.ok(e.message.includes('infusionsoft.env.file') && e.message.includes(JSON.stringify(given)), e.message);
                assert.match(e.message, /nothing was written/);
            }
        });
    }

    it('Windows paths: another drive and ..\\ lead out; a path on the folder\'s drive stays in', () => {
        const w = path.win32;
        assert.equal(envFileInFolder('C:\\work\\project', 'sub\\.env', SETTING, w), 'C:\\work\\project\\sub\\.env');
        assert.equal(refusal(() => envFileInFolder('C:\\work\\project', 'D:\\project\\.env', SETTING, w)).reason, 'outside-folder');
        assert.equal(refusal(() => envFileInFolder('C:\\work\\project', '..\\outside\\.env', SETTING, w)).reason, 'outside-folder');
    });

    it('property: whatever the string, an accepted path is strictly inside the folder', () => {
        const segment = fc.constantFrom('..', '.', 'a', 'sub', '.env', 'keap.env', '', '...', '/', '//');
        fc.assert(
            fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (parts, absolute) => {
                const given = (absolute ? '/' : '') + parts.join('/');
                let file: string;
                try {
                    file = envFileInFolder(folder, given, SETTING, path.posix);
                } catch (e) {
                    assert.ok(e instanceof EnvPathError);
                    return;
                }
                assert.ok(file.startsWith(folder + '/') && file.length > folder.length + 1, file);
                assert.ok(!file.split('/').includes('..'));
            }),
            { numRuns: 5000 },
        );
    });

    it('a symbolic link on the way decides by where it really leads', () => {
        const real = { realFolder: '/real/project', existing: '/work/project/link', realExisting: '/elsewhere/dir' };
        const e = refusal(() => realEnvFile('/work/project/link/new/.env', 'link/new/.env', real, SETTING, path.posix));
        assert.equal(e.reason, 'symlink-outside');
        assert.match(e.message, /\/elsewhere\/dir\/new\/\.env/);
        assert.equal(
            realEnvFile('/work/project/link/.env', 'link/.env', { ...real, realExisting: '/real/project/inner' }, SETTING, path.posix),
            '/real/project/inner/.env',
        );
        assert.equal(isInsideFolder('/a', '/a'), false);
        assert.equal(isInsideFolder('/a', '/ab/c'), false);
        assert.equal(isInsideFolder('/a', '/a/b'), true);
    });
});

describe('envFile location: real folders with symbolic links (S5)', function () {
    let root: string;
    let ws: string;
    let outside: string;
    beforeEach(() => {
        root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'envloc-')));
        ws = path.join(root, 'ws');
        outside = path.join(root, 'outside');
        fs.mkdirSync(ws);
        fs.mkdirSync(outside);
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it('a plain path inside, existing or not (missing folders too), resolves to itself', async () => {
        assert.deepEqual(await locateEnvFile(ws, '.env', SETTING), { file: path.join(ws, '.env'), real: path.join(ws, '.env') });
        assert.deepEqual(await locateEnvFile(ws, 'sub/new/.env', SETTING), { file: path.join(ws, 'sub/new/.env'), real: path.join(ws, 'sub/new/.env') });
    });

    it('refuses ../outside/keap.env and an absolute path outside, before touching the disk', async () => {
        assert.equal((await refusalOf(locateEnvFile(ws, '../outside/keap.env', SETTING))).reason, 'outside-folder');
        assert.equal((await refusalOf(locateEnvFile(ws, path.join(outside, 'keap.env'), SETTING))).reason, 'outside-folder');
        assert.deepEqual(fs.readdirSync(outside), []);
    });

    itWhere(NO_SYMLINKS, 'refuses a file that is a symbolic link to a file outside', async () => {
        fs.writeFileSync(path.join(outside, 'target.env'), 'X=1\n');
        fs.symlinkSync(path.join(outside, 'target.env'), path.join(ws, 'keap.env'));
        const e = await refusalOf(locateEnvFile(ws, 'keap.env', SETTING));
        assert.equal(e.reason, 'symlink-outside');
        assert.ok(e.message.includes('infusionsoft.env.file') && e.message.includes('"keap.env"'), e.message);
    });

    itWhere(NO_SYMLINKS, 'refuses a path through a linked folder that leads outside, also when the file does not exist yet', async () => {
        fs.symlinkSync(outside, path.join(ws, 'linked'));
        assert.equal((await refusalOf(locateEnvFile(ws, 'linked/.env', SETTING))).reason, 'symlink-outside');
        assert.equal((await refusalOf(locateEnvFile(ws, 'linked/deeper/new/.env', SETTING))).reason, 'symlink-outside');
        // A relative link works the same way.
        fs.symlinkSync('../outside', path.join(ws, 'rel'));
        assert.equal((await refusalOf(locateEnvFile(ws, 'rel/.env', SETTING))).reason, 'symlink-outside');
    });

    itWhere(NO_SYMLINKS, 'refuses a link that points at nothing (where it leads cannot be checked)', async () => {
        fs.symlinkSync(path.join(outside, 'missing.env'), path.join(ws, 'dangling.env'));
        assert.equal((await refusalOf(locateEnvFile(ws, 'dangling.env', SETTING))).reason, 'broken-symlink');
        fs.symlinkSync(path.join(outside, 'missing-dir'), path.join(ws, 'dangling-dir'));
        assert.equal((await refusalOf(locateEnvFile(ws, 'dangling-dir/.env', SETTING))).reason, 'broken-symlink');
    });

    itWhere(NO_SYMLINKS, 'accepts links that stay inside the folder, and a workspace folder reached through a link', async () => {
        fs.mkdirSync(path.join(ws, 'config'));
        fs.symlinkSync(path.join(ws, 'config'), path.join(ws, 'cfg'));
        assert.equal((await locateEnvFile(ws, 'cfg/.env', SETTING)).real, path.join(ws, 'config/.env'));
        fs.symlinkSync(ws, path.join(root, 'ws-link'));
        const via = await locateEnvFile(path.join(root, 'ws-link'), '.env', SETTING);
        assert.equal(via.file, path.join(root, 'ws-link/.env'));
        assert.equal(via.real, path.join(ws, '.env'));
    });

    itWhere(WINDOWS ? 'Windows has no POSIX modes: windows.test.ts checks what protects the file there' : undefined, 'writes owner-only: a new file (and its missing folders) with 0600, an existing 0644 file turned 0600; bytes exact', async function () {
        const fresh = path.join(ws, 'sub/new/.env');
        assert.equal(await writeOwnerOnly(fresh, 'A=1\n'), true);
        assert.equal(fs.statSync(fresh).mode & 0o777, OWNER_ONLY);
        assert.equal(await readEnvText(fresh), 'A=1\n');
        const old = path.join(ws, '.env');
        fs.writeFileSync(old, '\uFEFFOLD=a long old line\r\n', { mode: 0o644 });
        fs.chmodSync(old, 0o644);
        assert.equal(await writeOwnerOnly(old, '\uFEFFNEW=1\r\n'), false);
        assert.equal(fs.statSync(old).mode & 0o777, OWNER_ONLY);
        assert.deepEqual(fs.readFileSync(old), Buffer.from('\uFEFFNEW=1\r\n', 'utf8'));
        assert.equal(await readEnvText(path.join(ws, 'missing.env')), undefined);
    });

    it('a .env over 1 MiB is not read (a git pull can make one; 100 MB took 27 s and 2.7 GB of the extension host), and so not written either', async () => {
        const huge = path.join(ws, '.env');
        fs.writeFileSync(huge, 'A=' + 'x'.repeat(MAX_ENV_FILE_BYTES) + '\nKEAP_REFRESH_TOKEN=r\n');
        for (const read of [readEnvText, readOwnEnvText]) {
            await assert.rejects(read(huge), (e: unknown) => e instanceof EnvPathError && e.reason === 'too-large' && /over 1 MiB/.test(e.message), read.name);
        }
        fs.writeFileSync(huge, 'A=' + 'x'.repeat(MAX_ENV_FILE_BYTES - 10) + '\n');
        assert.equal((await readOwnEnvText(huge))?.length, MAX_ENV_FILE_BYTES - 7, 'up to 1 MiB: read');
    });

    it('a folder or a named pipe where the .env should be: refused with a clear message, read and write, without waiting on the pipe', async function () {
        this.timeout(10_000);
        const dir = path.join(ws, 'dir.env');
        fs.mkdirSync(dir);
        const targets = [dir];
        if (!WINDOWS) {
            const fifo = path.join(ws, 'fifo.env');
            require('node:child_process').execFileSync('mkfifo', [fifo]);
            targets.push(fifo);
        }
        for (const target of targets) {
            for (const read of [readEnvText, readOwnEnvText]) {
                const e = await refusalOf(read(target));
                assert.equal(e.reason, 'not-a-file', `${read.name} ${target}`);
                assert.match(e.message, /is not a regular file \(a folder, a named pipe or a device\); it is neither read nor written/);
            }
            const e = await refusalOf(writeOwnerOnly(target, 'T=secret\n'));
            assert.equal(e.reason, 'not-a-file', `write ${target}`);
        }
        assert.ok(fs.statSync(dir).isDirectory(), 'the folder is left as it was');
    });

    it('never writes to a file with a second name (a hard link): the other name may be outside the folder, where realpath cannot see it', async function () {
        const victim = path.join(outside, 'victim-hard.env');
        fs.writeFileSync(victim, 'V=1\n', { mode: 0o644 });
        fs.linkSync(victim, path.join(ws, 'keap.env'));
        const loc = await locateEnvFile(ws, 'keap.env', SETTING);
        assert.equal(loc.real, path.join(ws, 'keap.env'), 'realpath sees nothing wrong');
        await assert.rejects(writeOwnerOnly(loc.real, 'T=secret\n'), (e: unknown) => e instanceof EnvPathError && e.reason === 'hard-link' && /hard links/.test(e.message));
        assert.equal(fs.readFileSync(victim, 'utf8'), 'V=1\n', 'the other name is untouched');
        if (!WINDOWS) assert.equal(fs.statSync(victim).mode & 0o777, 0o644, 'and keeps its mode');
    });

    itWhere(NO_SYMLINKS, 'never writes through a link that appeared after the check', async function () {
        const loc = await locateEnvFile(ws, 'late.env', SETTING);
        fs.writeFileSync(path.join(outside, 'victim'), 'V=1\n');
        fs.symlinkSync(path.join(outside, 'victim'), loc.real);
        await assert.rejects(writeOwnerOnly(loc.real, 'T=secret\n'), /ELOOP|EEXIST/);
        assert.equal(fs.readFileSync(path.join(outside, 'victim'), 'utf8'), 'V=1\n');
    });
});
