import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeEnvBytes, EnvEncodingError, findEncoding } from '../../src/dotenv/envEncoding';
import { readEnvText, readOwnEnvText } from '../../src/dotenv/envLocation';

/** Issue 17.8, cases.md K14: a .env that is not UTF-8 is refused, never rewritten. */
describe('.env encodings (K14)', () => {
    const utf16le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
    const utf16be = (s: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(s, 'utf16le').swap16()]);

    it('Windows PowerShell\'s Out-File (UTF-16 LE with a BOM, CRLF) is named as such', () => {
        const bytes = utf16le('DB_PASSWORD=päss\r\nKEAP_ACCESS_TOKEN=x\r\n');
        assert.deepEqual(findEncoding(bytes), { kind: 'utf-16le', bom: true });
        assert.throws(() => decodeEnvBytes(bytes, '.env'), (e: unknown) => e instanceof EnvEncodingError && /UTF-16 LE/.test(e.message) && /Save with Encoding/.test(e.message) && /nothing was written/.test(e.message));
    });

    it('UTF-16 BE with a BOM, UTF-32 with a BOM, and UTF-16 without one (NUL bytes)', () => {
        assert.deepEqual(findEncoding(utf16be('A=1\n')), { kind: 'utf-16be', bom: true });
        assert.deepEqual(findEncoding(Buffer.from([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0])), { kind: 'utf-32le', bom: true });
        assert.deepEqual(findEncoding(Buffer.from([0, 0, 0xfe, 0xff, 0, 0, 0, 0x41])), { kind: 'utf-32be', bom: true });
        assert.deepEqual(findEncoding(Buffer.from('A=1\nB=2\n', 'utf16le')), { kind: 'nul', offset: 1, line: 1 });
    });

    it('Windows-1252 `päss`: the byte and its line are named', () => {
        const bytes = Buffer.from('A=1\nDB_PASSWORD=p\xe4ss\n', 'latin1');
        assert.deepEqual(findEncoding(bytes), { kind: 'not-utf-8', offset: 17, line: 2, byte: 0xe4 });
        assert.throws(() => decodeEnvBytes(bytes, '.env'), /0xE4 on line 2/);
        // A truncated sequence at the very end, and a lone continuation byte.
        assert.equal(findEncoding(Buffer.from([0x41, 0xc3]))?.kind, 'not-utf-8');
        assert.deepEqual(findEncoding(Buffer.from([0x41, 0x80, 0x42])), { kind: 'not-utf-8', offset: 1, line: 1, byte: 0x80 });
    });

    it('UTF-8 with or without its BOM decodes, the BOM kept as U+FEFF (so the bytes round-trip)', () => {
        for (const text of ['\uFEFFA=päss\r\n', 'A=€😀\n', '']) {
            const bytes = Buffer.from(text, 'utf8');
            assert.equal(findEncoding(bytes), undefined);
            assert.equal(decodeEnvBytes(bytes, '.env'), text);
            assert.deepEqual(Buffer.from(decodeEnvBytes(bytes, '.env'), 'utf8'), bytes);
        }
    });

    it('the file readers refuse such a file (was: U+FFFD in place of the BOM and `ä`)', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envenc-'));
        try {
            const file = path.join(dir, '.env');
            fs.writeFileSync(file, utf16le('A=1\r\n'));
            await assert.rejects(readEnvText(file), EnvEncodingError);
            await assert.rejects(readOwnEnvText(file), EnvEncodingError);
            fs.writeFileSync(file, Buffer.from('P=p\xe4ss\n', 'latin1'));
            await assert.rejects(readOwnEnvText(file), EnvEncodingError);
            fs.writeFileSync(file, '\uFEFFP=päss\n');
            assert.equal(await readOwnEnvText(file), '\uFEFFP=päss\n');
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
