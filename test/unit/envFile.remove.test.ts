import assert from 'node:assert/strict';
import * as dotenv from 'dotenv';
import fc from 'fast-check';
import { EnvValueError, removeEnvKeys, upsertEnv } from '../../src/dotenv/envFile';

const WRITTEN = ['KEAP_ACCESS_TOKEN', 'KEAP_REFRESH_TOKEN', 'KEAP_TOKEN_EXPIRES_AT'];

function without(o: Record<string, string>, keys: string[]): Record<string, string> {
    return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

describe('envFile: removing what the extension wrote (issue 12 point 6)', () => {
    it('removes exactly the written lines after an insert; the rest is byte-identical to the file before the insert', () => {
        const before = '\uFEFF# my app\r\nAPP_NAME="demo app"\r\n\r\nOTHER=1 # note\r\n';
        const inserted = upsertEnv(before, [
            ['KEAP_ACCESS_TOKEN', 'tok#en $x'],
            ['KEAP_REFRESH_TOKEN', "it's"],
            ['KEAP_TOKEN_EXPIRES_AT', '2026-11-30T12:00:00.000Z'],
        ]).text;
        const r = removeEnvKeys(inserted, WRITTEN);
        assert.equal(r.text, before);
        assert.deepEqual(r.removed, WRITTEN);
        assert.deepEqual(dotenv.parse(r.text), { APP_NAME: 'demo app', OTHER: '1' });
    });

    it('removes every occurrence, with export, an inline comment and a multi-line value; keeps the lines around', () => {
        const text = "A=1\nexport KEAP_ACCESS_TOKEN=old # mine\n  KEAP_REFRESH_TOKEN='line1\nline2'\n# keep\nB=2\nKEAP_ACCESS_TOKEN=dup";
        const r = removeEnvKeys(text, WRITTEN);
        assert.equal(r.text, 'A=1\n# keep\nB=2\n');
        assert.deepEqual(r.removed, ['KEAP_ACCESS_TOKEN', 'KEAP_REFRESH_TOKEN']);
    });

    it('a key the user wrote that the extension did not is kept, also when it shares a prefix', () => {
        const text = 'KEAP_ACCESS_TOKEN=x\nKEAP_ACCESS_TOKEN_OLD=y\nMY_KEAP=z\n';
        assert.equal(removeEnvKeys(text, ['KEAP_ACCESS_TOKEN']).text, 'KEAP_ACCESS_TOKEN_OLD=y\nMY_KEAP=z\n');
    });

    it('nothing to remove: the same text', () => {
        assert.deepEqual(removeEnvKeys('A=1\n', WRITTEN), { text: 'A=1\n', removed: [] });
        assert.deepEqual(removeEnvKeys('', WRITTEN), { text: '', removed: [] });
    });

    it('refuses, changing nothing, when removing a line would change how dotenv reads the others', () => {
        // dotenv reads `EMPTY=` together with a quoted line that follows it: without the token's line
        // between them, EMPTY would become "note".
        const text = "EMPTY=\nKEAP_ACCESS_TOKEN=x\n'note'\nB=2\n";
        assert.deepEqual(dotenv.parse(text), { EMPTY: '', KEAP_ACCESS_TOKEN: 'x', B: '2' });
        assert.equal(dotenv.parse("EMPTY=\n'note'\nB=2\n").EMPTY, 'note', 'the dotenv quirk this guards against');
        assert.throws(() => removeEnvKeys(text, WRITTEN), (e: unknown) => e instanceof EnvValueError && /KEAP_ACCESS_TOKEN/.test(e.message));
    });

    it('property: insert then remove gives back the original bytes, and dotenv reads the others unchanged', () => {
        const line = fc.oneof(
            fc.constantFrom('# comment', '', '   ', 'A=1', 'B="two words"', "C='x#y'", 'export D=4', 'E=5 # c', 'KEAP_ACCESS_TOKEN_OLD=o'),
            fc.constantFrom('KEAP_ACCESS_TOKEN=old', "export KEAP_REFRESH_TOKEN='r'", 'KEAP_TOKEN_EXPIRES_AT="2020"'),
        );
        const value = fc.string({ maxLength: 20 }).filter(v => !v.includes('\0') && !v.includes("'"));
        let runs = 0;
        fc.assert(
            fc.property(fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n'), fc.boolean(), value, value, (lines, eol, finalEol, access, refresh) => {
                runs++;
                const original = lines.filter(l => !/^(export )?KEAP_(ACCESS_TOKEN|REFRESH_TOKEN|TOKEN_EXPIRES_AT)=/.test(l)).join(eol) + (finalEol ? eol : '');
                const withOld = lines.join(eol) + (finalEol ? eol : '');
                // Files that already had the variables: removing leaves every other line byte for byte.
                const removedOld = removeEnvKeys(withOld, WRITTEN).text;
                assert.deepEqual(dotenv.parse(removedOld), without(dotenv.parse(withOld), WRITTEN));
                assert.deepEqual(removedOld.split(eol).filter(l => l !== ''), original.split(eol).filter(l => l !== ''));
                // A file the extension appended to: removing gives back the original exactly.
                const appended = upsertEnv(original, [['KEAP_ACCESS_TOKEN', access], ['KEAP_REFRESH_TOKEN', refresh]]).text;
                const back = removeEnvKeys(appended, WRITTEN).text;
                const separator = original.length > 0 && !original.endsWith(eol) ? (/[\r\n]/.test(original) ? eol : '\n') : '';
                assert.equal(back, original + separator);
                assert.deepEqual(dotenv.parse(back), dotenv.parse(original));
            }),
            { numRuns: 3000 },
        );
        assert.equal(runs, 3000);
    });
});
