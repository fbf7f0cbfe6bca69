import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CallbackResult } from '../../../src/signin/signInService';
import { api, DEMO, fake, harness, tokenRequests, useDemoCredentials, waitFor } from '../util';

/** Resolves with the next callback the extension handles. */
async function nextCallback(): Promise<CallbackResult> {
  const a = await api();
  return new Promise(resolve => {
    const d = a.onDidHandleCallback(r => {
      d.dispose();
      resolve(r);
    });
  });
}

/** Delivers a callback the way the relay does: through asExternalUri and code-server's /callback route. */
async function deliverCallback(params: Record<string, string>): Promise<void> {
  const local = vscode.Uri.parse(`${vscode.env.uriScheme}://keap-community.infusionsoft-oauth/callback`);
  const external = (await vscode.env.asExternalUri(local)).toString(true);
  const url = external + (external.includes('?') ? '&' : '?') + new URLSearchParams(params).toString();
  await vscode.env.openExternal(vscode.Uri.parse(url, true));
}

describe('Sign in, end to end in a real VS Code', function () {
  this.timeout(90_000);

  before(async () => {
    await api();
    await vscode.commands.executeCommand('infusionsoft.signOut', 'all');
    await useDemoCredentials();
  });

  afterEach(async () => {
    (await (await api()).signIn()).cancelActive();
    await harness.plan('none');
    await harness.closePopups();
  });

  it('shows "Keap: Sign in" while signed out', async () => {
    const a = await api();
    assert.match(a.statusText(), /Keap: Sign in/);
    const texts = await waitFor(async () => (await harness.statusBar()).find(t => /Keap: Sign in/.test(t)), 20_000, 'status bar "Keap: Sign in" in the page');
    assert.ok(texts);
  });

  it('command → authorize page (Allow clicked) → relay → /callback → UriHandler → code exchange → SecretStorage → status bar', async () => {
    const a = await api();
    await fake.reset();
    await harness.plan('allow');
    const ok = await vscode.commands.executeCommand<boolean>('infusionsoft.signIn');
    assert.equal(ok, true, 'sign-in did not complete');

    // The browser really went through Keap's page, the relay page and code-server's callback route.
    const landed = await harness.landed();
    assert.ok(landed.some(u => u.includes('/relay/index.html?code=')), `relay not visited: ${landed.join(' ')}`);
    assert.ok(landed.some(u => /\/callback\?.*vscode-authority=keap-community\.infusionsoft-oauth.*code=/.test(u)), 'code-server callback not reached');

    // Exactly one code exchange, with the exact bytes Keap wants (K4, K6).
    const exchanges = await tokenRequests('authorization_code');
    assert.equal(exchanges.length, 1);
    const ex = exchanges[0];
    assert.equal(ex.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(ex.headers['authorization'], undefined, 'no Authorization header on the code exchange');
    const authorize = (await fake.requests()).find(r => r.path === '/app/oauth/authorize' && r.method === 'GET');
    assert.ok(authorize);
    assert.equal(ex.form?.redirect_uri, authorize.query.redirect_uri, 'redirect_uri byte-identical to the one sent to authorize (K6)');
    assert.deepEqual(Object.keys(ex.form ?? {}), ['client_id', 'client_secret', 'code', 'grant_type', 'redirect_uri']);
    assert.equal(ex.form?.client_id, DEMO.clientId);
    assert.ok(authorize.query.state.length >= 22, 'state carries at least 128 bits');

    // SecretStorage holds the token set the fake issued.
    const stored = await a.model.store.read();
    assert.ok(stored);
    const live = await fake.tokens();
    assert.ok(live.some(t => t.accessToken === stored.accessToken && t.refreshToken === stored.refreshToken));
    assert.equal(stored.appName, DEMO.appName);
    assert.equal(stored.scope, 'full|ab123.infusionsoft.com');
    assert.ok(stored.accessTokenExpiresAt! > Date.now() + 86_000_000 && stored.accessTokenExpiresAt! <= Date.now() + 86_400_000);

    // The status bar, read from the page.
    const text = await waitFor(async () => (await harness.statusBar()).find(t => /Keap ab123 · 23h 59m/.test(t)), 20_000, 'status bar "Keap ab123 · 23h 59m"');
    assert.match(text, /Keap ab123 · 23h 59m/);
    assert.match(a.statusText(), /Keap ab123 · 23h 59m/);
    await harness.screenshot('signed-in-status-bar');
    await harness.screenshot('readme-status-bar', '.part.statusbar');
  });

  it('K8: the same callback twice is exchanged once and the duplicate ignored', async () => {
    const a = await api();
    const landed = await harness.landed();
    const callbackUrl = [...landed].reverse().find(u => /\/callback\?.*code=/.test(u));
    assert.ok(callbackUrl, 'no callback URL recorded');
    const params = new URL(callbackUrl).searchParams;
    const before = (await tokenRequests('authorization_code')).length;
    const uri = vscode.Uri.parse(`${vscode.env.uriScheme}://keap-community.infusionsoft-oauth/callback?${new URLSearchParams({ code: params.get('code')!, state: params.get('state')! })}`);
    const handled = nextCallback();
    (await a.signIn()).handleUri(uri);
    assert.equal((await handled).kind, 'duplicate');
    assert.equal((await tokenRequests('authorization_code')).length, before, 'no second code exchange');
  });

  it('a callback with a wrong state is dropped and the session stays', async () => {
    const a = await api();
    const session = await a.model.store.read();
    const handled = nextCallback();
    await deliverCallback({ code: 'forged-code', state: 'not-a-state-we-sent' });
    assert.equal((await handled).kind, 'unknown-state');
    assert.equal((await tokenRequests('authorization_code')).filter(r => r.form?.code === 'forged-code').length, 0, 'a forged code was never sent to Keap');
    assert.deepEqual(await a.model.store.read(), session);
  });

  /** Starts a sign-in that waits (nobody clicks on Keap's page) and resolves once Keap's page was asked for. */
  async function waitingSignIn(): Promise<{ signIn: Thenable<boolean>; state: string }> {
    await harness.plan('none');
    await fake.reset();
    const signIn = vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
    const visit = await waitFor(async () => (await fake.requests()).find(r => r.path === '/app/oauth/authorize' && r.method === 'GET'), 20_000, 'authorize page request');
    return { signIn, state: visit.query.state };
  }

  it('S2: a code without state through the UriHandler is refused; the sign-in keeps waiting and nothing is exchanged', async () => {
    const a = await api();
    const session = await a.model.store.read();
    const { signIn } = await waitingSignIn();
    const handled = nextCallback();
    await deliverCallback({ code: 'ATTACKERCODE' });
    assert.equal((await handled).kind, 'no-state');
    const empty = nextCallback();
    await deliverCallback({ code: 'ATTACKERCODE', state: '' });
    assert.equal((await empty).kind, 'no-state');
    assert.equal((await tokenRequests('authorization_code')).length, 0, 'the forged code never reached Keap');
    assert.match(a.statusText(), /waiting for sign-in/, 'the sign-in keeps waiting');
    (await a.signIn()).cancelActive();
    assert.equal(await signIn, false);
    assert.deepEqual(await a.model.store.read(), session);
  });

  it('S3: an error without state through the UriHandler ends nothing and shows nothing', async () => {
    const a = await api();
    await vscode.commands.executeCommand('notifications.clearAll');
    const { signIn } = await waitingSignIn();
    const handled = nextCallback();
    await deliverCallback({ error: 'access_denied', error_description: 'Your session expired. Run this command: Infusionsoft: Show Log' });
    assert.equal((await handled).kind, 'no-state');
    let ended = false;
    void Promise.resolve(signIn).then(() => (ended = true));
    await new Promise(r => setTimeout(r, 1500));
    assert.equal(ended, false, 'the sign-in did not end');
    assert.match(a.statusText(), /waiting for sign-in/);
    await vscode.commands.executeCommand('notifications.showList');
    assert.equal((await harness.notifications()).some(t => /session expired|denied/i.test(t)), false, 'no text of it is shown');
    await vscode.commands.executeCommand('notifications.clearAll');
    (await a.signIn()).cancelActive();
    assert.equal(await signIn, false);
  });

  it('a pasted client secret, Keap API key or held token is refused locally and says what it looks like; nothing reaches Keap', async () => {
    const a = await api();
    const session = await a.model.store.read();
    assert.ok(session, 'signed in (a held token to paste)');
    const { signIn } = await waitingSignIn();
    const cases: Array<[string, string, RegExp]> = [
      [DEMO.clientSecret, 'client-secret', /client secret/],
      ['KeapAK-0123456789abcdef0123456789abcdef0123456789abcd', 'keap-api-key', /Personal Access Token/],
      [session.accessToken, 'access-token', /access token/],
      [`Bearer ${session.accessToken}`, 'authorization-header', /Authorization header/],
      [`KEAP_REFRESH_TOKEN=${session.refreshToken}`, 'refresh-token', /refresh token/],
    ];
    for (const [value, kind, words] of cases) {
      await vscode.commands.executeCommand('notifications.clearAll');
      const r = await vscode.commands.executeCommand<{ kind: string; looksLike?: string }>('infusionsoft.pasteCallbackUrl', value);
      assert.deepEqual(r, { kind: 'not-a-callback', looksLike: kind });
      const shown = await waitFor(async () => {
        await vscode.commands.executeCommand('notifications.showList');
        return (await harness.notifications()).find(t => words.test(t) && /Nothing was sent to Keap/.test(t));
      }, 15_000, `the message for ${kind}`);
      assert.ok(shown);
    }
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.equal((await fake.requests()).filter(r => r.path === '/token').length, 0, 'no token request at all');
    assert.match(a.statusText(), /waiting for sign-in/, 'the sign-in keeps waiting');
    (await a.signIn()).cancelActive();
    assert.equal(await signIn, false);
    assert.deepEqual(await a.model.store.read(), session);
  });

  it('the paste box closes when its sign-in ends', async () => {
    const a = await api();
    const { signIn } = await waitingSignIn();
    const box = vscode.commands.executeCommand('infusionsoft.pasteCallbackUrl');
    let closed = false;
    void Promise.resolve(box).then(() => (closed = true));
    await new Promise(r => setTimeout(r, 1000));
    assert.equal(closed, false, 'the box is open while the sign-in waits');
    (await a.signIn()).cancelActive();
    assert.equal(await signIn, false);
    await waitFor(() => closed, 5_000, 'the paste box to close with its sign-in');
    assert.equal(await box, undefined);
  });

  it('Sign In while signed in to that app asks first (non-modal); "Sign In Again" starts it, signInAgain:false does nothing', async () => {
    const a = await api();
    assert.ok(a.model.accounts.some(s => s.clientId === DEMO.clientId), 'signed in');
    await harness.plan('none');
    await fake.reset();
    assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: false }), false);
    await vscode.commands.executeCommand('notifications.clearAll');
    // As from the palette or the walkthrough: no argument.
    const signIn = vscode.commands.executeCommand<boolean>('infusionsoft.signIn');
    await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (await harness.notifications()).find(t => /already signed in to Keap app ab123/i.test(t));
    }, 15_000, 'the question');
    assert.equal((await fake.requests()).filter(r => r.path === '/app/oauth/authorize').length, 0, 'nothing started before the answer');
    await harness.clickNotification('already signed in to Keap app ab123', 'Sign In Again');
    await waitFor(async () => (await fake.requests()).find(r => r.path === '/app/oauth/authorize'), 20_000, 'the sign-in to start');
    (await a.signIn()).cancelActive();
    assert.equal(await signIn, false);
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('K7: denial on the authorize page ends the sign-in with Keap\'s words and keeps the session', async () => {
    const a = await api();
    const session = await a.model.store.read();
    assert.ok(session);
    await harness.plan('deny');
    const signIn = vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
    // Keap sends the denial with an empty state, so the relay cannot forward it: the user pastes where it landed.
    const denied = await waitFor(async () => (await harness.landed()).find(u => u.includes('/relay/') && u.includes('error=access_denied')), 30_000, 'the denial redirect');
    const handled = nextCallback();
    await vscode.commands.executeCommand('infusionsoft.pasteCallbackUrl', denied);
    const r = await handled;
    assert.equal(r.kind, 'failed');
    assert.equal(r.kind === 'failed' && r.outcome.kind, 'denied');
    assert.match(r.kind === 'failed' ? r.outcome.message : '', /Keap says: "User denied access to resource".*Keap ID is attached to a Keap app/);
    assert.equal(await signIn, false);
    assert.deepEqual(await a.model.store.read(), session, 'the previous session is untouched');
  });

  it('K7: a denial carrying our state through the UriHandler ends that sign-in', async () => {
    const a = await api();
    const session = await a.model.store.read();
    await harness.plan('none');
    await fake.reset();
    const signIn = vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
    const visit = await waitFor(async () => (await fake.requests()).reverse().find(r => r.path === '/app/oauth/authorize' && r.method === 'GET'), 20_000, 'authorize page request');
    const handled = nextCallback();
    await deliverCallback({ error: 'access_denied', error_description: 'User denied access to resource', state: visit.query.state });
    const r = await handled;
    assert.equal(r.kind === 'failed' && r.outcome.kind, 'denied');
    assert.equal(await signIn, false);
    assert.deepEqual(await a.model.store.read(), session);
  });

  it('V1: the paste path signs in with the URL the browser landed on', async () => {
    const a = await api();
    await harness.plan('none');
    await fake.reset();
    const signIn = vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
    const visit = await waitFor(async () => (await fake.requests()).find(r => r.path === '/app/oauth/authorize' && r.method === 'GET'), 20_000, 'authorize page request');
    // What the browser would land on after Allow: the decision form's redirect, read without following it.
    const res = await fetch(`${fake.url()}/app/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...visit.query, decision: 'allow' }).toString(),
    });
    const landedOn = res.headers.get('location');
    assert.ok(landedOn && landedOn.includes('code='), `no redirect with a code (${res.status})`);
    const r = await vscode.commands.executeCommand<CallbackResult>('infusionsoft.pasteCallbackUrl', landedOn);
    assert.equal(r?.kind, 'signed-in');
    assert.equal(await signIn, true);
    const stored = await a.model.store.read();
    assert.ok((await fake.tokens()).some(t => t.accessToken === stored?.accessToken));
    // Pasting the same address again is a mistake worth a word (the URI handler's duplicates stay quiet).
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.equal((await vscode.commands.executeCommand<CallbackResult>('infusionsoft.pasteCallbackUrl', landedOn))?.kind, 'duplicate');
    await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (await harness.notifications()).find(t => /already used/.test(t));
    }, 15_000, 'the "already used" warning');
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.deepEqual(await a.model.store.read(), stored, 'the session is untouched');
  });

  it('K5: a rejected client secret says so, does not retry the code, and keeps the session', async () => {
    const a = await api();
    const session = await a.model.store.read();
    await useDemoCredentials('wrong-secret-value');
    try {
      await fake.reset();
      await harness.plan('allow');
      const ok = await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
      assert.equal(ok, false);
      const exchanges = await tokenRequests('authorization_code');
      assert.equal(exchanges.length, 1, 'the code is not retried');
      assert.equal(exchanges[0].status, 401);
      assert.deepEqual(await a.model.store.read(), session);
    } finally {
      await useDemoCredentials();
    }
  });
});
