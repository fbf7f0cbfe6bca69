import assert from 'node:assert/strict';
import {
  buildForwardUrl,
  decodeStateTarget,
  EDITOR_SCHEMES,
  encodeState,
  EXTENSION_AUTHORITY,
  FORWARDED_PARAMS,
  isAllowedRelayTarget,
  MAX_STATE_LENGTH,
  MAX_TARGET_LENGTH,
  parseRelayHost,
  parseRelayHosts,
  pickForwardedParams,
} from '../../src/signin/relayState';

const NONCE = 'q2Xr9Yb0cWl3mT7vN5eK1g'; // 16 random bytes, base64url
const DESKTOP = `vscode://${EXTENSION_AUTHORITY}/callback`;
const CODE_SERVER =
  'http://127.0.0.1:8931/stable-0123456789abcdef/callback?vscode-reqid=3&vscode-scheme=code-oss' +
  `&vscode-authority=${EXTENSION_AUTHORITY}&vscode-path=%2Fcallback`;
const REMOTE = `https://code.example.com/stable-abc/callback?vscode-reqid=1&vscode-scheme=code-oss&vscode-authority=${EXTENSION_AUTHORITY}&vscode-path=%2Fcallback`;
const Q = `?vscode-authority=${EXTENSION_AUTHORITY}`;
/** The hosts the person hosting the relay page listed (relay-hosts.json), for the https cases. */
const HOSTS = parseRelayHosts({ hosts: ['code.example.com', 'dev.example.org:8443', '203.0.113.7', 'a.example'] });

/** Base64url of UTF-8, independently of the module (Node's Buffer). */
const b64u = (text: string | Uint8Array) => Buffer.from(text as string).toString('base64url');

describe('relayState', () => {
  describe('encodeState / decodeStateTarget', () => {
    it('encodes as <nonce>.<base64url(UTF-8 target)>, matching Node base64url', () => {
      assert.equal(encodeState(NONCE, DESKTOP), `${NONCE}.${b64u(DESKTOP)}`);
    });

    for (const [name, target] of [
      ['desktop vscode:// target', DESKTOP],
      ['code-server loopback target', CODE_SERVER],
      ['remote https target', REMOTE],
      ['non-ASCII text (é, 日本, emoji 🎉)', 'vscode://x/é日本🎉'],
      ['a leading byte-order mark', '\uFEFFvscode://x'],
      ['a single character (1 byte, 2 base64 chars)', 'a'],
      ['two characters (2 bytes, 3 base64 chars)', 'ab'],
      ['three characters (3 bytes, 4 base64 chars)', 'abc'],
      ['characters that become + and / in plain base64', '\u00fb\u00ff\u00fe?>'],
      ['dots inside the target', 'https://a.b.c/d.e?f=g.h'],
    ] as const) {
      it(`round-trips ${name}`, () => {
        const state = encodeState(NONCE, target);
        assert.equal(state.split('.').length, 2, 'exactly one dot');
        assert.match(state, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        assert.equal(decodeStateTarget(state), target);
      });
    }

    it('round-trips with a 32-byte nonce like the extension makes', () => {
      const nonce = Buffer.alloc(32, 0xfb).toString('base64url');
      assert.equal(decodeStateTarget(encodeState(nonce, CODE_SERVER)), CODE_SERVER);
    });

    it('refuses to encode a nonce that is empty, has a dot, or is not base64url', () => {
      for (const nonce of ['', 'a.b', 'abc=', 'a+b', 'a/b', 'a b', 'é']) {
        assert.throws(() => encodeState(nonce, DESKTOP), RangeError, JSON.stringify(nonce));
      }
    });

    it('refuses to encode an empty target or one with a lone surrogate', () => {
      assert.throws(() => encodeState(NONCE, ''), RangeError);
      assert.throws(() => encodeState(NONCE, 'vscode://x/\uD800'), RangeError);
      assert.throws(() => encodeState(NONCE, 'vscode://x/\uDC00y'), RangeError);
    });

    describe('malformed states decode to undefined', () => {
      const cases: [string, unknown][] = [
        ['empty string', ''],
        ['no dot (a bare nonce, as in a non-relay sign-in)', NONCE],
        ['only a dot', '.'],
        ['empty nonce', `.${b64u(DESKTOP)}`],
        ['empty target part', `${NONCE}.`],
        ['two dots', `${NONCE}.${b64u(DESKTOP)}.x`],
        ['dots inside the target encoding', `${NONCE}.${b64u(DESKTOP).slice(0, 8)}.${b64u(DESKTOP).slice(8)}`],
        ['standard base64 "+" and "/"', `${NONCE}.${Buffer.from('\u00fb\u00ff').toString('base64')}`],
        ['base64 padding "="', `${NONCE}.${Buffer.from('ab').toString('base64')}`],
        ['whitespace in the encoding', `${NONCE}.${b64u(DESKTOP).slice(0, 4)} ${b64u(DESKTOP).slice(4)}`],
        ['impossible length (4n+1 characters)', `${NONCE}.AAAAA`],
        ['non-zero trailing bits (non-canonical encoding)', `${NONCE}.YR`],
        ['invalid UTF-8 (lone continuation byte)', `${NONCE}.${b64u(Uint8Array.from([0x80]))}`],
        ['invalid UTF-8 (truncated sequence)', `${NONCE}.${b64u(Uint8Array.from([0x61, 0xe6, 0x97]))}`],
        ['invalid UTF-8 (overlong "/")', `${NONCE}.${b64u(Uint8Array.from([0xc0, 0xaf]))}`],
        ['invalid UTF-8 (encoded surrogate)', `${NONCE}.${b64u(Uint8Array.from([0xed, 0xa0, 0x80]))}`],
        ['non-base64url nonce', `no+nce.${b64u(DESKTOP)}`],
        ['a percent-encoded dot', `${NONCE}%2E${b64u(DESKTOP)}`],
        ['over-long state', `${NONCE}.${'A'.repeat(MAX_STATE_LENGTH)}`],
        ['not a string (number)', 42],
        ['not a string (undefined)', undefined],
        ['not a string (object)', { toString: () => `${NONCE}.${b64u(DESKTOP)}` }],
      ];
      for (const [name, state] of cases) {
        it(name, () => {
          assert.equal(decodeStateTarget(state as string), undefined);
        });
      }
    });
  });

  describe('isAllowedRelayTarget: allowed', () => {
    it('documents exactly the editor schemes', () => {
      assert.deepEqual([...EDITOR_SCHEMES], ['vscode', 'vscode-insiders', 'vscodium', 'code-oss', 'cursor', 'windsurf', 'positron', 'trae', 'kiro']);
    });

    for (const scheme of EDITOR_SCHEMES) {
      it(`${scheme}://<extension authority>/callback`, () => {
        assert.equal(isAllowedRelayTarget(`${scheme}://${EXTENSION_AUTHORITY}/callback`), true);
      });
    }

    const allowed: [string, string][] = [
      ['desktop target with a query', `${DESKTOP}?windowId=2`],
      ['desktop target with no path', `vscode://${EXTENSION_AUTHORITY}`],
      ['desktop authority in another case', 'vscode://Keap-Community.Infusionsoft-OAuth/callback'],
      ['code-server on 127.0.0.1 with a port', CODE_SERVER],
      ['code-server with vscode-path unencoded (Uri.toString(true))', CODE_SERVER.replace('%2Fcallback', '/callback')],
      ['http://localhost', `http://localhost:8080/callback${Q}`],
      ['http://[::1]', `http://[::1]:3000/callback${Q}`],
      ['http elsewhere in 127.0.0.0/8', `http://127.255.0.9/callback${Q}`],
      ['https on a listed host', REMOTE],
      ['https on loopback (not listed)', `https://localhost:8443/callback${Q}`],
      ['https with a port', `https://dev.example.org:8443/x/callback${Q}`],
      ['https on an IP address', `https://203.0.113.7/callback${Q}`],
      ['vscode-authority in another case', `https://a.example/callback?vscode-authority=KEAP-COMMUNITY.infusionsoft-oauth`],
      ['vscode-authority percent-encoded', `https://a.example/callback?vscode-authority=keap-community%2Einfusionsoft-oauth`],
      ['a target of exactly the maximum length', `https://a.example/callback${Q}&p=${'x'.repeat(MAX_TARGET_LENGTH)}`.slice(0, MAX_TARGET_LENGTH)],
    ];
    for (const [name, target] of allowed) {
      it(name, () => {
        assert.equal(target.length <= MAX_TARGET_LENGTH, true);
        assert.equal(isAllowedRelayTarget(target, EXTENSION_AUTHORITY, HOSTS), true, target);
      });
    }

    it('uses the given authority instead of the default', () => {
      assert.equal(isAllowedRelayTarget('vscode://other.ext/callback', 'other.ext'), true);
      assert.equal(isAllowedRelayTarget(DESKTOP, 'other.ext'), false);
      assert.equal(isAllowedRelayTarget('https://a.example/callback?vscode-authority=other.ext', 'other.ext', HOSTS), true);
    });
  });

  describe('isAllowedRelayTarget: refused', () => {
    const refused: [string, unknown][] = [
      ['javascript:', `javascript:alert(1)//${EXTENSION_AUTHORITY}/callback`],
      ['javascript: with slashes', `javascript://${EXTENSION_AUTHORITY}/%0aalert(1)`],
      ['data:', `data:text/html,<script>alert(1)</script>`],
      ['data: with slashes', `data://${EXTENSION_AUTHORITY}/callback`],
      ['file:', `file:///etc/passwd`],
      ['file: with a host', `file://${EXTENSION_AUTHORITY}/callback${Q}`],
      ['blob:', `blob:https://a.example/callback${Q}`],
      ['ftp:', `ftp://a.example/callback${Q}`],
      ['ws:', `ws://127.0.0.1/callback${Q}`],
      ['an unknown custom scheme', `evilapp://${EXTENSION_AUTHORITY}/callback`],
      ['a scheme that only starts like an editor one', `vscode-evil://${EXTENSION_AUTHORITY}/callback`],
      ['an upper-case scheme (not canonical)', `VSCODE://${EXTENSION_AUTHORITY}/callback`],
      ['vscode://evil', 'vscode://evil/callback'],
      ['another extension', 'vscode://vscode.git/callback'],
      ['authority with a suffix', `vscode://${EXTENSION_AUTHORITY}.evil.com/callback`],
      ['authority with a prefix', `vscode://evil.${EXTENSION_AUTHORITY}/callback`],
      ['authority percent-encoded', 'vscode://keap-community%2Einfusionsoft-oauth/callback'],
      ['desktop with a port', `vscode://${EXTENSION_AUTHORITY}:8080/callback`],
      ['desktop with an empty port', `vscode://${EXTENSION_AUTHORITY}:/callback`],
      ['desktop with userinfo', `vscode://user@${EXTENSION_AUTHORITY}/callback`],
      ['desktop with empty userinfo', `vscode://@${EXTENSION_AUTHORITY}/callback`],
      ['desktop without "//"', `vscode:${EXTENSION_AUTHORITY}/callback`],
      ['desktop with "///"', `vscode:///${EXTENSION_AUTHORITY}/callback`],
      ['http on a public host', `http://code.example.com/callback${Q}`],
      ['http://127.0.0.1.evil.com', `http://127.0.0.1.evil.com/callback${Q}`],
      ['http://localhost.evil.com', `http://localhost.evil.com/callback${Q}`],
      ['http://evil.localhost.com', `http://evil.localhost.com/callback${Q}`],
      ['http://localhost. (trailing dot)', `http://localhost./callback${Q}`],
      ['http on 128.0.0.1', `http://128.0.0.1/callback${Q}`],
      ['http on 0.0.0.0', `http://0.0.0.0/callback${Q}`],
      ['http on [::2]', `http://[::2]/callback${Q}`],
      ['http on an IPv4-mapped IPv6 address', `http://[::ffff:7f00:1]/callback${Q}`],
      ['http://127.1 (shorthand, not canonical)', `http://127.1/callback${Q}`],
      ['http://2130706433 (integer, not canonical)', `http://2130706433/callback${Q}`],
      ['http://0x7f.0.0.1 (hex, not canonical)', `http://0x7f.0.0.1/callback${Q}`],
      ['userinfo trick', `https://${EXTENSION_AUTHORITY}@evil.com/callback${Q}`],
      ['userinfo trick on loopback', `http://127.0.0.1@evil.com/callback${Q}`],
      ['userinfo with a password', `https://a:b@a.example/callback${Q}`],
      ['empty userinfo', `https://@a.example/callback${Q}`],
      ['backslash instead of slash', `https://a.example\\callback${Q}`],
      ['backslash userinfo trick', `https://evil.com\\@a.example/callback${Q}`],
      ['backslash in the query', `https://a.example/callback${Q}&x=\\`],
      ['https without "//"', `https:evil.com/callback${Q}`],
      ['https with "///"', `https:///evil.com/callback${Q}`],
      ['https with a default port (not canonical)', `https://a.example:443/callback${Q}`],
      ['https with an upper-case host (not canonical)', `https://A.example/callback${Q}`],
      ['https with dot segments (not canonical)', `https://a.example/x/../callback${Q}`],
      ['path not ending in /callback', `https://a.example/callbacks${Q}`],
      ['path with /callback in the middle', `https://a.example/callback/x${Q}`],
      ['path ending in /callback/', `https://a.example/callback/${Q}`],
      ['path "xcallback"', `https://a.example/xcallback${Q}`],
      ['path with an encoded slash', `https://a.example/x%2Fcallback${Q}`],
      ['/callback only in the query', `https://a.example/?p=/callback&vscode-authority=${EXTENSION_AUTHORITY}`],
      ['no vscode-authority', 'https://a.example/callback?vscode-scheme=code-oss'],
      ['no query', 'https://a.example/callback'],
      ['another vscode-authority', 'https://a.example/callback?vscode-authority=evil.ext'],
      ['two vscode-authority parameters', `https://a.example/callback${Q}&vscode-authority=evil.ext`],
      ['vscode-authority only in the fragment', `https://a.example/callback#vscode-authority=${EXTENSION_AUTHORITY}`],
      ['a fragment', `https://a.example/callback${Q}#x`],
      ['an empty fragment', `${DESKTOP}#`],
      ['a space', `https://a.example/call back${Q}`],
      ['a leading space', ` ${DESKTOP}`],
      ['a trailing newline', `${DESKTOP}\n`],
      ['a tab inside the scheme', `vs\tcode://${EXTENSION_AUTHORITY}/callback`],
      ['a newline inside the host', `https://a.exa\nmple/callback${Q}`],
      ['a NUL character', `${DESKTOP}\u0000`],
      ['DEL', `${DESKTOP}\u007f`],
      ['a C1 control', `${DESKTOP}\u0085`],
      ['a non-breaking space', `${DESKTOP}\u00a0`],
      ['a right-to-left override', `https://a.example/\u202Ecallback${Q}`],
      ['a zero-width space in the host', `https://a.exa\u200Bmple/callback${Q}`],
      ['a full-width look-alike host', `https://ａ.example/callback${Q}`],
      ['an IDN host', `https://bücher.example/callback${Q}`],
      ['over-long target', `https://a.example/callback${Q}&p=${'x'.repeat(MAX_TARGET_LENGTH)}`],
      ['empty string', ''],
      ['not a URL', 'hello'],
      ['relative path', `/callback${Q}`],
      ['protocol-relative', `//a.example/callback${Q}`],
      ['not a string (undefined)', undefined],
      ['not a string (object)', { toString: () => DESKTOP }],
    ];
    for (const [name, target] of refused) {
      it(name, () => {
        assert.equal(isAllowedRelayTarget(target as string, EXTENSION_AUTHORITY, HOSTS), false, String(target));
        assert.equal(buildForwardUrl(target as string, new URLSearchParams('code=c'), HOSTS), undefined);
      });
    }

    it('refuses every target when the authority is empty', () => {
      assert.equal(isAllowedRelayTarget('vscode:///callback', ''), false);
      assert.equal(isAllowedRelayTarget(DESKTOP, ''), false);
    });
  });

  describe('relay host list (S6)', () => {
    const S6 = `https://198.51.100.4/callback?vscode-authority=${EXTENSION_AUTHORITY}`;

    it('S6: an https target on a host nobody listed is not followed', () => {
      assert.equal(isAllowedRelayTarget(S6), false);
      assert.equal(isAllowedRelayTarget(S6, EXTENSION_AUTHORITY, HOSTS), false);
      assert.equal(buildForwardUrl(S6, new URLSearchParams('code=c'), HOSTS), undefined);
      assert.equal(isAllowedRelayTarget(REMOTE), false, 'without a list, only loopback and desktop editors');
    });

    it('follows a listed host, on its port only, and *.domain for subdomains only', () => {
      assert.equal(isAllowedRelayTarget(S6, EXTENSION_AUTHORITY, parseRelayHosts({ hosts: ['198.51.100.4'] })), true);
      const list = parseRelayHosts({ hosts: ['vscode.dev', 'code.example.com:8443', '*.app.github.dev'] });
      const t = (host: string) => `https://${host}/callback${Q}`;
      assert.equal(isAllowedRelayTarget(t('vscode.dev'), EXTENSION_AUTHORITY, list), true);
      assert.equal(isAllowedRelayTarget(t('vscode.dev:8443'), EXTENSION_AUTHORITY, list), false);
      assert.equal(isAllowedRelayTarget(t('evil.vscode.dev'), EXTENSION_AUTHORITY, list), false);
      assert.equal(isAllowedRelayTarget(t('vscode.dev.evil.example'), EXTENSION_AUTHORITY, list), false);
      assert.equal(isAllowedRelayTarget(t('code.example.com:8443'), EXTENSION_AUTHORITY, list), true);
      assert.equal(isAllowedRelayTarget(t('code.example.com'), EXTENSION_AUTHORITY, list), false);
      assert.equal(isAllowedRelayTarget(t('my-space-8080.app.github.dev'), EXTENSION_AUTHORITY, list), true);
      assert.equal(isAllowedRelayTarget(t('app.github.dev'), EXTENSION_AUTHORITY, list), false);
      assert.equal(isAllowedRelayTarget(t('evilapp.github.dev'), EXTENSION_AUTHORITY, list), false);
      // A listed host never makes plain http acceptable.
      assert.equal(isAllowedRelayTarget(`http://vscode.dev/callback${Q}`, EXTENSION_AUTHORITY, list), false);
    });

    it('reads host entries strictly and canonically', () => {
      assert.deepEqual(parseRelayHost('Code.Example.COM:8443'), { hostname: 'code.example.com', port: '8443', subdomains: false });
      assert.deepEqual(parseRelayHost('vscode.dev:443'), { hostname: 'vscode.dev', port: '', subdomains: false });
      assert.deepEqual(parseRelayHost('*.app.github.dev'), { hostname: 'app.github.dev', port: '', subdomains: true });
      for (const bad of ['', ' ', 'https://vscode.dev', 'vscode.dev/path', 'user@vscode.dev', 'vscode.dev?x', 'vscode.dev#x', '*', '*.dev', '*.*.example', 'a b.example', 'bücher.example', 'host:99999', 42, null, undefined, {}]) {
        assert.equal(parseRelayHost(bad), undefined, JSON.stringify(bad));
      }
    });

    it('reads the file\'s {"hosts": [...]} and nothing else', () => {
      assert.equal(parseRelayHosts({ $comment: 'x', hosts: ['vscode.dev', 'bad/entry', 7] }).length, 1);
      for (const bad of [undefined, null, 'vscode.dev', ['vscode.dev'], { hosts: 'vscode.dev' }, { host: ['vscode.dev'] }]) {
        assert.deepEqual(parseRelayHosts(bad), [], JSON.stringify(bad));
      }
      assert.equal(parseRelayHosts({ hosts: Array.from({ length: 500 }, (_, i) => `h${i}.example`) }).length, 100, 'bounded');
    });
  });

  describe('buildForwardUrl', () => {
    it('appends with "?" when the target has no query', () => {
      const p = new URLSearchParams([['code', 'abc'], ['state', `${NONCE}.x`]]);
      assert.equal(buildForwardUrl(DESKTOP, p), `${DESKTOP}?code=abc&state=${NONCE}.x`);
    });

    it('appends with "&" when the target has a query', () => {
      const p = new URLSearchParams([['code', 'abc']]);
      assert.equal(buildForwardUrl(CODE_SERVER, p), `${CODE_SERVER}&code=abc`);
    });

    it('does not double a trailing "?" or "&"', () => {
      assert.equal(buildForwardUrl(`${DESKTOP}?`, new URLSearchParams('code=a')), `${DESKTOP}?code=a`);
      assert.equal(buildForwardUrl(`${CODE_SERVER}&`, new URLSearchParams('code=a')), `${CODE_SERVER}&code=a`);
    });

    it('returns the target itself when there is nothing to append', () => {
      assert.equal(buildForwardUrl(DESKTOP, new URLSearchParams()), DESKTOP);
    });

    it('uses URLSearchParams encoding, and the values decode back exactly', () => {
      const values = { code: 'a b+c&d=e/f?g#h%', state: `${NONCE}.${b64u(DESKTOP)}`, error_description: 'User denied access to resource', scope: 'full|ab123.infusionsoft.com' };
      const p = new URLSearchParams(values);
      const forward = buildForwardUrl(CODE_SERVER, p)!;
      assert.equal(forward, `${CODE_SERVER}&${p.toString()}`);
      const u = new URL(forward);
      assert.equal(u.origin, 'http://127.0.0.1:8931');
      assert.equal(u.pathname, '/stable-0123456789abcdef/callback');
      assert.equal(u.hash, '');
      for (const [k, v] of Object.entries(values)) assert.equal(u.searchParams.get(k), v);
      assert.equal(u.searchParams.get('vscode-authority'), EXTENSION_AUTHORITY);
      assert.equal(u.searchParams.get('vscode-path'), '/callback');
    });

    it('keeps the desktop authority', () => {
      const u = new URL(buildForwardUrl(DESKTOP, new URLSearchParams('code=x'))!);
      assert.equal(u.protocol, 'vscode:');
      assert.equal(u.host, EXTENSION_AUTHORITY);
      assert.equal(u.pathname, '/callback');
      assert.equal(u.searchParams.get('code'), 'x');
    });

    it('refuses to append vscode-* parameters (they would re-route code-server)', () => {
      assert.equal(buildForwardUrl(CODE_SERVER, new URLSearchParams('code=x&vscode-authority=evil')), undefined);
      assert.equal(buildForwardUrl(CODE_SERVER, new URLSearchParams('VSCODE-PATH=/x')), undefined);
    });

    it('refuses targets that are not allowed', () => {
      assert.equal(buildForwardUrl('https://evil.example/callback?vscode-authority=evil', new URLSearchParams('code=x')), undefined);
      assert.equal(buildForwardUrl('javascript:alert(1)', new URLSearchParams('code=x')), undefined);
    });
  });

  describe('pickForwardedParams', () => {
    it('keeps code, state, error, error_description and scope, in that order, first value only', () => {
      const q = new URLSearchParams('scope=full%7Cab1.infusionsoft.com&x=1&code=c&code=c2&state=s&vscode-authority=evil&error_uri=https%3A%2F%2Fx');
      assert.deepEqual([...pickForwardedParams(q)], [['code', 'c'], ['state', 's'], ['scope', 'full|ab1.infusionsoft.com']]);
      assert.deepEqual([...FORWARDED_PARAMS], ['code', 'state', 'error', 'error_description', 'scope']);
    });

    it("keeps Keap's denial with its empty state", () => {
      const q = new URLSearchParams('state=&error_description=User+denied+access+to+resource&error=access_denied&error_uri=https%3A%2F%2Fdeveloper.keap.com');
      assert.deepEqual([...pickForwardedParams(q)], [['state', ''], ['error', 'access_denied'], ['error_description', 'User denied access to resource']]);
    });
  });
});
