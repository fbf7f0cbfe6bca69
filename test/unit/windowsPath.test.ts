import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { locateEnvFile, writeOwnerOnly } from '../../src/dotenv/envLocation';
import { EnvPathError, envFileInFolder, PathApi, realEnvFile } from '../../src/dotenv/envPath';
import { envFileProtection } from '../../src/dotenv/fileProtection';
import { itWhere, WINDOWS } from '../support/platform';

const SETTING = 'the setting infusionsoft.env.file';
const FOLDER = 'C:\\work\\project';

/** The decision as a value: the file, or the refusal's reason. */
function decide(given: string, p: PathApi, folder = FOLDER): string {
  try {
    return envFileInFolder(folder, given, SETTING, p);
  } catch (e) {
    assert.ok(e instanceof EnvPathError, String(e));
    return `refused: ${e.reason}`;
  }
}

/**
 * Asserts the Windows decision for each case, and that the POSIX rules decide otherwise: a check
 * that ignored the path flavour it is given (or used POSIX rules on Windows) fails here.
 */
function windowsDecides(cases: Array<[given: string, windows: string]>, folder = FOLDER): void {
  for (const [given, expected] of cases) {
    assert.equal(decide(given, path.win32, folder), expected, `Windows: ${given}`);
    assert.notEqual(decide(given, path.posix, folder), expected, `POSIX rules would decide ${given} the same way, so this case proves nothing`);
  }
}

function refusalMessage(given: string, p: PathApi, folder: string): string {
  try {
    envFileInFolder(folder, given, SETTING, p);
  } catch (e) {
    return (e as Error).message;
  }
  return assert.fail(`${given} was accepted`);
}

describe('envFile location under Windows path rules, as kinds (path.win32 on any OS)', () => {
  it('drive letters in any case are the same drive (C: and c:), compared case-insensitively, also after realpath', () => {
    windowsDecides([
      ['c:\\WORK\\Project\\keap.env', 'c:\\WORK\\Project\\keap.env'],
      ['C:/work/PROJECT/sub/.env', 'C:\\work\\PROJECT\\sub\\.env'],
      ['c:\\work\\project', 'refused: not-a-file'],
    ]);
    assert.equal(decide('c:\\work\\project-other\\.env', path.win32), 'refused: outside-folder');
    // realpath may spell the folder and the file differently; Windows sees one folder.
    const real = { realFolder: 'C:\\Work\\Project', existing: 'C:\\work\\project', realExisting: 'c:\\WORK\\PROJECT' };
    assert.equal(realEnvFile('C:\\work\\project\\.env', '.env', real, SETTING, path.win32), 'c:\\WORK\\PROJECT\\.env');
    assert.throws(() => realEnvFile('C:\\work\\project\\.env', '.env', real, SETTING, path.posix), EnvPathError, 'POSIX compares case-sensitively');
  });

  it('drive-relative paths (C:keap.env) are refused: Windows resolves them in the drive\'s current folder, not the workspace', () => {
    windowsDecides([
      ['C:keap.env', 'refused: outside-folder'],
      ['c:..\\keap.env', 'refused: outside-folder'],
      ['D:keap.env', 'refused: outside-folder'],
    ]);
    assert.match(refusalMessage('C:keap.env', path.win32, FOLDER), /"C:keap\.env"\) is relative to the current folder of drive C:.*nothing was written\. The workspace folder is C:\\work\\project\. A \.env file holding tokens must stay inside the folder you opened\./);
  });

  it('UNC paths lead to another machine\'s share: outside, unless the workspace folder is on that share', () => {
    windowsDecides([
      ['\\\\server\\share\\keap.env', 'refused: outside-folder'],
    ]);
    assert.equal(decide('//server/share/project/.env', path.win32), 'refused: outside-folder');
    const share = '\\\\server\\share\\project';
    windowsDecides(
      [
        ['\\\\SERVER\\share\\project\\.env', '\\\\SERVER\\share\\project\\.env'],
        ['\\\\server\\share\\other\\.env', 'refused: outside-folder'],
        ['..\\other\\.env', 'refused: outside-folder'],
      ],
      share,
    );
    assert.equal(decide('.env', path.win32, share), '\\\\server\\share\\project\\.env');
  });

  it('\\\\?\\, \\\\.\\ and \\??\\ prefixes are refused, even naming a file inside: they skip Windows\' path rules and reach devices', () => {
    windowsDecides([
      ['\\\\?\\C:\\work\\project\\.env', 'refused: outside-folder'],
      ['\\\\?\\C:\\work\\project\\..\\..\\Windows\\keap.env', 'refused: outside-folder'],
      ['\\\\.\\C:\\work\\project\\.env', 'refused: outside-folder'],
      ['\\\\.\\PhysicalDrive0', 'refused: outside-folder'],
      ['\\??\\C:\\work\\project\\.env', 'refused: outside-folder'],
    ]);
    assert.equal(decide('//?/C:/work/project/.env', path.win32), 'refused: outside-folder');
    assert.match(refusalMessage('\\\\.\\PhysicalDrive0', path.win32, FOLDER), /uses the Windows device prefix \\\\\.\\, which skips Windows' path rules/);
  });

  it('alternate data streams (.env:stream) are refused: a hidden part of a file no editor or dotenv shows', () => {
    windowsDecides([
      ['.env:stream', 'refused: not-a-file'],
      ['keap.env::$DATA', 'refused: not-a-file'],
      ['sub:hidden\\.env', 'refused: not-a-file'],
      ['C:\\work\\project\\.env:tokens', 'refused: not-a-file'],
    ]);
    assert.match(refusalMessage('.env:stream', path.win32, FOLDER), /alternate data stream.*nothing was written/);
  });

  it('reserved device names (NUL, CON.env, com1, any case, any extension, as a folder too) are refused; names that only start alike are files', () => {
    windowsDecides([
      ['NUL', 'refused: not-a-file'],
      ['CON.env', 'refused: not-a-file'],
      ['com1', 'refused: not-a-file'],
      ['Com1.env.local', 'refused: not-a-file'],
      ['lpt9.txt', 'refused: not-a-file'],
      ['nul .env', 'refused: not-a-file'],
      ['aux\\.env', 'refused: not-a-file'],
      ['COM¹', 'refused: not-a-file'],
      ['conout$', 'refused: not-a-file'],
      ['prn.', 'refused: not-a-file'],
    ]);
    for (const name of ['CONFIG.env', 'nullable.env', 'com10.env', 'console.env', 'auxiliary\\.env', 'lpt.env']) {
      assert.equal(decide(name, path.win32), path.win32.join(FOLDER, name), name);
    }
    assert.match(refusalMessage('CON.env', path.win32, FOLDER), /names the Windows device CON, not a file; nothing was written/);
  });

  it('trailing dots and spaces are dropped as Windows drops them: the file checked is the file written; ".. " is ".."', () => {
    windowsDecides([
      ['.env.', 'C:\\work\\project\\.env'],
      ['keap.env  ', 'C:\\work\\project\\keap.env'],
      ['sub. \\.env', 'C:\\work\\project\\sub\\.env'],
      ['.. \\outside\\.env', 'refused: outside-folder'],
      ['sub\\..\\.. \\x.env', 'refused: outside-folder'],
      ['...\\.env', 'refused: not-a-file'],
    ]);
  });

  it('..\\ leads out as ../ does on Linux, refused with the same message', () => {
    windowsDecides([
      ['..\\outside\\keap.env', 'refused: outside-folder'],
      ['sub\\..\\..\\outside\\.env', 'refused: outside-folder'],
      ['sub/..\\../.env', 'refused: outside-folder'],
      ['D:\\project\\.env', 'refused: outside-folder'],
    ]);
    const windows = refusalMessage('..\\outside\\keap.env', path.win32, FOLDER);
    const linux = refusalMessage('../outside/keap.env', path.posix, '/work/project');
    assert.equal(windows.replace(/\\\\/g, '/').replace(/\\/g, '/').replace(/C:/g, ''), linux.replace(/\\\\/g, '/'));
  });

  it('a junction (or symbolic link) on the way that leads out of the folder is refused by where it really leads', () => {
    const real = { realFolder: 'C:\\work\\project', existing: 'C:\\work\\project\\linked', realExisting: 'D:\\elsewhere' };
    assert.throws(() => realEnvFile('C:\\work\\project\\linked\\.env', 'linked\\.env', real, SETTING, path.win32), (e: unknown) => e instanceof EnvPathError && e.reason === 'symlink-outside' && /D:\\elsewhere\\\.env/.test(e.message));
    const inside = { ...real, realExisting: 'c:\\WORK\\project\\config' };
    assert.equal(realEnvFile('C:\\work\\project\\linked\\.env', 'linked\\.env', inside, SETTING, path.win32), 'c:\\WORK\\project\\config\\.env');
    assert.throws(() => realEnvFile('C:\\work\\project\\linked\\.env', 'linked\\.env', inside, SETTING, path.posix), EnvPathError, 'POSIX rules refuse what Windows keeps inside');
  });
});

describe('envFile location with this platform\'s own path rules, on the real file system', () => {
  let root: string;
  let ws: string;
  let outside: string;
  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'envwin-')));
    ws = path.join(root, 'ws');
    outside = path.join(root, 'outside');
    fs.mkdirSync(ws);
    fs.mkdirSync(outside);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('Windows names (a data stream, NUL, CON.env, a trailing dot) are refused or trimmed on Windows Node, and are plain names on POSIX', async () => {
    for (const given of ['keap.env:stream', 'NUL', 'CON.env', 'com1', '.. \\x.env']) {
      if (WINDOWS) {
        await assert.rejects(locateEnvFile(ws, given, SETTING), EnvPathError, given);
      } else {
        assert.equal((await locateEnvFile(ws, given, SETTING)).real, path.join(ws, given), given);
      }
    }
    const dotted = await locateEnvFile(ws, '.env. ', SETTING);
    assert.equal(dotted.real, path.join(ws, WINDOWS ? '.env' : '.env. '));
    assert.equal(await writeOwnerOnly(dotted.real, 'A=1\n'), true);
    assert.deepEqual(fs.readdirSync(ws), [WINDOWS ? '.env' : '.env. ']);
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  it('the folder in another case is the same folder on Windows (C: and c:); on POSIX another case is another folder', async () => {
    const upper = ws.toUpperCase();
    if (WINDOWS) {
      assert.equal(path.relative(ws, (await locateEnvFile(upper, 'keap.env', SETTING)).real), 'keap.env');
    } else {
      assert.notEqual(upper, ws);
      await assert.rejects(fs.promises.realpath(upper), /ENOENT/);
    }
  });

  itWhere(
    WINDOWS && !junctionsWork() ? 'Wine 8 makes no junctions (ENOTSUP); the junction kind is tested with path.win32 above' : undefined,
    'a junction (on POSIX: a folder link) inside the folder that leads out is refused, also for a file that does not exist yet',
    async () => {
      fs.symlinkSync(outside, path.join(ws, 'linked'), 'junction');
      for (const given of ['linked/.env', 'linked/new/.env']) {
        await assert.rejects(locateEnvFile(ws, given, SETTING), (e: unknown) => e instanceof EnvPathError && e.reason === 'symlink-outside', given);
      }
      assert.deepEqual(fs.readdirSync(outside), []);
    },
  );

  it('what protects a written .env: mode 0600 where there are modes; on Windows the folder\'s access list, so the file is created inside the workspace folder and nowhere else', async () => {
    assert.equal(envFileProtection('win32'), 'folder-acl');
    assert.equal(envFileProtection('linux'), 'mode-0600');
    assert.equal(envFileProtection('darwin'), 'mode-0600');
    const loc = await locateEnvFile(ws, 'sub/new/.env', SETTING);
    assert.equal(await writeOwnerOnly(loc.real, 'T=1\n'), true);
    assert.equal(path.relative(ws, loc.real), path.join('sub', 'new', '.env'), 'inside the folder, where the folder\'s permissions apply');
    assert.equal(fs.readFileSync(path.join(ws, 'sub', 'new', '.env'), 'utf8'), 'T=1\n');
    if (envFileProtection() === 'mode-0600') assert.equal(fs.statSync(loc.real).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(outside), []);
  });
});

function junctionsWork(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'junction-probe-'));
  try {
    fs.mkdirSync(path.join(dir, 'target'));
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'), 'junction');
    return fs.lstatSync(path.join(dir, 'link')).isSymbolicLink();
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
