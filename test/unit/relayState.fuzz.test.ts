import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildForwardUrl,
  decodeStateTarget,
  encodeState,
  EXTENSION_AUTHORITY,
  isAllowedRelayTarget,
  MAX_TARGET_LENGTH,
  parseRelayHosts,
} from '../../src/signin/relayState';

/**
 * Property tests for the relay page's state codec and allow-list. Each property runs RUNS cases.
 * The allow-list is checked against an independent oracle (regular expressions over the raw string,
 * no WHATWG URL parser): whatever isAllowedRelayTarget lets through must satisfy the oracle.
 */
const RUNS = 10_000;
let cases = 0;
const counted = <T extends unknown[]>(fn: (...args: T) => void) => (...args: T): void => {
  cases++;
  fn(...args);
};

// ---------------------------------------------------------------------------------------------
// Independent oracle of the allow-list rules (see isAllowedRelayTarget's documentation).

/** Hosts listed in the relay page's relay-hosts.json for these properties (with the ports the grammar uses). */
const LISTED = ['code.example.com', 'a.b.example', '203.0.113.9', 'a.example'].flatMap(h => ['', '8080', '1', '65535'].map(p => (p ? `${h}:${p}` : h)));
const HOSTS = parseRelayHosts({ hosts: LISTED });
const ORACLE_LISTED = new Set(LISTED);

const ORACLE_EDITOR_SCHEMES = new Set(['vscode', 'vscode-insiders', 'vscodium', 'code-oss', 'cursor', 'windsurf', 'positron', 'trae', 'kiro']);

function lenientDecode(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    return component;
  }
}

function oracleLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '[::1]') return true;
  const parts = h.split('.');
  return (
    parts.length === 4 &&
    parts[0] === '127' &&
    parts.every(p => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)
  );
}

/** What the rules allow, read straight off the characters of the target. */
function oracleAllows(target: string): boolean {
  if (target.length === 0 || target.length > MAX_TARGET_LENGTH) return false;
  for (const ch of target) {
    const c = ch.codePointAt(0)!;
    if (c <= 0x20 || c >= 0x7f) return false; // whitespace, controls, anything non-ASCII
  }
  if (target.includes('\\') || target.includes('#')) return false;
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(\/[^?]*)?(\?.*)?$/.exec(target);
  if (!m) return false;
  const scheme = m[1].toLowerCase();
  const authority = m[2];
  const path = m[3] ?? '';
  const query = m[4] ?? '';
  if (authority.includes('@') || authority === '') return false;

  if (ORACLE_EDITOR_SCHEMES.has(scheme)) {
    return authority.toLowerCase() === EXTENSION_AUTHORITY;
  }
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::([0-9]{1,5}))?$/.exec(authority);
  if (!hp) return false;
  const host = hp[1];
  if (scheme === 'http') {
    if (!oracleLoopback(host)) return false;
  } else if (scheme === 'https') {
    // Loopback, or a host the person hosting the relay page listed (case S6).
    if (!oracleLoopback(host) && !ORACLE_LISTED.has(hp[2] ? `${host.toLowerCase()}:${hp[2]}` : host.toLowerCase())) return false;
  } else {
    return false;
  }
  if (!path.endsWith('/callback')) return false;
  const pairs = query.slice(1).split('&').map(p => {
    const eq = p.indexOf('=');
    return eq < 0 ? [lenientDecode(p), ''] : [lenientDecode(p.slice(0, eq)), lenientDecode(p.slice(eq + 1))];
  });
  return pairs.some(([k, v]) => k === 'vscode-authority' && v.toLowerCase() === EXTENSION_AUTHORITY);
}

// ---------------------------------------------------------------------------------------------
// A grammar of targets: good parts, near misses and look-alikes, then random mutations.

const AUTH = EXTENSION_AUTHORITY;
const schemeArb = fc.constantFrom(
  'vscode', 'vscode-insiders', 'vscodium', 'code-oss', 'cursor', 'windsurf', 'positron', 'trae', 'kiro',
  'VSCODE', 'Vscode', 'vscode-evil', 'vscodex', 'xvscode', 'code', 'evilapp',
  'https', 'HTTPS', 'http', 'Http', 'javascript', 'JavaScript', 'data', 'file', 'blob', 'ftp', 'ws', 'wss', 'about', 'chrome', 'intent',
);
const separatorArb = fc.constantFrom('://', '://', '://', '://', ':', ':/', ':///', ':\\\\', ':/\\', '\\\\', ': //', ':%2F%2F', '://\t');
const userinfoArb = fc.constantFrom('', '', '', '', 'user@', `${AUTH}@`, 'a:b@', ':@', '@', '@@', 'localhost@', '127.0.0.1@', 'user%40x@', 'x:y%40@');
const hostArb = fc.constantFrom(
  AUTH, AUTH, AUTH.toUpperCase(), `${AUTH}.`, `${AUTH}.evil.com`, `evil.${AUTH}`, 'keap-community%2Einfusionsoft-oauth', 'keap-community.infusionsoft-0auth', 'keap-communlty.infusionsoft-oauth',
  'localhost', 'LOCALHOST', 'localhost.', 'localhost.evil.com', 'evil.localhost', 'localhost:80@evil.com',
  '127.0.0.1', '127.0.0.1', '127.1', '127.0.1', '127.000.000.001', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '2130706433', '127.255.255.255', '127.256.0.1', '127.0.0.1.', '127.0.0.1.evil.com', '128.0.0.1', '0.0.0.0', '10.0.0.1',
  '[::1]', '[::1]', '[0:0:0:0:0:0:0:1]', '[::2]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::1', '::1',
  'code.example.com', 'a.example', 'evil.example', 'EVIL.example', 'xn--bcher-kva.example', 'bücher.example', 'ａ.example', 'a\u200B.example', 'a%2eexample', 'evil.com%2f', 'evil.com%40a.example',
  '', ' ', '%00', 'a b', 'evil.com\\', 'evil.com\\@a.example',
);
const portArb = fc.constantFrom('', '', '', '', ':8080', ':443', ':80', ':0', ':65535', ':65536', ':', ':abc', ':-1', ':08080', ':8080:9090');
const pathArb = fc.constantFrom(
  '', '/', '/callback', '/callback', '/callback', '/stable-0123abcd/callback', '/x/callback', '/CALLBACK', '/callback/', '/callbacks', '/xcallback', '/callback/x',
  '/x/../callback', '/./callback', '/callback/.', '/callback/..', '/%2e%2e/callback', '/x%2Fcallback', '//evil.com/callback', '/callback\\', '/\\evil.com/callback', '/call back', '/callback%00', '/callback;x', '/callback\n',
);
const queryArb = fc.constantFrom(
  '', '', `?vscode-authority=${AUTH}`, `?vscode-authority=${AUTH}`,
  `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=%2Fcallback`,
  `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=/callback`,
  `?vscode-authority=${AUTH.toUpperCase()}`, `?vscode-authority=keap-community%2Einfusionsoft-oauth`, `?vscode-authority=${AUTH}%20`, `?vscode-authority=${AUTH}.evil`,
  '?vscode-authority=evil.ext', `?vscode-authority=${AUTH}&vscode-authority=evil.ext`, `?vscode-Authority=${AUTH}`, `?vscode-authority%3D${AUTH}`, `?x=vscode-authority=${AUTH}`,
  `?p=/callback&vscode-authority=${AUTH}`, '?windowId=1', '?', `?vscode-authority=${AUTH}&`, `?vscode-authority=${AUTH}&x='<">`, `?vscode-authority=${AUTH}&x=%zz`,
);
const fragmentArb = fc.constantFrom('', '', '', '', '#', '#x', `#vscode-authority=${AUTH}`, '#?code=1');

/** Mostly a part that fits the shape, sometimes any part at all (so single-rule violations abound). */
function biased(good: readonly string[], all: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: all });
}
const EDITOR = ['vscode', 'vscode-insiders', 'vscodium', 'code-oss', 'cursor', 'windsurf', 'positron', 'trae', 'kiro'];
const GOOD_QUERIES = [
  `?vscode-authority=${AUTH}`,
  `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=%2Fcallback`,
  `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=/callback`,
];
const GOOD_PATHS = ['/callback', '/stable-0123abcd/callback', '/x/callback'];
const shapes: Record<'desktop' | 'loopback' | 'https', fc.Arbitrary<string[]>> = {
  desktop: fc.tuple(biased(EDITOR, schemeArb), biased(['://'], separatorArb), biased([''], userinfoArb), biased([AUTH, AUTH.toUpperCase()], hostArb), biased([''], portArb), pathArb, queryArb, biased([''], fragmentArb)),
  loopback: fc.tuple(biased(['http'], schemeArb), biased(['://'], separatorArb), biased([''], userinfoArb), biased(['127.0.0.1', 'localhost', '[::1]', '127.255.255.255'], hostArb), biased(['', ':8080', ':65535'], portArb), biased(GOOD_PATHS, pathArb), biased(GOOD_QUERIES, queryArb), biased([''], fragmentArb)),
  https: fc.tuple(biased(['https'], schemeArb), biased(['://'], separatorArb), biased([''], userinfoArb), biased(['code.example.com', 'a.example', '127.0.0.1', '[::1]', '10.0.0.1'], hostArb), biased(['', ':8443'], portArb), biased(GOOD_PATHS, pathArb), biased(GOOD_QUERIES, queryArb), biased([''], fragmentArb)),
};
const grammarTarget = fc
  .oneof(
    shapes.desktop,
    shapes.loopback,
    shapes.https,
    // Fully independent choices: the odd combinations (javascript: with the extension's host, …).
    fc.tuple(schemeArb, separatorArb, userinfoArb, hostArb, portArb, pathArb, queryArb, fragmentArb),
  )
  .map(parts => parts.join(''));

const mutationChar = fc.oneof(
  fc.constantFrom(' ', '\t', '\n', '\r', '\u0000', '\u0007', '\u007f', '\u0085', '\u00a0', '\u200b', '\u202e', '\u2028', '\ufeff', '\uff0e', '\\', '@', '#', '%', '.', ':', '/', '?', '&', '=', '[', ']', '"', '<', '>', '`', '^', '|', '{', '}', '\'', '%2e', '%2f', '%40', '%5c', '%00', '..', '//', 'ı', 'K', 'ſ'),
  fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }),
);
type Mutation = { kind: 'insert' | 'replace' | 'delete' | 'upper'; at: number; text: string };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('insert', 'replace', 'delete', 'upper'),
  at: fc.nat(),
  text: mutationChar,
});
function mutate(target: string, mutations: Mutation[]): string {
  let s = target;
  for (const { kind, at, text } of mutations) {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    if (kind === 'insert') s = s.slice(0, i) + text + s.slice(i);
    else if (kind === 'replace') s = s.slice(0, i) + text + s.slice(i + 1);
    else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else s = s.slice(0, i) + s.slice(i, i + 5).toUpperCase() + s.slice(i + 5);
  }
  return s;
}
const mutatedTarget = fc.tuple(grammarTarget, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([t, m]) => mutate(t, m));
const longTarget = fc
  .tuple(fc.constantFrom(`https://a.example/callback?vscode-authority=${AUTH}&p=`, `vscode://${AUTH}/callback?p=`), fc.integer({ min: MAX_TARGET_LENGTH - 80, max: MAX_TARGET_LENGTH + 80 }))
  .map(([prefix, n]) => prefix + 'x'.repeat(Math.max(0, n - prefix.length)));
const anyTarget = fc.oneof(
  { weight: 5, arbitrary: grammarTarget },
  { weight: 4, arbitrary: mutatedTarget },
  { weight: 1, arbitrary: longTarget },
  { weight: 1, arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
);

// Targets the rules allow, for the forwarding property.
const allowedTarget = fc.oneof(
  fc.tuple(fc.constantFrom('vscode', 'vscode-insiders', 'vscodium', 'code-oss', 'cursor', 'windsurf', 'positron', 'trae', 'kiro'), fc.constantFrom(AUTH, 'Keap-Community.Infusionsoft-OAuth'), fc.constantFrom('', '/', '/callback', '/x/y'), fc.constantFrom('', '?', '?a=1', '?a=1&', '?a=%20b'))
    .map(([s, a, p, q]) => `${s}://${a}${p}${q}`),
  fc.tuple(
    fc.constantFrom('http://127.0.0.1', 'http://localhost', 'http://[::1]', 'http://127.3.2.1', 'https://code.example.com', 'https://a.b.example', 'https://203.0.113.9'),
    fc.constantFrom('', ':8080', ':1', ':65535'),
    fc.constantFrom('/callback', '/stable-abc/callback', '/a/b/callback'),
    fc.constantFrom(
      `?vscode-authority=${AUTH}`,
      `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=%2Fcallback`,
      `?vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${AUTH}&vscode-path=/callback&`,
      `?a=%20&vscode-authority=${AUTH}`,
    ),
  ).map(([o, port, p, q]) => `${o}${port}${p}${q}`),
);
const paramName = fc.oneof(
  fc.constantFrom('code', 'state', 'error', 'error_description', 'scope', 'a b', '&', '=', '?', '#', '%', '+', 'é', '🎉'),
  fc.string({ unit: 'binary', maxLength: 12 }),
).filter(n => !n.toLowerCase().startsWith('vscode-'));
const paramValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '&', '=', '#', '?', '+', '%', '%20', '%zz', 'User denied access to resource', 'full|ab123.infusionsoft.com', '\u0000', '\n', '\\'),
);
const paramsArb = fc.array(fc.tuple(paramName, paramValue), { maxLength: 6 });

// Strings for the decoder: arbitrary text, and near-valid states.
const b64Chars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. %'.split(''));
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map(c => String.fromCharCode(c));
const stateArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: utf16Unit, maxLength: 40 }),
  fc.tuple(fc.string({ unit: b64Chars, maxLength: 30 }), fc.string({ unit: b64Chars, maxLength: 60 })).map(([n, t]) => `${n}.${t}`),
  fc.tuple(fc.string({ unit: b64Chars, maxLength: 30 }), fc.uint8Array({ maxLength: 40 })).map(([n, b]) => `${n}.${Buffer.from(b).toString('base64url')}`),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 32 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.array(mutationArb, { maxLength: 2 }))
    .map(([n, t, m]) => mutate(`${Buffer.from(n).toString('base64url')}.${Buffer.from(t).toString('base64url')}`, m)),
);

// ---------------------------------------------------------------------------------------------

describe('relayState (fuzz)', function () {
  this.timeout(120_000);

  after(() => {
    console.log(`relay fuzz cases: ${cases}`);
  });

  it('decodeStateTarget never throws, and whatever it returns re-encodes to the same state', () => {
    fc.assert(
      fc.property(stateArb, counted((state: string) => {
        const target = decodeStateTarget(state);
        if (target === undefined) return;
        assert.equal(typeof target, 'string');
        assert.ok(target.length > 0);
        const nonce = state.slice(0, state.indexOf('.'));
        assert.equal(encodeState(nonce, target), state, 'decoding accepts only the canonical encoding');
      })),
      { numRuns: RUNS },
    );
  });

  it('encodeState / decodeStateTarget round-trip any well-formed target, matching Node base64url', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 32 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), counted((raw: Uint8Array, target: string) => {
        const nonce = Buffer.from(raw).toString('base64url');
        const state = encodeState(nonce, target);
        assert.equal(state, `${nonce}.${Buffer.from(target, 'utf8').toString('base64url')}`);
        assert.equal(decodeStateTarget(state), target);
      })),
      { numRuns: RUNS },
    );
  });

  let allowedSeen = 0;
  it('isAllowedRelayTarget never allows a target outside the rules (independent oracle)', () => {
    fc.assert(
      fc.property(anyTarget, counted((target: string) => {
        const allowed = isAllowedRelayTarget(target, EXTENSION_AUTHORITY, HOSTS);
        if (!allowed) {
          assert.equal(buildForwardUrl(target, new URLSearchParams('code=c'), HOSTS), undefined);
          return;
        }
        allowedSeen++;
        assert.ok(oracleAllows(target), `allowed but outside the rules: ${JSON.stringify(target)}`);
        // What the browser would follow has the scheme and authority the oracle read off the raw text.
        const u = new URL(target);
        const rawAuthority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/.exec(target)![1];
        assert.equal(u.host.toLowerCase(), rawAuthority.toLowerCase());
        assert.equal(u.username + u.password, '');
      })),
      { numRuns: RUNS },
    );
    // Not vacuous: the grammar does reach the allowed shapes.
    assert.ok(allowedSeen > RUNS / 100, `only ${allowedSeen} allowed targets were generated`);
  });

  it('the round trip state → target → allow-list holds for any target inside a state', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), anyTarget, counted((raw: Uint8Array, target: string) => {
        let state: string;
        try {
          state = encodeState(Buffer.from(raw).toString('base64url'), target);
        } catch {
          return; // empty or ill-formed target: nothing to carry
        }
        const decoded = decodeStateTarget(state);
        assert.equal(decoded, target);
        assert.equal(isAllowedRelayTarget(decoded!, EXTENSION_AUTHORITY, HOSTS), isAllowedRelayTarget(target, EXTENSION_AUTHORITY, HOSTS));
        if (isAllowedRelayTarget(decoded!, EXTENSION_AUTHORITY, HOSTS)) assert.ok(oracleAllows(decoded!));
      })),
      { numRuns: RUNS },
    );
  });

  it('buildForwardUrl keeps the target and its origin, and the appended params decode back exactly', () => {
    fc.assert(
      fc.property(allowedTarget, paramsArb, counted((target: string, entries: [string, string][]) => {
        assert.ok(isAllowedRelayTarget(target, EXTENSION_AUTHORITY, HOSTS), target);
        const params = new URLSearchParams(entries);
        const forward = buildForwardUrl(target, params, HOSTS);
        assert.ok(forward !== undefined);
        assert.ok(forward.startsWith(target), 'the target text is kept verbatim');
        const t = new URL(target);
        const f = new URL(forward);
        assert.equal(f.protocol, t.protocol);
        assert.equal(f.host, t.host);
        assert.equal(f.origin, t.origin);
        assert.equal(f.username + f.password, '');
        assert.equal(f.pathname, t.pathname);
        assert.equal(f.hash, '');
        // The target's own parameters come first, unchanged; then exactly the given ones.
        const targetEntries = [...t.searchParams];
        const all = [...f.searchParams];
        assert.deepEqual(all.slice(0, targetEntries.length), targetEntries);
        assert.deepEqual(all.slice(targetEntries.length), entries);
        assert.deepEqual(f.searchParams.getAll('vscode-authority'), t.searchParams.getAll('vscode-authority'));
        // The appended suffix alone decodes to the given params.
        const suffix = forward.slice(target.length).replace(/^[?&]/, '');
        assert.deepEqual([...new URLSearchParams(suffix)], entries);
      })),
      { numRuns: RUNS },
    );
  });

  it('buildForwardUrl refuses vscode-* parameter names on any allowed target', () => {
    fc.assert(
      fc.property(allowedTarget, fc.constantFrom('vscode-authority', 'vscode-path', 'VSCODE-scheme', 'vscode-'), fc.string({ maxLength: 10 }), counted((target: string, name: string, value: string) => {
        assert.equal(buildForwardUrl(target, new URLSearchParams([['code', 'c'], [name, value]]), HOSTS), undefined);
      })),
      { numRuns: RUNS },
    );
  });
});
