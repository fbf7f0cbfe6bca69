import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dotenv from 'dotenv';
import { describeWhere, NO_BASH } from '../support/platform';
import {
    DOTENV_LINE_SOURCE,
    EnvKeyError,
    EnvValueError,
    envValueOf,
    listEnvKeys,
    quoteEnvValue,
    upsertEnv,
} from '../../src/dotenv/envFile';

const parse = (text: string) => dotenv.parse(text);
const up = (text: string, values: Array<[string, string]>) => upsertEnv(text, values);

describe('envFile: quoting (K3)', () => {
    it('K3: writes the scope full|ab123.infusionsoft.com so dotenv reads it exactly', () => {
        const r = up('KEAP_CLIENT_ID=abc\n', [['KEAP_SCOPE', 'full|ab123.infusionsoft.com']]);
        assert.equal(r.text, "KEAP_CLIENT_ID=abc\nKEAP_SCOPE='full|ab123.infusionsoft.com'\n");
        assert.equal(parse(r.text).KEAP_SCOPE, 'full|ab123.infusionsoft.com');
        assert.deepEqual(r.appended, ['KEAP_SCOPE']);
        assert.deepEqual(r.updated, []);
        assert.equal(r.changed, true);
    });

    const special: Array<[string, string]> = [
        ['#', 'tok#en # not a comment'],
        ['$', 'tok$en$HOME${PATH}$(id)'],
        ['"', 'tok"en"'],
        ['\\', 'to\\k\\nen\\r\\'],
        ['a space', '  tok en  '],
        ['a single quote', "tok'en'"],
        ['a backtick', 'tok`en`'],
    ];
    for (const [name, value] of special) {
        it(`K3: a token containing ${name} reads back exactly (appended and replacing an old value)`, () => {
            const appended = up('# keys\n', [['KEAP_ACCESS_TOKEN', value]]);
            assert.equal(parse(appended.text).KEAP_ACCESS_TOKEN, value);
            const replaced = up('A=1\nKEAP_ACCESS_TOKEN=old\nB=2\n', [['KEAP_ACCESS_TOKEN', value]]);
            assert.deepEqual(parse(replaced.text), { A: '1', KEAP_ACCESS_TOKEN: value, B: '2' });
            assert.equal(parse(`K=${quoteEnvValue('K', value)}`).K, value);
        });
    }

    it('unquoted when every reader takes it literally, else single quotes, double quotes for a single quote, never backticks', () => {
        assert.equal(quoteEnvValue('K', 'abc'), 'abc');
        assert.equal(quoteEnvValue('K', 'a b'), "'a b'");
        assert.equal(quoteEnvValue('K', 'abc', 'single'), "'abc'", 'an existing line\'s style, when the value allows it');
        assert.equal(quoteEnvValue('K', 'abc', 'double'), '"abc"');
        assert.equal(quoteEnvValue('K', 'a b', 'unquoted'), "'a b'", 'a style the value does not allow is not used');
        assert.equal(quoteEnvValue('K', "it's"), `"it's"`);
        assert.equal(quoteEnvValue('K', 'a`b"c'), "'a`b\"c'");
        assert.throws(() => quoteEnvValue('K', "it's `x`"), EnvValueError);
    });

    it('a value holding \', " and ` together is refused with EnvValueError and nothing changes', () => {
        const before = 'A=1\r\nKEAP_ACCESS_TOKEN=old\r\n';
        const bad = 'a\'b"c`d';
        assert.throws(() => quoteEnvValue('KEAP_ACCESS_TOKEN', bad), EnvValueError);
        let err: unknown;
        try {
            upsertEnv(before, [['KEAP_REFRESH_TOKEN', 'fine'], ['KEAP_ACCESS_TOKEN', bad]]);
        } catch (e) {
            err = e;
        }
        assert.ok(err instanceof EnvValueError);
        assert.equal(err.key, 'KEAP_ACCESS_TOKEN');
        assert.match(err.message, /KEAP_ACCESS_TOKEN/);
        assert.equal(before, 'A=1\r\nKEAP_ACCESS_TOKEN=old\r\n');
    });

    it('an unquoted value replacing a quoted one drops the blanks after the old closing quote: Docker would keep them, and a second write would change the line (found by the property, seed 773616463)', () => {
        const original = 'KEAP_ACCESS_TOKEN_OLD=`\nKEAP_ACCESS_TOKEN=` \n';
        const once = upsertEnv(original, [['KEAP_ACCESS_TOKEN_OLD', 'a']]).text;
        assert.equal(once, 'KEAP_ACCESS_TOKEN_OLD=a\n');
        assert.equal(upsertEnv(once, [['KEAP_ACCESS_TOKEN_OLD', 'a']]).text, once);
        assert.equal(upsertEnv("A='old'  \n", [['A', 'new']]).text, "A='new'  \n", 'a quoted value keeps its blanks');
    });

    it('a NUL is refused', () => {
        assert.throws(() => quoteEnvValue('K', 'a\0b'), EnvValueError);
    });

    it('a single quote together with $ is refused (a shell would expand it inside double quotes)', () => {
        assert.throws(() => upsertEnv('', [['K', "it's $(id)"]]), EnvValueError);
    });

    it('a newline in the value becomes a multi-line quoted value', () => {
        const r = up('A=1\n', [['K', 'line1\nline2\n']]);
        assert.equal(r.text, "A=1\nK='line1\nline2\n'\n");
        assert.deepEqual(parse(r.text), { A: '1', K: 'line1\nline2\n' });
    });

    it('a carriage return is written as \\r inside double quotes', () => {
        assert.equal(quoteEnvValue('K', 'a\r\nb'), '"a\\r\nb"');
        assert.equal(parse(up('', [['K', 'a\r\nb']]).text).K, 'a\r\nb');
        assert.throws(() => quoteEnvValue('K', 'a\rb"'), EnvValueError);
    });

    it('an empty value', () => {
        const r = up('K=old\n', [['K', '']]);
        assert.equal(r.text, "K=''\n");
        assert.equal(parse(r.text).K, '');
        assert.equal(up('', [['K', '']]).text, "K=''\n");
    });

    it('a value ending with a backslash gets a guard so a later quote cannot extend it', () => {
        // Without the guard, dotenv reads `\'` as an escaped quote and runs on to "it'" below.
        const before = "K=old\n# it'\n";
        const r = up(before, [['K', 'C:\\dir\\']]);
        assert.deepEqual(parse(r.text), { K: 'C:\\dir\\' });
        assert.ok(r.text.endsWith("\n# it'\n"));
        assert.equal(parse(`K='C:\\dir\\'\n# it'\n`).K, "C:\\dir\\'\n# it", 'the quirk this guards against');
        assert.equal(up(r.text, [['K', 'C:\\dir\\']]).text, r.text);
    });
});

describe('envFile: editing', () => {
    it('CRLF file: appended lines use CRLF, untouched lines stay byte-identical', () => {
        const before = '# top\r\nA=1\r\n\r\nK=old\r\nB="x"\r\n';
        const r = up(before, [['K', 'new'], ['NEW', 'v\nw']]);
        assert.equal(r.text, "# top\r\nA=1\r\n\r\nK=new\r\nB=\"x\"\r\nNEW='v\r\nw'\r\n");
        assert.deepEqual(parse(r.text), { A: '1', K: 'new', B: 'x', NEW: 'v\nw' });
    });

    it('a mostly-CRLF file with one LF line still appends CRLF', () => {
        assert.equal(up('A=1\r\nB=2\nC=3\r\n', [['K', 'v']]).text, 'A=1\r\nB=2\nC=3\r\nK=v\r\n');
    });

    it('a leading BOM is kept', () => {
        assert.equal(up('\uFEFFK=old\n', [['K', 'new']]).text, '\uFEFFK=new\n');
        assert.equal(up('\uFEFFA=1\n', [['K', 'new']]).text, '\uFEFFA=1\nK=new\n');
        assert.equal(up('\uFEFF', [['K', 'new']]).text, '\uFEFFK=new\n');
    });

    it('export KEY=old becomes export KEY=new, keeping leading whitespace', () => {
        assert.equal(up('export KEY=old\n', [['KEY', 'new']]).text, 'export KEY=new\n');
        assert.equal(up('  export\tKEY=old\n', [['KEY', 'new']]).text, '  export\tKEY=new\n');
    });

    // Issue 19.3: the line's own quote style is kept when the value allows it; backticks are never written.
    const oldValues: Array<[string, string, string]> = [
        ['single-quoted', "K='old # value'", "K='new'"],
        ['double-quoted', 'K="old\\nvalue"', 'K="new"'],
        ['backtick', 'K=`old value`', 'K=new'],
        ['unquoted', 'K=old value', 'K=new'],
    ];
    for (const [name, line, written] of oldValues) {
        it(`replaces a ${name} old value`, () => {
            const r = up(`A=1\n${line}\nB=2\n`, [['K', 'new']]);
            assert.equal(r.text, `A=1\n${written}\nB=2\n`);
            assert.deepEqual(r.updated, ['K']);
            assert.deepEqual(r.appended, []);
        });
    }

    it('replaces a multi-line double-quoted old value: all its lines go, nothing else is touched', () => {
        const before = '# c\nA=1\nK="-----BEGIN KEY-----\nNOT_A_KEY=x\n# not a comment\n-----END KEY-----"\nB=2\n';
        assert.equal(parse(before).K, '-----BEGIN KEY-----\nNOT_A_KEY=x\n# not a comment\n-----END KEY-----');
        const r = up(before, [['K', 'new']]);
        assert.equal(r.text, '# c\nA=1\nK="new"\nB=2\n');
        assert.deepEqual(listEnvKeys(before), ['A', 'K', 'B']);
    });

    it('a duplicated key: every occurrence is updated', () => {
        const r = up('K=one\nA=1\nexport K="two"\n', [['K', 'new']]);
        assert.equal(r.text, 'K=new\nA=1\nexport K=new\n', 'the style of the first line');
        assert.deepEqual(r.updated, ['K']);
    });

    it('missing final newline: appending adds one line break first; an in-place update adds none', () => {
        assert.equal(up('A=1', [['K', 'v']]).text, 'A=1\nK=v\n');
        assert.equal(up('A=1\r\nB=2', [['K', 'v']]).text, 'A=1\r\nB=2\r\nK=v\r\n');
        assert.equal(up('A=1\nK=old', [['K', 'v']]).text, 'A=1\nK=v');
    });

    it('an empty file', () => {
        const r = up('', [['KEAP_ACCESS_TOKEN', 'a'], ['KEAP_REFRESH_TOKEN', 'b']]);
        assert.equal(r.text, 'KEAP_ACCESS_TOKEN=a\nKEAP_REFRESH_TOKEN=b\n');
        assert.deepEqual(r.appended, ['KEAP_ACCESS_TOKEN', 'KEAP_REFRESH_TOKEN']);
    });

    it('a file with only comments', () => {
        const before = "# KEAP_ACCESS_TOKEN=commented out\n#K=v\n  # it's\n";
        const r = up(before, [['KEAP_ACCESS_TOKEN', 'new']]);
        assert.equal(r.text, before + 'KEAP_ACCESS_TOKEN=new\n');
        assert.deepEqual(listEnvKeys(before), []);
    });

    const spacings = ['K = old', 'K= old', 'K =old', '  K=old', 'K:  old', '\texport   K = "old"', 'K =  \'old\'  '];
    for (const line of spacings) {
        it(`spacing variant dotenv accepts: ${JSON.stringify(line)}`, () => {
            assert.equal(parse(line).K, 'old');
            const r = up(`${line}\nB=2\n`, [['K', 'new']]);
            const indent = /^\s*(?:export\s+)?/.exec(line)![0];
            const q = /'old'/.test(line) ? "'" : /"old"/.test(line) ? '"' : '';
            assert.match(r.text, new RegExp(`^${indent.replace(/\s/g, (c) => (c === '\t' ? '\\t' : ' '))}K=${q}new${q}\\s*\nB=2\n$`));
            assert.deepEqual(parse(r.text), { K: 'new', B: '2' });
        });
    }

    it('a key that is a prefix of another is not confused with it', () => {
        const before = 'KEAP_ACCESS_TOKEN_OLD=keep\nKEAP_ACCESS_TOKEN=old\nXKEAP_ACCESS_TOKEN=keep2\n';
        const r = up(before, [['KEAP_ACCESS_TOKEN', 'new']]);
        assert.equal(r.text, 'KEAP_ACCESS_TOKEN_OLD=keep\nKEAP_ACCESS_TOKEN=new\nXKEAP_ACCESS_TOKEN=keep2\n');
        const r2 = up('KEAP_ACCESS_TOKEN_OLD=keep\n', [['KEAP_ACCESS_TOKEN', 'new']]);
        assert.equal(r2.text, 'KEAP_ACCESS_TOKEN_OLD=keep\nKEAP_ACCESS_TOKEN=new\n');
    });

    it('an invalid key throws EnvKeyError naming it, before anything changes', () => {
        for (const key of ['1ABC', 'A B', '', 'A=B', 'A$', 'KÉ', 'A\n']) {
            let err: unknown;
            try {
                upsertEnv('A=1\n', [['GOOD', 'v'], [key, 'v']]);
            } catch (e) {
                err = e;
            }
            assert.ok(err instanceof EnvKeyError, `key ${JSON.stringify(key)}`);
            assert.equal(err.key, key);
            assert.ok(err.message.includes(JSON.stringify(key)));
        }
        assert.doesNotThrow(() => upsertEnv('', [['_a.b-C9', 'v']]));
    });

    it('keeps a trailing inline comment, separated by whitespace', () => {
        assert.equal(up('K=old # note\n', [['K', 'new']]).text, 'K=new # note\n');
        assert.equal(up('K="old"\t# note\n', [['K', 'new']]).text, 'K="new"\t# note\n');
        assert.equal(up("K='old'# note\n", [['K', 'new']]).text, "K='new' # note\n");
    });

    it('an update with the same value is unchanged; a key given twice: last value wins', () => {
        const r = up("A=1\nK='v'\n", [['K', 'v']]);
        assert.equal(r.changed, false);
        assert.deepEqual(r.updated, ['K']);
        assert.equal(up('', [['K', '1'], ['J', 'x'], ['K', '2']]).text, 'K=2\nJ=x\n');
    });

    it('refuses to write next to an unterminated quote that would swallow the new line', () => {
        // dotenv reads A as `"abc` today; appending K='x"' + newline would close A's quote.
        const before = 'A="abc\n';
        assert.equal(parse(before).A, '"abc');
        assert.throws(() => upsertEnv(before, [['K', 'x"\n']]), EnvValueError);
        assert.deepEqual(parse(up(before, [['K', 'x']]).text), { A: '"abc', K: 'x' });
    });

    it('next to an unterminated single quote, falls back to double quotes', () => {
        // dotenv reads A as `'abc` today; K='#' would close that quote and hide K.
        const before = "A= 'abc";
        assert.equal(parse(before).A, "'abc");
        const r = up(before, [['K', '#']]);
        assert.equal(r.text, `A= 'abc\nK="#"\n`);
        assert.deepEqual(parse(r.text), { A: "'abc", K: '#' });
    });

    it('listEnvKeys lists keys in order of first appearance, as dotenv reads them', () => {
        assert.deepEqual(listEnvKeys('\uFEFFB=1\r\nexport A="x\ny"\n# C=1\nB=2\nD : 3\nE: 4\n'), ['B', 'A', 'E']);
    });

    it('uses exactly dotenv\'s LINE regex (installed version)', () => {
        const src = fs.readFileSync(require.resolve('dotenv'), 'utf8');
        const m = /const LINE = \/(.*)\/mg\n/.exec(src);
        assert.ok(m, 'LINE regex found in dotenv');
        // Two captures, and the leading whitespace stops at a line break (the next line start is tried anyway).
        assert.equal(DOTENV_LINE_SOURCE.replace('((?:\\s*=\\s*?|:\\s+?))', '(?:\\s*=\\s*?|:\\s+?)').replace('(?:^|^)[^\\S\\n]*', '(?:^|^)\\s*'), m[1]);
    });

    it('a hostile .env of 200 KB of blank lines is read in one pass, as dotenv reads it (dotenv\'s own regex takes minutes)', function () {
        // A file a `git pull` can change is read after a refused refresh (issue 13.6) and at every sync;
        // dotenv's leading \s* tries every later line from every line start: quadratic, and the extension host stops meanwhile.
        this.timeout(20_000);
        const hostile = ' \n'.repeat(100_000) + 'KEAP_REFRESH_TOKEN=r\n';
        assert.equal(envValueOf(hostile, 'KEAP_REFRESH_TOKEN'), 'r');
        assert.deepEqual(listEnvKeys(' \n'.repeat(100_000) + 'X'), []);
        // The same reading as dotenv on whitespace between keys, line breaks and Unicode spaces included.
        for (const text of [' \n \t\n  A=1\n \n\u2028 B = 2 \n\n\u00a0C:  3\n \n', '\n\n export D=4\n\v\f\nE\n F=5', ' \n "x"\n G="a\n\n b"\n  \n H=\n\n I=6']) {
            const keys = listEnvKeys(text);
            assert.deepEqual(Object.fromEntries(keys.map(k => [k, envValueOf(text, k)])), dotenv.parse(text), JSON.stringify(text));
        }
    });
});

describeWhere(NO_BASH, 'envFile: shell safety (K3)', () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envfile-'));
    });
    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function sourceInBash(file: string, key: string): string {
        return execFileSync('bash', ['-c', 'set -a; source "$1"; printf %s "${!2}"', 'bash', file, key], {
            encoding: 'utf8',
            cwd: dir,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
        });
    }

    it('bash `source` reads nasty values back exactly and runs nothing', () => {
        const marker = path.join(dir, `pwned-${process.pid}`);
        const nasty = [
            `$(touch ${marker})`,
            `\`touch ${marker}\``,
            `x|touch ${marker}`,
            `x; touch ${marker}`,
            `x && touch ${marker} &`,
            `x > ${marker}`,
            `"; touch ${marker}; "`,
            `it's ok; touch ${marker}`,
            `a\nb; touch ${marker}\n`,
            '${PATH} $HOME',
            'full|ab123.infusionsoft.com',
            'C:\\dir\\',
            "'",
            'tok#en $x "q" \\ `b`',
        ];
        const file = path.join(dir, '.env');
        let text = 'EXISTING=1\n';
        nasty.forEach((value, i) => {
            text = upsertEnv(text, [[`V${i}`, value]]).text;
        });
        // and once more, rewriting every value in place
        text = upsertEnv(text, nasty.map((v, i) => [`V${i}`, v] as const)).text;
        fs.writeFileSync(file, text);
        nasty.forEach((value, i) => {
            assert.equal(sourceInBash(file, `V${i}`), value, `V${i}`);
            assert.equal(parse(text)[`V${i}`], value);
        });
        assert.equal(fs.existsSync(marker), false, 'a command ran');
    });
});
