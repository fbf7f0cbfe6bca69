import assert from 'node:assert/strict';
import * as dotenv from 'dotenv';
import fs = require('fs');
import path = require('path');
import * as vscode from 'vscode';
import type { ApiKeyCheck, ApiKeyEntry } from '../../../src/keap/apiKeys';
import { accountFileId } from '../../../src/session/accounts';
import { FileLock } from '../../../src/session/fileLock';
import type { ImportResult } from '../../../src/vscode/importTokens';
import { api, DEMO, ensureSignedIn, fake, harness, notificationMatching, tokenRequests, useDemoCredentials, waitFor } from '../util';

/** The fake Keap's demo Personal Access Token (test/fake-keap/server.ts DEMO_API_KEY). */
const DEMO_KEY = 'KeapAK-demo0000personal0000access0000token';
/** A Keap app of the demo user that no other suite signs in to. */
const APP = 'ef789';

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the host test window has a workspace folder');
  return folder.uri.fsPath;
}

async function control<T>(p: string, method: string, body?: unknown): Promise<T> {
  const res = await fetch(fake.url() + p, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${p} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * A token pair obtained outside VS Code, as a developer's own app or Keap's Grant API Access form
 * gets one: the authorization code grant against the fake Keap, for the Keap app {@link APP}.
 */
async function pairFromElsewhere(): Promise<{ access_token: string; refresh_token: string; expires_in: number; scope: string }> {
  const before = await control<{ apps: string[] }>('/__fake/user-apps', 'GET');
  await fake.userApps([...new Set([...before.apps, APP])]);
  await control('/__fake/auto-approve', 'POST', { on: true });
  try {
    const redirectUri = 'http://localhost:1/elsewhere';
    const q = new URLSearchParams({ client_id: DEMO.clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'full', state: 'elsewhere', app: APP });
    const res = await fetch(`${fake.url()}/app/oauth/authorize?${q}`, { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
    const token = await fetch(`${fake.url()}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: DEMO.clientId, client_secret: DEMO.clientSecret, code, grant_type: 'authorization_code', redirect_uri: redirectUri }).toString(),
    });
    assert.equal(token.status, 200);
    return (await token.json()) as { access_token: string; refresh_token: string; expires_in: number; scope: string };
  } finally {
    await control('/__fake/auto-approve', 'POST', { on: false });
  }
}

describe('Keap credentials: API keys, Import Tokens, production kept apart', function () {
  this.timeout(120_000);
  const added: string[] = [];
  const envFile = () => path.join(workspaceDir(), '.env.credentials-test');

  after(async () => {
    for (const id of added) await vscode.commands.executeCommand('infusionsoft.removeApiKey', id, { confirm: false });
    fs.rmSync(envFile(), { force: true });
    await vscode.workspace.getConfiguration('infusionsoft.apiKey').update('envVariable', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('notifications.clearAll');
  });

  it('an API key is added (checked with X-Keap-API-Key first), tested with its quota shown, and inserted into .env', async () => {
    await fake.reset();
    // A key Keap refuses: one request, nothing stored.
    const refused = await vscode.commands.executeCommand<ApiKeyEntry | undefined>('infusionsoft.addApiKey', { label: 'typo', kind: 'pat', key: 'KeapAK-not-a-real-key' });
    assert.equal(refused, undefined);
    assert.equal(await vscode.commands.executeCommand('infusionsoft.apiKey', 'typo'), undefined, 'nothing stored');
    let reqs = (await fake.requests()).filter(r => r.path === '/crm/rest/v1/account/profile');
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].status, 401);

    const entry = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'ci', kind: 'pat', key: DEMO_KEY, environment: 'sandbox' });
    assert.ok(entry, 'stored');
    added.push(entry.id);
    assert.deepEqual([entry.label, entry.kind, entry.environment, entry.profile?.name, entry.profile?.email], ['ci', 'pat', 'sandbox', 'Ab123 Demo Co', 'owner@example.com']);
    assert.ok(!JSON.stringify(entry).includes(DEMO_KEY), 'the listed entry holds no key');
    reqs = (await fake.requests()).filter(r => r.path === '/crm/rest/v1/account/profile');
    assert.equal(reqs[1].headers['x-keap-api-key'], DEMO_KEY);
    assert.equal(reqs[1].headers.authorization, undefined);
    await notificationMatching(/Personal Access Token "ci" added for Keap account Ab123 Demo Co \(owner@example\.com\)/);

    await vscode.commands.executeCommand('notifications.clearAll');
    const check = await vscode.commands.executeCommand<ApiKeyCheck>('infusionsoft.testApiKey', 'ci');
    assert.equal(check.outcome, 'ok');
    assert.equal(check.status, 200);
    const day = check.quota.find(b => b.timeUnit === 'day')!;
    assert.deepEqual([day.limit, day.available], [30000, 29998], 'the key-style daily quota, counted per key');
    const text = await notificationMatching(/API key "ci": 200 · \d+ ms\./);
    assert.match(text, /29,998 of 30,000 calls left per day/);
    assert.match(text, /\d of 10 calls left per second\./);
    assert.match(text, /\d+ of 240 calls left per minute\./);

    // The view lists it, with its kind and mark, and its test row.
    await vscode.commands.executeCommand('workbench.view.extension.infusionsoft');
    await vscode.commands.executeCommand('infusionsoft.apiKeys.focus');
    const sidebar = await waitFor(async () => {
      const t = await harness.sidebarText();
      return /Personal Access Token · sandbox · Ab123 Demo Co/.test(t) && /Key test/.test(t) && t;
    }, 30_000, 'the key in the API Keys view').catch(async e => {
      // What the sidebar showed instead, for the artifacts.
      await harness.screenshot('api-keys-view-missing');
      throw new Error(`${(e as Error).message}; the sidebar read: ${(await harness.sidebarText()).replace(/\s+/g, ' ').slice(0, 400)}`);
    });
    assert.ok(!sidebar.includes(DEMO_KEY));
    await harness.screenshot('api-keys-view');

    // ${command:infusionsoft.apiKey}: the key, by label.
    assert.equal(await vscode.commands.executeCommand('infusionsoft.apiKey', { label: 'ci' }), DEMO_KEY);

    // Insert into .env: KEAP_API_KEY by default, the folder's setting names another.
    fs.writeFileSync(envFile(), '# mine\nOTHER=1\n');
    const uri = await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertApiKeyIntoEnv', 'ci', envFile());
    assert.equal(uri?.fsPath, envFile());
    assert.deepEqual(dotenv.parse(fs.readFileSync(envFile(), 'utf8')), { OTHER: '1', KEAP_API_KEY: DEMO_KEY });
    assert.match(fs.readFileSync(envFile(), 'utf8'), /^# mine\nOTHER=1\n/, 'the rest of the file untouched');
    if (process.platform !== 'win32') assert.equal(fs.statSync(envFile()).mode & 0o777, 0o600);
    await vscode.workspace.getConfiguration('infusionsoft.apiKey').update('envVariable', 'MY_KEAP_KEY', vscode.ConfigurationTarget.Workspace);
    assert.ok(await vscode.commands.executeCommand('infusionsoft.insertApiKeyIntoEnv', 'ci', envFile()));
    assert.equal(dotenv.parse(fs.readFileSync(envFile(), 'utf8')).MY_KEAP_KEY, DEMO_KEY);
  });

  it('a Service Account Key is marked as such, and says that it opens all of the account\'s data', async () => {
    await control('/__fake/api-keys', 'POST', { key: 'KeapAK-service-account-0001', appName: 'ab123' });
    await vscode.commands.executeCommand('notifications.clearAll');
    const entry = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'admin', kind: 'sak', key: 'KeapAK-service-account-0001' });
    assert.ok(entry);
    added.push(entry.id);
    await notificationMatching(/Service Account Key "admin" added for Keap account Ab123 Demo Co .*admin access to all of the account's data/);
    await vscode.commands.executeCommand('infusionsoft.apiKeys.focus');
    await waitFor(async () => /Service Account Key · admin access to all data/.test(await harness.sidebarText()), 20_000, 'the SAK row marked');
    assert.equal(await vscode.commands.executeCommand('infusionsoft.removeApiKey', 'admin', { confirm: false }), true);
    added.splice(added.indexOf(entry.id), 1);
    assert.equal(await vscode.commands.executeCommand('infusionsoft.apiKey', 'admin'), undefined, 'removed');
  });

  it('a production credential written into a folder bound to nothing asks first (Cancel writes nothing), once per folder', async () => {
    await control('/__fake/api-keys', 'POST', { key: 'KeapAK-production-0001', appName: 'ab123' });
    const entry = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'live', kind: 'pat', key: 'KeapAK-production-0001', environment: 'production' });
    added.push(entry.id);
    const folder = vscode.workspace.workspaceFolders![0];
    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
    fs.writeFileSync(envFile(), '');
    await vscode.commands.executeCommand('notifications.clearAll');

    let insert = vscode.commands.executeCommand<vscode.Uri | undefined>('infusionsoft.insertApiKeyIntoEnv', 'live', envFile());
    await notificationMatching(/API key "live" is a production credential, and the folder .* is bound to none/);
    await harness.clickNotification('is a production credential', 'Cancel');
    assert.equal(await insert, undefined);
    assert.equal(fs.readFileSync(envFile(), 'utf8'), '', 'nothing written');

    insert = vscode.commands.executeCommand<vscode.Uri | undefined>('infusionsoft.insertApiKeyIntoEnv', 'live', envFile());
    await notificationMatching(/API key "live" is a production credential/);
    await harness.clickNotification('is a production credential', 'Allow for This Folder');
    assert.ok(await insert);
    assert.deepEqual(Object.values(dotenv.parse(fs.readFileSync(envFile(), 'utf8'))), ['KeapAK-production-0001']);

    // Remembered: no question the second time.
    await vscode.commands.executeCommand('notifications.clearAll');
    fs.writeFileSync(envFile(), '');
    assert.ok(await vscode.commands.executeCommand('infusionsoft.insertApiKeyIntoEnv', 'live', envFile()));
    await vscode.commands.executeCommand('notifications.showList');
    assert.ok(!(await harness.notifications()).some(t => /production credential/.test(t)), 'asked once per folder');
    // A sandbox key is never asked about.
    assert.ok(await vscode.commands.executeCommand('infusionsoft.insertApiKeyIntoEnv', 'ci', envFile()));
  });

  it('a signed-in app marked production shows it in the status bar and the view; its token into an unbound folder asks first', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const folder = vscode.workspace.workspaceFolders![0];
    try {
      assert.equal(await vscode.commands.executeCommand('infusionsoft.markProduction', { account: key }), true);
      await waitFor(() => /\$\(flame\) production$/.test(a.statusText()), 5000, 'the mark in the status bar');
      const row = a.tree.getChildren().find(n => n.account === key)!;
      assert.match(String(a.tree.getTreeItem(row).description), /production/);
      assert.equal((a.tree.getTreeItem(row).iconPath as vscode.ThemeIcon).id, 'flame');
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      fs.writeFileSync(envFile(), '');
      await vscode.commands.executeCommand('notifications.clearAll');
      const insert = vscode.commands.executeCommand<vscode.Uri | undefined>('infusionsoft.insertIntoEnv', envFile(), key);
      await notificationMatching(/Keap app \w+ is a production credential, and the folder .* is bound to none/);
      await harness.clickNotification('is a production credential', 'Cancel');
      assert.equal(await insert, undefined);
      assert.equal(fs.readFileSync(envFile(), 'utf8'), '', 'nothing written');
      // Bound to that app: written without a question.
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `app:${key}` });
      assert.ok(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', envFile(), key));
      assert.equal(dotenv.parse(fs.readFileSync(envFile(), 'utf8')).KEAP_ACCESS_TOKEN, a.model.get(key)?.accessToken);
    } finally {
      await vscode.commands.executeCommand('infusionsoft.clearMark', { account: key });
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
    }
    assert.doesNotMatch(a.statusText(), /production/);
  });

  it('Import Tokens adopts a pair from a workspace .env: checked, refreshed once through the refresh lock, and the .env follows', async () => {
    await useDemoCredentials();
    const a = await api();
    const pair = await pairFromElsewhere();
    // As a developer's .env holds it: no scope, an expiry already past (so the refresh is needed).
    fs.writeFileSync(envFile(), `KEAP_ACCESS_TOKEN=${pair.access_token}\nKEAP_REFRESH_TOKEN=${pair.refresh_token}\nKEAP_TOKEN_EXPIRES_AT=2020-01-01T00:00:00.000Z\n`);
    await fake.reset();
    // Held by "another window": the import's refresh waits for the same user-wide lock every refresh takes.
    const lockFile = path.join(a.storageDir, 'locks', `refresh-${accountFileId(`${DEMO.clientId}|`)}.lock`);
    const held = await new FileLock(lockFile, { staleMs: 15_000 }).acquire(10_000);
    let result: Promise<ImportResult | undefined>;
    try {
      result = Promise.resolve(vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { envFile: envFile(), writeBack: true }));
      await new Promise(r => setTimeout(r, 2000));
      assert.equal((await tokenRequests('refresh_token')).length, 0, 'no refresh while another holder has the lock');
    } finally {
      await held.release();
    }
    const r = await result;
    assert.equal(r?.kind, 'imported', JSON.stringify(r));
    assert.ok(r?.kind === 'imported' && r.refreshed);
    const refreshes = await tokenRequests('refresh_token');
    assert.equal(refreshes.length, 1, 'one refresh');
    assert.equal(refreshes[0].form?.refresh_token, pair.refresh_token);
    assert.equal((await fake.requests()).filter(x => x.path.endsWith('/userinfo')).length, 0, 'an expired access token is not sent to userinfo');
    const key = `${DEMO.clientId}|${APP}`;
    assert.equal(r?.kind === 'imported' && r.account, key, 'the Keap app learned from scope');
    const set = await waitFor(() => a.model.get(key), 10_000, 'the imported account');
    const live = (await fake.tokens()).find(t => t.appName === APP && t.accessToken === set.accessToken);
    assert.ok(live, 'the stored pair is the one Keap issued at the refresh');
    assert.equal(set.tokenUrl, `${fake.url()}/token`, 'bound to the token endpoint configured now');
    // The .env it came from now holds the new pair, and follows the next refresh.
    assert.equal(dotenv.parse(fs.readFileSync(envFile(), 'utf8')).KEAP_REFRESH_TOKEN, set.refreshToken);
    await vscode.commands.executeCommand('infusionsoft.refreshToken', key);
    const next = await waitFor(() => a.model.get(key)?.refreshToken !== set.refreshToken && a.model.get(key), 10_000, 'the refresh');
    await waitFor(() => dotenv.parse(fs.readFileSync(envFile(), 'utf8')).KEAP_REFRESH_TOKEN === next.refreshToken, 10_000, 'the .env following the refresh');
    await vscode.commands.executeCommand('infusionsoft.signOut', key, { envFiles: 'keep' });
  });

  it('Import Tokens refuses a dead pair: a clear message, nothing stored, one request', async () => {
    const a = await api();
    const pair = await pairFromElsewhere();
    // Someone else already refreshed it: the refresh token is dead.
    const rotated = await fetch(`${fake.url()}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }).toString(),
    });
    assert.equal(rotated.status, 200);
    await fake.reset();
    const before = a.model.accounts.length;
    await vscode.commands.executeCommand('notifications.clearAll');
    const text = JSON.stringify({ ...pair, expires_in: undefined, expires_at: Math.floor(Date.now() / 1000) - 60 });
    const r = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { text });
    assert.equal(r.kind, 'refused');
    assert.match(r.kind === 'refused' ? r.reason : '', /does not accept this refresh token for client ID demo-client-id/);
    await notificationMatching(/Import Tokens: nothing was stored\. Keap does not accept this refresh token/);
    const reqs = await fake.requests();
    assert.equal(reqs.length, 1, `one request: ${reqs.map(x => x.path).join(', ')}`);
    assert.equal(a.model.accounts.length, before, 'nothing stored');
    assert.ok(!a.model.accounts.some(s => s.refreshToken === pair.refresh_token || s.accessToken === pair.access_token));

    // An API key pasted as a token: refused before anything is sent.
    await fake.reset();
    const k = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { accessToken: 'abc', refreshToken: DEMO_KEY });
    assert.equal(k.kind, 'refused');
    assert.match(k.kind === 'refused' ? k.reason : '', /Add API Key/);
    assert.equal((await fake.requests()).length, 0);
  });

  it('Import Tokens: a token of the pair given as the client ID or secret is refused before it reaches settings.json or SecretStorage', async () => {
    const before = vscode.workspace.getConfiguration('infusionsoft').inspect<string>('clientId');
    await fake.reset();
    await vscode.commands.executeCommand('notifications.clearAll');
    const at = 'imported-access-token-0123456789';
    const rt = 'imported-refresh-token-0123456789';
    const r = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { accessToken: at, refreshToken: rt, clientId: rt, clientSecret: 'some-secret-value' });
    assert.equal(r.kind, 'cancelled');
    await notificationMatching(/one of the tokens being imported, not the client ID/);
    const after = vscode.workspace.getConfiguration('infusionsoft').inspect<string>('clientId');
    assert.equal(after?.globalValue, before?.globalValue, 'the client ID setting is unchanged');
    assert.notEqual(after?.globalValue, rt);
    const s = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { accessToken: at, refreshToken: rt, clientId: DEMO.clientId, clientSecret: `  ${at} ` });
    assert.equal(s.kind, 'cancelled');
    await notificationMatching(/one of the tokens being imported, not the client secret/);
    assert.equal((await fake.requests()).length, 0, 'nothing sent');
  });

  it("Import Tokens from a .env under infusionsoft-php's names while the settings write KEAP_*: imported, the file untouched, and says how to make it follow", async () => {
    await useDemoCredentials();
    const pair = await pairFromElsewhere();
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, 'php.env');
    const original = `APP_NAME=shop\nINFUSIONSOFT_ACCESS_TOKEN=${pair.access_token}\nINFUSIONSOFT_REFRESH_TOKEN=${pair.refresh_token}\nINFUSIONSOFT_TOKEN_EXPIRES_AT=2020-01-01T00:00:00.000Z\n`;
    fs.writeFileSync(file, original);
    try {
      await vscode.commands.executeCommand('notifications.clearAll');
      const r = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { envFile: file, writeBack: true });
      assert.equal(r.kind, 'imported', JSON.stringify(r));
      assert.equal(r.kind === 'imported' ? r.envFile : 'x', undefined, 'not written back under other names');
      assert.equal(fs.readFileSync(file, 'utf8'), original, 'every byte of the file as it was');
      await notificationMatching(/php\.env holds the pair as INFUSIONSOFT_ACCESS_TOKEN and INFUSIONSOFT_REFRESH_TOKEN, but your settings write KEAP_ACCESS_TOKEN and KEAP_REFRESH_TOKEN/);
    } finally {
      fs.rmSync(file, { force: true });
      // The imported app goes again, as after the other import: the suites after this one use the demo app.
      await vscode.commands.executeCommand('infusionsoft.signOut', `${DEMO.clientId}|${APP}`, { envFiles: 'keep' });
    }
  });

  it('Import Tokens from a .env that is not UTF-8, or a paste of megabytes: says why, nothing stored, nothing sent', async () => {
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, 'utf16.env');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('KEAP_ACCESS_TOKEN=a\nKEAP_REFRESH_TOKEN=b\n', 'utf16le')]));
    try {
      await fake.reset();
      const r = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { envFile: file });
      assert.equal(r.kind, 'refused');
      assert.match(r.kind === 'refused' ? r.reason : '', /utf16\.env could not be read: .*UTF-16/);
      const big = await vscode.commands.executeCommand<ImportResult>('infusionsoft.importTokens', { text: `KEAP_ACCESS_TOKEN=a\nKEAP_REFRESH_TOKEN=${'b'.repeat(5_000_000)}` });
      assert.equal(big.kind, 'refused');
      assert.match(big.kind === 'refused' ? big.reason : '', /characters long; a token pair is a few hundred/);
      assert.equal((await fake.requests()).length, 0, 'nothing sent');
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
