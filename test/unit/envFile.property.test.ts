import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as dotenv from 'dotenv';
import fc from 'fast-check';
import { EnvValueError, QuoteStyle, quoteEnvValue, upsertEnv } from '../../src/dotenv/envFile';
import { EnvEncodingError, findEncoding } from '../../src/dotenv/envEncoding';
import { readOwnEnvText, writeOwnerOnly } from '../../src/dotenv/envLocation';
import { itWhere, NO_BASH } from '../support/platform';

const RUNS = 10_000;
/** Runs of the byte-level property (7), each through a real file. */
const BYTE_RUNS = 1_000;
let generated = 0;

// ---------------------------------------------------------------------------------------------
// A model of .env files: each unit is one line, or one entry whose quoted value spans lines.

const KEYS = [
    'KEAP_ACCESS_TOKEN',
    'KEAP_ACCESS_TOKEN_OLD',
    'KEAP_REFRESH_TOKEN',
    'KEAP_CLIENT_ID',
    'KEAP_CLIENT_SECRET',
    'INFUSIONSOFT_REDIRECT_URL',
    'A',
    'b.c',
    'x-y',
    '_Z9',
] as const;

type Quoting = 'single' | 'double' | 'backtick' | 'unquoted' | 'empty';
interface EntryUnit {
    kind: 'entry';
    indent: string;
    exportPrefix: string;
    key: string;
    sep: string;
    quoting: Quoting;
    content: string;
    ws: string; // whitespace before the inline comment
    comment: string | null; // `# ...` or null
}
interface LineUnit {
    kind: 'line';
    text: string;
}
type Unit = EntryUnit | LineUnit;
interface Model {
    bom: boolean;
    eol: '\n' | '\r\n';
    units: Array<{ unit: Unit; eol: string }>;
    finalNewline: boolean;
}

/** Characters anywhere in generated text, weighted towards the ones that matter to dotenv/shells. */
const nastyChar = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...'aZ09_-.=:/+ |#$"\'`\\;&<>(){}*?!~%^,é€ \t') },
    { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\n', '\u2028', '\u00a0', '\uFEFF', '😀', '\\n', '\\r', '$(', '${') },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const nastyString = (maxLength: number) => fc.array(nastyChar, { maxLength }).map((a) => a.join(''));
const noLineBreak = (s: string) => s.replace(/[\r\n\u2028\u2029]/g, '');

/** Content of an existing value that reads back as the model says (no dotenv quirks). */
function contentFor(quoting: Quoting, raw: string): string {
    switch (quoting) {
        case 'single':
        case 'double':
        case 'backtick': {
            const q = quoting === 'single' ? "'" : quoting === 'double' ? '"' : '`';
            let s = raw.split(q).join('').replace(/\r/g, ''); // line breaks are rendered with the file's EOL
            if (s.endsWith('\\')) s += 'x';
            return s;
        }
        case 'unquoted': {
            // no leading quote (after dotenv's \s*), or dotenv would try to read a quoted value
            const s = noLineBreak(raw).replace(/#/g, '').replace(/^[\s'"`]+/, '').trim();
            return s === '' ? 'v' : s;
        }
        case 'empty':
            return '';
    }
}

const entryArb: fc.Arbitrary<EntryUnit> = fc
    .record({
        indent: fc.constantFrom('', '', '', '  ', '\t'),
        exportPrefix: fc.constantFrom('', '', 'export ', 'export\t'),
        key: fc.constantFrom(...KEYS),
        sep: fc.constantFrom('=', '=', '=', ' = ', '= ', ' =', ': '),
        quoting: fc.constantFrom<Quoting>('single', 'double', 'backtick', 'unquoted', 'empty'),
        raw: nastyString(12),
        ws: fc.constantFrom(' ', '  ', '\t'),
        comment: fc.option(nastyString(8).map((s) => `#${noLineBreak(s)}`), { freq: 3 }),
    })
    .map(({ raw, ...r }) => {
        const quoting: Quoting = r.quoting === 'empty' && r.sep === ': ' ? 'unquoted' : r.quoting;
        return { kind: 'entry' as const, ...r, quoting, content: contentFor(quoting, raw) };
    });

const lineArb: fc.Arbitrary<LineUnit> = fc.oneof(
    fc.constantFrom('', '', '  ', '\t').map((text) => ({ kind: 'line' as const, text })),
    fc
        .tuple(fc.constantFrom('', '  '), nastyString(16))
        .map(([i, s]) => ({ kind: 'line' as const, text: `${i}#${noLineBreak(s)}` })),
);

const modelArb: fc.Arbitrary<Model> = fc
    .record({
        bom: fc.boolean(),
        eol: fc.constantFrom<'\n' | '\r\n'>('\n', '\r\n'),
        mixed: fc.boolean(),
        units: fc.array(fc.tuple(fc.oneof({ weight: 3, arbitrary: entryArb }, { weight: 2, arbitrary: lineArb }), fc.boolean()), {
            maxLength: 10,
        }),
        finalNewline: fc.boolean(),
    })
    .map(({ bom, eol, mixed, units, finalNewline }) => ({
        bom,
        eol,
        finalNewline,
        units: units.map(([unit, flip]) => ({ unit, eol: mixed && flip ? (eol === '\n' ? '\r\n' : '\n') : eol })),
    }));

function renderEntry(u: EntryUnit, eol: string): string {
    const value = u.content.replace(/\n/g, eol);
    const quoted =
        u.quoting === 'single' ? `'${value}'` : u.quoting === 'double' ? `"${value}"` : u.quoting === 'backtick' ? `\`${value}\`` : value;
    return `${u.indent}${u.exportPrefix}${u.key}${u.sep}${quoted}${u.comment === null ? '' : u.ws + u.comment}`;
}

function renderUnits(m: Model): string[] {
    // Each unit with its own line ending; the last one without when the file has no final newline.
    return m.units.map(({ unit, eol }, i) => {
        const body = unit.kind === 'line' ? unit.text : renderEntry(unit, eol);
        return i === m.units.length - 1 && !m.finalNewline ? body : body + eol;
    });
}

function render(m: Model): string {
    return (m.bom ? '\uFEFF' : '') + renderUnits(m).join('');
}

/** How the model's first line of `key` with a value writes it (none: empty or backticks, which are never written). */
function styleOf(m: Model, key: string): QuoteStyle | undefined {
    for (const { unit } of m.units) {
        if (unit.kind !== 'entry' || unit.key !== key) continue;
        if (unit.quoting === 'single') return 'single';
        if (unit.quoting === 'double') return 'double';
        if (unit.quoting === 'unquoted') return 'unquoted';
    }
    return undefined;
}

/** What upsertEnv must produce, derived from the model (not from the implementation). */
function expected(m: Model, values: Map<string, string>, original: string): string {
    const rendered = renderUnits(m);
    // The line ending written is the majority among the lines the upsert does not touch (so a second
    // upsert sees the same majority); the whole original only when no untouched line ends at all.
    const untouched = m.units.map(({ unit }, i) => (unit.kind === 'entry' && values.has(unit.key) ? '' : rendered[i])).join('');
    const basis = /[\r\n]/.test(untouched) ? untouched : original;
    const dominant = basis.split('\r\n').length - 1 > basis.replace(/\r\n/g, '').split('\n').length - 1 ? '\r\n' : '\n';
    let out = m.bom ? '\uFEFF' : '';
    const present = new Set<string>();
    m.units.forEach(({ unit, eol }, i) => {
        if (unit.kind === 'entry' && values.has(unit.key)) {
            present.add(unit.key);
            // Issue 19.3: the style of the key's first styled line is kept when the value allows it; an unquoted value gets one space before a comment.
            const q = quoteEnvValue(unit.key, values.get(unit.key)!, styleOf(m, unit.key)).replace(/\n/g, dominant);
            const ws = unit.quoting === 'unquoted' || unit.quoting === 'empty' || !/^['"]/.test(q) ? ' ' : unit.ws;
            const ending = rendered[i].endsWith(eol) && (i < m.units.length - 1 || m.finalNewline) ? eol : '';
            out += `${unit.indent}${unit.exportPrefix}${unit.key}=${q}${unit.comment === null ? '' : ws + unit.comment}${ending}`;
        } else {
            out += rendered[i];
        }
    });
    const missing = [...values.keys()].filter((k) => !present.has(k));
    if (missing.length > 0) {
        if (out !== '' && out !== '\uFEFF' && !/[\r\n]$/.test(out)) out += dominant;
        for (const k of missing) out += `${k}=${quoteEnvValue(k, values.get(k)!).replace(/\n/g, dominant)}${dominant}`;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Target values.

const allThreeQuotes = (v: string) => v.includes("'") && v.includes('"') && v.includes('`');

const tokenArb = fc.oneof(
    { weight: 4, arbitrary: nastyString(24) },
    { weight: 2, arbitrary: nastyString(24).map((s) => s.replace(/'/g, '')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9.|]{8,40}$/) },
    { weight: 1, arbitrary: fc.constant('full|ab123.infusionsoft.com') },
);
const writableToken = tokenArb.filter((v) => {
    try {
        quoteEnvValue('K', v);
        return true;
    } catch {
        return false;
    }
});
const targetsArb = fc
    .uniqueArray(fc.constantFrom(...KEYS, 'KEAP_SCOPE', 'NEW_KEY'), { minLength: 1, maxLength: 3 })
    .chain((keys) => fc.tuple(...keys.map((k) => writableToken.map((v) => [k, v] as const))));

/** Shell-inert AND dotenv-exact ways to write v that exist at all, found by trying each quote. */
function someQuotingWorks(v: string): boolean {
    if (v.includes('\0')) return false; // a shell variable cannot hold NUL
    const candidates: Array<{ text: string; shellInert: boolean }> = [
        { text: `'${v}'`, shellInert: !v.includes("'") },
        { text: `"${v.replace(/\r/g, '\\r')}"`, shellInert: !/["$`]/.test(v) && !v.endsWith('\\') },
        { text: `\`${v}\``, shellInert: false }, // command substitution
    ];
    return candidates.some((c) => c.shellInert && dotenv.parse(`K=${c.text}`).K === v);
}

// ---------------------------------------------------------------------------------------------

describe('envFile properties (fast-check)', function () {
    this.timeout(300_000);

    after(() => {
        console.log(`envFile property shapes: ${JSON.stringify(seen)}`);
        console.log(`envFile property cases: ${generated}`);
    });

    const seen = {
        updatedInPlace: 0,
        duplicatedTarget: 0,
        multiLineOldValue: 0,
        crlf: 0,
        bom: 0,
        noFinalNewlineAppend: 0,
        multiLineNewValue: 0,
        backslashEnd: 0,
        singleQuoteInValue: 0,
    };

    it(`(1) dotenv.parse(result): target keys hold the new values, every other key its old value [${RUNS} runs]`, () => {
        fc.assert(
            fc.property(modelArb, targetsArb, (m, targets) => {
                generated++;
                const original = render(m);
                const before = dotenv.parse(original);
                const r = upsertEnv(original, targets);
                const after = dotenv.parse(r.text);
                const want: Record<string, string> = { ...before };
                for (const [k, v] of targets) want[k] = v;
                assert.deepEqual(after, want);
                assert.equal(r.changed, r.text !== original);
                assert.deepEqual(
                    [...r.updated, ...r.appended].sort(),
                    targets.map(([k]) => k).sort(),
                );
                for (const k of r.appended) assert.equal(k in before, false);
                // coverage of the interesting shapes
                const hits = m.units.filter((u) => u.unit.kind === 'entry' && targets.some(([k]) => k === (u.unit as EntryUnit).key));
                if (hits.length > 0) seen.updatedInPlace++;
                if (new Set(hits.map((u) => (u.unit as EntryUnit).key)).size < hits.length) seen.duplicatedTarget++;
                if (hits.some((u) => /[\r\n]/.test((u.unit as EntryUnit).content))) seen.multiLineOldValue++;
                if (original.includes('\r\n')) seen.crlf++;
                if (m.bom) seen.bom++;
                if (!m.finalNewline && r.appended.length > 0) seen.noFinalNewlineAppend++;
                if (targets.some(([, v]) => /\n/.test(v))) seen.multiLineNewValue++;
                if (targets.some(([, v]) => v.endsWith('\\'))) seen.backslashEnd++;
                if (targets.some(([, v]) => v.includes("'"))) seen.singleQuoteInValue++;
            }),
            { numRuns: RUNS },
        );
        for (const [shape, count] of Object.entries(seen)) assert.ok(count >= RUNS / 100, `only ${count} cases of ${shape}`);
    });

    it(`(2) every line not belonging to a target key stays byte-identical and in order; result is exactly as modelled [${RUNS} runs]`, () => {
        fc.assert(
            fc.property(modelArb, targetsArb, (m, targets) => {
                generated++;
                const original = render(m);
                const values = new Map<string, string>(targets);
                const r = upsertEnv(original, targets);
                // untouched units, in order
                let at = 0;
                const rendered = renderUnits(m);
                m.units.forEach(({ unit }, i) => {
                    if (unit.kind === 'entry' && values.has(unit.key)) return;
                    const found = r.text.indexOf(rendered[i], at);
                    assert.ok(found >= 0, `unit ${i} ${JSON.stringify(rendered[i])} kept`);
                    at = found + rendered[i].length;
                });
                if (m.bom) assert.ok(r.text.startsWith('\uFEFF'));
                assert.equal(r.text, expected(m, values, original));
            }),
            { numRuns: RUNS },
        );
    });

    it(`(3) upserting the same values twice is idempotent [${RUNS} runs]`, () => {
        fc.assert(
            fc.property(modelArb, targetsArb, (m, targets) => {
                generated++;
                const first = upsertEnv(render(m), targets);
                const second = upsertEnv(first.text, targets);
                assert.equal(second.text, first.text);
                assert.equal(second.changed, false);
                assert.deepEqual(second.appended, []);
            }),
            { numRuns: RUNS },
        );
    });

    it(`(4) quoteEnvValue round-trips through dotenv.parse and throws only when no quoting works [${RUNS} runs]`, () => {
        fc.assert(
            fc.property(tokenArb, fc.constantFrom('', "\n# it'\nB='x'\n", '\nB="y"\n'), (v, after) => {
                generated++;
                let q: string | undefined;
                try {
                    q = quoteEnvValue('K', v);
                } catch (e) {
                    assert.ok(e instanceof EnvValueError);
                    assert.equal(e.key, 'K');
                    assert.equal(someQuotingWorks(v), false, `refused ${JSON.stringify(v)} but it can be written`);
                    assert.throws(() => upsertEnv('A=1\n', [['K', v]]), EnvValueError);
                    return;
                }
                assert.equal(allThreeQuotes(v), false, 'a value with all three quote characters must be refused');
                // exact for dotenv, also when followed by other lines (the \' quirk)
                assert.equal(dotenv.parse(`K=${q}${after}`).K, v);
                // shell-inert form: single quotes without ', or double quotes without " $ ` and final \
                const inner = q.replace(/ # 'value ends with a backslash$/, '');
                // Issue 19.3: unquoted only for characters every reader takes literally.
                const unquoted = /^[A-Za-z0-9._+/=:-]+$/.test(inner) && inner === v;
                const single = /^'[^']*'$/.test(inner);
                const double = /^"[^"$`]*"$/.test(inner) && !inner.endsWith('\\"');
                assert.ok(unquoted || single || double, `shell-inert quoting for ${JSON.stringify(v)}: ${q}`);
            }),
            { numRuns: RUNS },
        );
    });

    it(`(6) next to malformed lines (unterminated quotes), upsertEnv writes exactly or throws EnvValueError — never silently wrong [${RUNS} runs]`, () => {
        let wrote = 0;
        const malformed = fc
            .tuple(fc.constantFrom(...KEYS), fc.constantFrom('=', '= ', ': '), fc.constantFrom("'", '"', '`'), nastyString(6))
            .map(([k, sep, q, s]) => `${k}${sep}${q}${noLineBreak(s)}`);
        fc.assert(
            fc.property(modelArb, fc.array(fc.tuple(fc.nat(), malformed), { minLength: 1, maxLength: 2 }), targetsArb, (m, bad, targets) => {
                generated++;
                const lines = render(m).split('\n');
                for (const [at, line] of bad) lines.splice(at % (lines.length + 1), 0, line);
                const original = lines.join('\n');
                let r;
                try {
                    r = upsertEnv(original, targets);
                } catch (e) {
                    assert.ok(e instanceof EnvValueError, String(e));
                    return;
                }
                wrote++;
                const want: Record<string, string> = { ...dotenv.parse(original) };
                for (const [k, v] of targets) want[k] = v;
                assert.deepEqual(dotenv.parse(r.text), want);
                assert.equal(upsertEnv(r.text, targets).text, r.text);
            }),
            { numRuns: RUNS },
        );
        assert.ok(wrote > RUNS / 2, `wrote only ${wrote} of ${RUNS}`);
    });

    it(`(7) arbitrary bytes around the edited line, through the real file reader and writer: a file that is not UTF-8 is refused and left as it was; otherwise every byte but the edited line's stays identical [${BYTE_RUNS} runs] (issue 17.8)`, async () => {
        const KEY = 'KEAP_ACCESS_TOKEN';
        const chunk = fc.oneof(
            { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }) },
            { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map((t) => Buffer.from(t, 'utf8')) },
            { weight: 3, arbitrary: nastyString(16).map((t) => Buffer.from(t, 'utf8')) },
            {
                weight: 1,
                arbitrary: fc.constantFrom(
                    Buffer.from([0xef, 0xbb, 0xbf]), // a UTF-8 BOM (kept)
                    Buffer.from('DB_PASSWORD=p\xe4ss\n', 'latin1'), // Windows-1252
                    Buffer.from([0xff, 0xfe]), // UTF-16 LE BOM
                    Buffer.from([0xfe, 0xff]), // UTF-16 BE BOM
                    Buffer.from('A=1\r\n', 'utf16le'),
                    Buffer.from('\r\n'),
                ),
            },
        );
        const bytes = fc.array(chunk, { maxLength: 4 }).map((a) => Buffer.concat(a));
        const token = fc.stringMatching(/^[A-Za-z0-9._~+/|-]{1,40}$/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envfile-bytes-'));
        const file = path.join(dir, '.env');
        let refusedEncoding = 0;
        let inPlace = 0;
        try {
            await fc.assert(
                fc.asyncProperty(bytes, bytes, token, async (prefix, suffix, value) => {
                    generated++;
                    fc.pre(!prefix.includes(KEY) && !suffix.includes(KEY));
                    const line = Buffer.from(`${KEY}=old\n`);
                    const before = Buffer.concat([prefix, prefix.length > 0 ? Buffer.from('\n') : Buffer.alloc(0), line, suffix]);
                    fs.rmSync(file, { force: true });
                    fs.writeFileSync(file, before);
                    let text: string | undefined;
                    try {
                        text = await readOwnEnvText(file);
                    } catch (e) {
                        assert.ok(e instanceof EnvEncodingError, String(e));
                        assert.notEqual(findEncoding(before), undefined);
                        refusedEncoding++;
                        assert.ok(fs.readFileSync(file).equals(before), 'a refused file is left as it was');
                        return;
                    }
                    assert.equal(findEncoding(before), undefined, 'only a file that is not UTF-8 is refused');
                    let edited: string;
                    try {
                        edited = upsertEnv(text!, [[KEY, value]]).text;
                    } catch (e) {
                        assert.ok(e instanceof EnvValueError, String(e));
                        return;
                    }
                    await writeOwnerOnly(file, edited);
                    const after = fs.readFileSync(file);
                    const head = before.length - line.length - suffix.length;
                    const replaced = Buffer.concat([before.subarray(0, head), Buffer.from(`${KEY}=${quoteEnvValue(KEY, value)}\n`), suffix]);
                    if (after.equals(replaced)) inPlace++;
                    // In place, or (when an unterminated quote before it swallowed the line) appended after every original byte.
                    else assert.ok(after.subarray(0, before.length).equals(before), `bytes changed: ${before.toString('hex')} -> ${after.toString('hex')}`);
                }),
                { numRuns: BYTE_RUNS },
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        console.log(`envFile bytes property: ${refusedEncoding} files refused (not UTF-8), ${inPlace} edited in place, of ${BYTE_RUNS}`);
        assert.ok(refusedEncoding > BYTE_RUNS / 10, `only ${refusedEncoding} files not in UTF-8`);
        assert.ok(inPlace > BYTE_RUNS / 4, `only ${inPlace} edits in place`);
    });

    itWhere(NO_BASH, '(5) bash `source` of a file written with 2,000 generated values reads them back and runs nothing', () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envfile-prop-'));
        try {
            const marker = path.join(dir, 'pwned');
            const injection = fc.constantFrom(
                `$(touch ${marker})`,
                `\`touch ${marker}\``,
                `;touch ${marker};`,
                `|touch ${marker}`,
                `&& touch ${marker}`,
                `\ntouch ${marker}\n`,
                `'; touch ${marker}; '`,
                `"; touch ${marker}; "`,
            );
            const valueArb = fc
                .tuple(writableToken, fc.option(injection), writableToken)
                .map(([a, inj, b]) => a + (inj ?? '') + b)
                .filter((v) => {
                    try {
                        quoteEnvValue('K', v);
                        return !v.includes('\0');
                    } catch {
                        return false;
                    }
                });
            const values = fc.sample(valueArb, { numRuns: 2000, seed: 4242 });
            generated += values.length;
            const text = upsertEnv('EXISTING=1\n', values.map((v, i) => [`V${i}`, v] as const)).text;
            const file = path.join(dir, '.env');
            fs.writeFileSync(file, text);
            const out = execFileSync(
                'bash',
                ['-c', 'set -a; source "$1"; shift; for k in "$@"; do printf "%s\\0" "${!k}"; done', 'bash', file, ...values.map((_, i) => `V${i}`)],
                { encoding: 'utf8', cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir }, maxBuffer: 64 << 20 },
            ).split('\0');
            assert.equal(fs.existsSync(marker), false, 'a command ran');
            const parsed = dotenv.parse(text);
            values.forEach((v, i) => {
                assert.equal(parsed[`V${i}`], v);
                // Double quotes (used for a ' or a CR) are inert, but there a shell still removes a
                // \ before \ or a newline and reads the \r escape literally; every other value
                // must come back byte for byte.
                const doubleQuoted = /['\r]/.test(v);
                const shellExact = !(doubleQuoted && /[\\\r]/.test(v));
                if (shellExact) assert.equal(out[i], v, `V${i} = ${JSON.stringify(v)}`);
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
