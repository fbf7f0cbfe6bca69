/**
 * Editing `.env` text — a pure module (no `vscode`, no fs).
 *
 * Reading follows dotenv v16 (16.6.1, `lib/main.js`) exactly: the same LINE regular expression
 * (copied below, with two extra capture groups that do not change what it matches), the same
 * `\r\n?` → `\n` normalisation, the same value post-processing (trim, strip one pair of outer
 * quotes, `\n`/`\r` expansion inside double quotes). So "which bytes belong to key K" is what
 * dotenv thinks, including its quirks: a quoted value may span several lines; `export ` may
 * precede the key; `KEY = value` and `KEY: value` are accepted; unquoted values end at `#`.
 *
 * Writing (see {@link quoteEnvValue}) must satisfy two readers at once:
 *  - `dotenv.parse` must return exactly the value (dotenv has no escapes except `\n`/`\r` in
 *    double quotes, so a value is exact only inside a quote character it does not contain);
 *  - a POSIX shell doing `set -a; source .env` must never run anything. Single quotes are inert
 *    in a shell; double quotes are inert only without `$` and `` ` `` (and a final `\`, which
 *    would escape the closing quote); backticks are command substitution and are never inert.
 * When no quoting satisfies both, {@link EnvValueError} is thrown.
 *
 * Beyond those two, a value of {@link LITERAL_VALUE} characters is written unquoted, since then
 * every reader takes it the same way (issue 19.3): dotenv, bash `source`, python-dotenv and
 * Docker's `--env-file` (which takes the bytes after the first `=` and removes no quotes). Keap's
 * tokens and the expiry time are such values. A line that was quoted keeps its quote character
 * when the value allows it (the user's style); a value outside the set is quoted (K3), and Docker
 * then reads the quotes as part of it — no text can be exact for Docker and still be inert for a
 * shell then (e.g. the scope `full|ab123…`: a `|` unquoted is a pipe).
 */

/**
 * Characters every reader takes literally in an unquoted value, chosen from what each does with
 * the rest: dotenv ends an unquoted value at `#` and trims spaces; bash splits words at blanks,
 * expands `$`, `` ` ``, `\`, globs (`* ? [`), `~` (also after `=` and `:` in an assignment) and
 * `{…}`, and treats `; & | < > ( ) ! '` and `"` specially; python-dotenv expands `${…}` and removes
 * quotes; Docker keeps everything. Letters, digits and `. _ + / = : -` are left, and at least one
 * character (an empty unquoted value makes dotenv read the next line when it is quoted).
 */
export const LITERAL_VALUE = /^[A-Za-z0-9._+/=:-]+$/;

/** How an existing line writes its value: the quote character it opens with, or none. */
export type QuoteStyle = 'unquoted' | 'single' | 'double';

/** The candidates with those of `style` first (the order within each group kept). */
function preferring(all: Quoted[], style: QuoteStyle | undefined): Quoted[] {
    return [...all.filter((q) => q.style === style), ...all.filter((q) => q.style !== style)];
}

/** Thrown when a value cannot be written so that dotenv.parse reads it back exactly and a shell
 *  `source` runs nothing (see {@link quoteEnvValue} for the exact rule). */
export class EnvValueError extends Error {
    readonly key: string;
    constructor(key: string, message: string) {
        super(message);
        this.name = 'EnvValueError';
        this.key = key;
    }
}

/** Thrown for an invalid variable name (must match /^[A-Za-z_][A-Za-z0-9_.-]*$/). */
export class EnvKeyError extends Error {
    readonly key: string;
    constructor(key: string, message: string) {
        super(message);
        this.name = 'EnvKeyError';
        this.key = key;
    }
}

export interface EnvEditResult {
    text: string;
    /** keys found and rewritten in place (order of `values`) */
    updated: string[];
    /** keys added at the end (order of `values`) */
    appended: string[];
    changed: boolean;
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * dotenv 16.6.1's LINE regex, verbatim except that the separator and the value are captured
 * (group 2 and 3), and that the whitespace before a key stops at a line break (`[^\S\n]*` for
 * `\s*`). Neither changes what matches: a key after blank lines is found from the start of its own
 * line, which is tried next anyway. The second keeps a file of blank lines linear; dotenv's `\s*`
 * scans every later blank line from every line start (200 KB took a minute, with the extension host
 * stopped). Flag `d` gives match indices.
 * Original: /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/mg
 */
export const DOTENV_LINE_SOURCE =
    /(?:^|^)[^\S\n]*(?:export\s+)?([\w.-]+)((?:\s*=\s*?|:\s+?))(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/
        .source;

/** Comment written after a value that ends with a backslash. Without it, dotenv would read the
 *  backslash and the closing quote as an "escaped quote" and could run on to a later quote in
 *  the file; the quote inside this comment stops that (it is followed by text, so it can never
 *  close the value). */
const BACKSLASH_GUARD_COMMENT = "# 'value ends with a backslash";

interface Entry {
    key: string;
    /** all offsets are in the normalised text (CRLF/CR → LF) */
    keyStart: number;
    /** end of the value (or of the separator when there is no value) */
    valueEnd: number;
    /** end of the whole dotenv match (after a trailing comment) */
    matchEnd: number;
    value: string;
    /** how the line writes its value; undefined for an empty value or backticks (never written) */
    style: QuoteStyle | undefined;
}

interface Parsed {
    norm: string;
    /** map[i] = offset in the original text of normalised char i; map[norm.length] = text.length */
    map: number[];
    entries: Entry[];
}

function dotenvValue(raw: string | undefined): string {
    // Same steps as dotenv 16.6.1 parse().
    let value = (raw || '').trim();
    const maybeQuote = value[0];
    value = value.replace(/^(['"`])([\s\S]*)\1$/gm, '$2');
    if (maybeQuote === '"') {
        value = value.replace(/\\n/g, '\n');
        value = value.replace(/\\r/g, '\r');
    }
    return value;
}

function styleOf(raw: string | undefined): QuoteStyle | undefined {
    const v = (raw ?? '').trim();
    if (v === '') return undefined;
    return v[0] === "'" ? 'single' : v[0] === '"' ? 'double' : v[0] === '`' ? undefined : 'unquoted';
}

function parse(text: string): Parsed {
    const map: number[] = [];
    const parts: string[] = [];
    for (let i = 0; i < text.length; i++) {
        map.push(i);
        if (text.charCodeAt(i) === 13) {
            parts.push('\n');
            if (text.charCodeAt(i + 1) === 10) {
                i++;
            }
        } else {
            parts.push(text[i]);
        }
    }
    map.push(text.length);
    const norm = parts.join('');
    const re = new RegExp(DOTENV_LINE_SOURCE, 'dgm');
    const entries: Entry[] = [];
    let m: RegExpExecArray | null;
    while ((m = re.exec(norm)) !== null) {
        const ind = m.indices!;
        const valueEnd = ind[3] ? ind[3][1] : ind[2][1];
        entries.push({
            key: m[1],
            keyStart: ind[1][0],
            valueEnd,
            matchEnd: m.index + m[0].length,
            value: dotenvValue(m[3]),
            style: styleOf(m[3]),
        });
    }
    return { norm, map, entries };
}

interface Quoted {
    /** the quoted value, newlines as LF */
    text: string;
    style: QuoteStyle;
    /** value ends with a backslash: a guard comment must follow on the same line */
    needsGuard: boolean;
}

function hasEscapeSequence(value: string): boolean {
    return /\\[nr]/.test(value);
}

/** The shell-inert, dotenv-exact ways to write `value`, best first (never empty). */
function quoteCandidates(key: string, value: string): Quoted[] {
    const fail = (why: string): never => {
        throw new EnvValueError(
            key,
            `Cannot write ${key} to .env: ${why} No quoting lets dotenv read it back exactly while ` +
                'keeping a shell `source .env` from running part of it.',
        );
    };
    if (value.includes('\0')) {
        fail('the value holds a NUL character.');
    }
    const endsWithBackslash = value.endsWith('\\');
    const candidates: Quoted[] = [];
    // 0. Unquoted: only characters that every reader takes literally (dotenv, bash, python-dotenv, Docker).
    if (LITERAL_VALUE.test(value)) {
        candidates.push({ text: value, style: 'unquoted', needsGuard: false });
    }
    // 1. Single quotes: dotenv and the shell both take everything literally.
    //    Impossible with a ' inside, or with a CR (dotenv turns every CR into a line break).
    if (!value.includes("'") && !value.includes('\r')) {
        candidates.push({ text: `'${value}'`, style: 'single', needsGuard: endsWithBackslash });
    }
    // 2. Double quotes: dotenv expands only \n and \r (so a CR is written as \r), and cannot
    //    escape ". A shell expands $ and ` there, and a final \ would escape the closing quote.
    const problems: string[] = [];
    if (value.includes('"')) problems.push('"');
    if (value.includes('`')) problems.push('`');
    if (value.includes('$')) problems.push('$');
    if (hasEscapeSequence(value)) problems.push('the two characters \\n or \\r');
    if (endsWithBackslash) problems.push('a final \\');
    if (problems.length === 0) {
        candidates.push({ text: `"${value.replace(/\r/g, '\\r')}"`, style: 'double', needsGuard: false });
    }
    // 3. Backticks would be exact for dotenv in some of the remaining cases, but a shell runs the
    //    text between backticks as a command, so they are never written.
    if (candidates.length === 0) {
        const why = value.includes('\r')
            ? 'it holds a carriage return (only double quotes can carry one) together with '
            : 'it holds a single quote together with ';
        fail(`${why}${problems.join(', ')}.`);
    }
    return candidates;
}

function checkKey(key: string): void {
    if (!KEY_RE.test(key)) {
        throw new EnvKeyError(
            key,
            `Invalid variable name ${JSON.stringify(key)}: it must start with a letter or _ and ` +
                'contain only letters, digits, _, . and - (/^[A-Za-z_][A-Za-z0-9_.-]*$/).',
        );
    }
}

/**
 * Write a value so `dotenv.parse` returns exactly `value` and a POSIX shell `source .env` never
 * runs anything. Unquoted when it holds only {@link LITERAL_VALUE} characters (then python-dotenv
 * and Docker's `--env-file` read it exactly too); else single quotes when the value holds no `'`
 * and no CR; otherwise double quotes
 * (a CR written as `\r`), which needs a value without `"`, `` ` ``, `$`, a final `\` and the
 * two-character sequences `\n`/`\r`. Backticks are never used: a shell executes them.
 *
 * A value ending in `\` is returned followed by a guard comment (`'C:\dir\' # 'value ends with a
 * backslash`), because dotenv treats `\'` as an escaped quote and could otherwise swallow the
 * following lines. Newlines are written raw (a multi-line quoted value).
 *
 * @param prefer the style to use when the value allows it (an existing line's), else the order above.
 * @throws EnvValueError for a NUL, for a value holding `'` together with `"`, `` ` ``, `$`, `\n`/`\r`
 *   (as text) or a final `\`, and for a value with a CR that double quotes cannot carry. This
 *   includes every value holding `'`, `"` and `` ` `` together.
 */
export function quoteEnvValue(key: string, value: string, prefer?: QuoteStyle): string {
    const q = preferring(quoteCandidates(key, value), prefer)[0];
    return q.needsGuard ? `${q.text} ${BACKSLASH_GUARD_COMMENT}` : q.text;
}

function detectEol(text: string): string {
    let crlf = 0;
    let lf = 0;
    let cr = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 13) {
            if (text.charCodeAt(i + 1) === 10) {
                crlf++;
                i++;
            } else {
                cr++;
            }
        } else if (c === 10) {
            lf++;
        }
    }
    if (crlf > lf && crlf >= cr) return '\r\n';
    if (cr > lf && cr > crlf) return '\r';
    return '\n';
}

const LINE_BREAK = /[\n\u2028\u2029]/;

/**
 * Upsert variables into .env text.
 *
 * - Every dotenv entry naming a target key (with or without `export `, any quoting, a quoted value
 *   spanning several lines, `KEY = v` / `KEY: v` spacing) is rewritten in place as `KEY=<quoted>`:
 *   every occurrence of a duplicated key; its leading whitespace and `export ` prefix are kept.
 *   Its quote style (unquoted, `'…'`, `"…"`) is kept when the new value allows it; otherwise, and
 *   for appended keys, the value is unquoted when it can be, else quoted ({@link quoteEnvValue}).
 * - A trailing inline comment on the same line (`KEY=old # note`) is KEPT, separated from the new
 *   value by whitespace (a space is inserted when there was none, so a shell still sees a comment).
 *   Comment lines that dotenv's match happened to swallow after the value are kept byte for byte.
 * - Missing keys are appended in the given order, one `KEY=<quoted>` line each, using the file's
 *   dominant line ending (LF for a file without any). If the text is non-empty and does not end
 *   with a line break, one line break is added first. The appended block always ends with a line
 *   break; nothing else is added when no key is appended (a missing final newline stays missing).
 * - Every other byte stays identical (comments, blank lines, order, line endings, a leading BOM).
 *   Multi-line values are written with the file's line ending.
 * - A key given twice in `values`: the last value wins.
 *
 * The result is re-read with dotenv's rules before returning. If the new values do not read back
 * exactly or another key would read differently (possible only around malformed existing lines,
 * e.g. an unterminated quote that a new quote character would close), the other quote character
 * is tried; if none works, EnvValueError is thrown.
 *
 * @throws EnvKeyError / EnvValueError before anything is changed.
 */
export function upsertEnv(
    text: string,
    values: ReadonlyArray<readonly [key: string, value: string]>,
): EnvEditResult {
    const wanted = new Map<string, string>();
    for (const [key] of values) checkKey(key);
    for (const [key, value] of values) wanted.set(key, value); // order of first mention, last value
    const order = [...wanted.keys()];

    // The style a line already has comes first when the value allows it (the user chose it); else unquoted when it can be.
    const styles = new Map<string, QuoteStyle>();
    for (const e of parse(text).entries) if (e.style && !styles.has(e.key)) styles.set(e.key, e.style);
    const candidates = new Map<string, Quoted[]>();
    for (const key of order) {
        candidates.set(key, preferring(quoteCandidates(key, wanted.get(key)!), styles.get(key)));
    }

    // Normally the first choice is right. Next to a malformed line (an unterminated quote) it can
    // be read differently; then the other quote character is tried before giving up.
    const choice = new Map<string, number>(order.map((k) => [k, 0]));
    for (;;) {
        const quoted = new Map<string, Quoted>(order.map((k) => [k, candidates.get(k)![choice.get(k)!]]));
        const result = build(text, order, quoted);
        const failure = verify(text, result.text, wanted);
        if (!failure) return result;
        const next = [failure.key, ...order].find((k) => choice.get(k)! + 1 < (candidates.get(k)?.length ?? 0));
        if (next === undefined) throw failure;
        choice.set(next, choice.get(next)! + 1);
    }
}

function build(text: string, order: string[], quoted: Map<string, Quoted>): EnvEditResult {
    const { norm, map, entries } = parse(text);
    // The line ending for what we write comes from the lines we do not touch, so that a second
    // upsert of the same values sees the same majority and writes the same bytes (idempotence).
    let untouched = '';
    let from = 0;
    for (const e of entries) {
        if (!quoted.has(e.key)) continue;
        untouched += text.slice(from, map[e.keyStart]);
        // Skip the target line's own ending too: it is ours to write, not part of the majority.
        // (dotenv's match may run on over blank lines; the line ends at the first break after the value.)
        const br = norm.slice(e.valueEnd, e.matchEnd).search(LINE_BREAK);
        from = br < 0 ? map[e.matchEnd] : map[e.valueEnd + br];
        if (text.startsWith('\r\n', from)) from += 2;
        else if (text[from] === '\n' || text[from] === '\r') from += 1;
    }
    untouched += text.slice(from);
    const eol = /[\r\n]/.test(untouched) ? detectEol(untouched) : detectEol(text);
    const withEol = (s: string) => (eol === '\n' ? s : s.replace(/\n/g, eol));

    const out: string[] = [];
    let pos = 0; // in original text
    const found = new Set<string>();
    for (const e of entries) {
        const q = quoted.get(e.key);
        if (!q) continue;
        found.add(e.key);
        out.push(text.slice(pos, map[e.keyStart]));
        out.push(`${e.key}=${withEol(q.text)}`);
        // trailing part of the match: \s*(#.*)?
        const trailing = norm.slice(e.valueEnd, e.matchEnd);
        const br = trailing.search(LINE_BREAK);
        const sameLine = br < 0 ? trailing : trailing.slice(0, br);
        const hash = sameLine.indexOf('#');
        const ws = hash < 0 ? sameLine : sameLine.slice(0, hash);
        const comment = hash < 0 ? '' : sameLine.slice(hash);
        if (q.needsGuard && !comment.startsWith(BACKSLASH_GUARD_COMMENT)) {
            out.push(` ${BACKSLASH_GUARD_COMMENT}`);
        }
        if (comment) {
            // Before an unquoted value's comment always one space: dotenv reads the blanks there as part
            // of the value (then trimmed), so a second write would see none (idempotence).
            out.push((q.style !== 'unquoted' && /^[ \t]+$/.test(ws) ? ws : ' ') + comment);
        } else if (/^[ \t]*$/.test(ws) && q.style !== 'unquoted') {
            // Blanks after an unquoted value are dropped: Docker's --env-file would take them as part of
            // the value, and dotenv trims them, so a second write would see none (idempotence).
            out.push(ws);
        }
        // whatever follows on later lines (blank/comment lines dotenv's match swallowed): as is
        pos = br < 0 ? map[e.matchEnd] : map[e.valueEnd + br];
    }
    out.push(text.slice(pos));

    const updated = order.filter((k) => found.has(k));
    const appended = order.filter((k) => !found.has(k));
    if (appended.length > 0) {
        const body = out.join('');
        if (body.length > 0 && body !== '\uFEFF' && !/[\r\n]$/.test(body)) out.push(eol);
        for (const key of appended) {
            const q = quoted.get(key)!;
            out.push(`${key}=${withEol(q.text)}${q.needsGuard ? ' ' + BACKSLASH_GUARD_COMMENT : ''}${eol}`);
        }
    }
    const result = out.join('');
    return { text: result, updated, appended, changed: result !== text };
}

/** Re-reads `after` with dotenv's rules; returns the problem, if any. */
function verify(before: string, after: string, wanted: Map<string, string>): EnvValueError | undefined {
    const old = parse(before).entries.filter((e) => !wanted.has(e.key));
    const now = parse(after).entries;
    const seen = new Set<string>();
    for (const e of now) {
        if (wanted.has(e.key)) {
            seen.add(e.key);
            if (e.value !== wanted.get(e.key)) {
                return new EnvValueError(
                    e.key,
                    `Cannot write ${e.key} to this .env: dotenv would not read the new value back ` +
                        'exactly (the file probably contains an unterminated quote).',
                );
            }
        }
    }
    for (const key of wanted.keys()) {
        if (!seen.has(key)) {
            return new EnvValueError(
                key,
                `Cannot write ${key} to this .env: dotenv would not see it (the file probably ` +
                    'contains an unterminated quote).',
            );
        }
    }
    const others = now.filter((e) => !wanted.has(e.key));
    const same =
        others.length === old.length && others.every((e, i) => e.key === old[i].key && e.value === old[i].value);
    if (!same) {
        const key = [...wanted.keys()][0] ?? '';
        return new EnvValueError(
            key,
            'Cannot write these values to this .env: other variables would read differently ' +
                '(the file probably contains an unterminated quote).',
        );
    }
    return undefined;
}

/** The value `dotenv.parse(text)[key]` gives (the last definition wins, as in dotenv), or undefined. */
export function envValueOf(text: string, key: string): string | undefined {
    let value: string | undefined;
    for (const e of parse(text).entries) if (e.key === key) value = e.value;
    return value;
}

/** Keys the text defines (as dotenv reads it), in order of first appearance. */
export function listEnvKeys(text: string): string[] {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const e of parse(text).entries) {
        if (!seen.has(e.key)) {
            seen.add(e.key);
            keys.push(e.key);
        }
    }
    return keys;
}

export interface EnvRemoveResult {
    text: string;
    /** keys that were defined and are gone now (order of first appearance in the text) */
    removed: string[];
}

/**
 * Removes the variables `keys` from .env text: each line that defines one of them as dotenv reads
 * it (every occurrence; with its `export ` prefix, a quoted value spanning several lines, an inline
 * comment on the same line, and the line's own line break). Every other byte stays identical.
 *
 * The result is re-read with dotenv's rules: the other variables must read exactly as before, in
 * the same order, and none of `keys` may remain.
 * @throws EnvValueError when that check fails (possible only where dotenv reads a line together
 *   with the following ones, e.g. `EMPTY=` followed by a quoted line, or an unterminated quote);
 *   nothing is changed then.
 */
export function removeEnvKeys(text: string, keys: Iterable<string>): EnvRemoveResult {
    const drop = new Set(keys);
    const { norm, map, entries } = parse(text);
    const out: string[] = [];
    const removed: string[] = [];
    let pos = 0; // in norm
    for (const e of entries) {
        if (!drop.has(e.key)) continue;
        if (!removed.includes(e.key)) removed.push(e.key);
        let lineStart = e.keyStart;
        while (lineStart > pos && !LINE_BREAK.test(norm[lineStart - 1])) lineStart--;
        const br = norm.slice(e.valueEnd).search(LINE_BREAK);
        const lineEnd = br < 0 ? norm.length : e.valueEnd + br + 1;
        out.push(text.slice(map[pos], map[lineStart]));
        pos = lineEnd;
    }
    out.push(text.slice(map[pos]));
    const result = out.join('');
    const others = (t: string) => parse(t).entries.filter((e) => !drop.has(e.key)).map((e) => [e.key, e.value]);
    const left = parse(result).entries.find((e) => drop.has(e.key));
    if (left || JSON.stringify(others(result)) !== JSON.stringify(others(text))) {
        const key = left?.key ?? removed[0] ?? '';
        throw new EnvValueError(
            key,
            `Cannot remove ${key} from this .env: other variables would read differently (dotenv reads a ` +
                'neighbouring line together with the next ones, e.g. after an empty value or an unterminated quote).',
        );
    }
    return { text: result, removed };
}
