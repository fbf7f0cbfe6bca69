import * as vscode from 'vscode';
import type { TestApi } from '../../src/extension';
import type { RecordedRequest } from '../fake-keap/server';

export const EXTENSION_ID = 'keap-community.infusionsoft-oauth';
export const DEMO = { clientId: 'demo-client-id', clientSecret: 'demo-client-secret', appName: 'ab123' };

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the host tests through scripts/host/run-host-tests.js`);
  return v;
}

export async function api(): Promise<TestApi> {
  const ext = vscode.extensions.getExtension<TestApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not loaded`);
  const testApi = await ext.activate();
  if (!testApi) throw new Error('the extension returned no test API (not in development/test mode?)');
  return testApi;
}

async function call<T>(base: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(base + p, body === undefined ? undefined : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${p} → ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The browser side: what the harness does in the page. */
export const harness = {
  /** What the harness does on Keap's authorize page; `app` picks one of the user's Keap apps before Allow. */
  plan: (plan: 'allow' | 'deny' | 'none', app?: string) => call(env('HARNESS_URL'), '/plan', app ? { plan, app } : { plan }),
  landed: () => call<string[]>(env('HARNESS_URL'), '/landed'),
  statusBar: () => call<string[]>(env('HARNESS_URL'), '/statusbar'),
  statusBar2: () => call<string[]>(env('HARNESS_URL'), '/statusbar/2'),
  /** The entries of VS Code's Accounts menu, read from the page. */
  accountsMenu: () => call<string[]>(env('HARNESS_URL'), '/accounts-menu'),
  sidebarText: () => call<string>(env('HARNESS_URL'), '/sidebar-text'),
  notifications: () => call<string[]>(env('HARNESS_URL'), '/notifications'),
  clickNotification: (containing: string, button: string) => call(env('HARNESS_URL'), '/notifications', { containing, button }),
  runCommandInSecondWindow: (title: string) => call(env('HARNESS_URL'), '/command/2', { title }),
  openSecondWindow: () => call(env('HARNESS_URL'), '/open-window', {}),
  reloadSecondWindow: () => call(env('HARNESS_URL'), '/reload-window', {}),
  /** Reloads window 2 and answers every text its Keap status bar item showed from the first paint until one matched `until` (a RegExp source). */
  reloadSecondWindowWatching: (until: string) => call<string[]>(env('HARNESS_URL'), '/reload-window-watch', { until }),
  closeSecondWindow: () => call(env('HARNESS_URL'), '/close-window', {}),
  /** A screenshot of the page, or of the first element matching `selector`, into the artifacts folder. */
  screenshot: (name: string, selector?: string, maxHeight?: number) => call<{ file: string }>(env('HARNESS_URL'), '/screenshot', { name, selector, maxHeight }),
  closePopups: () => call(env('HARNESS_URL'), '/close-popups', {}),
  /** The links and images VS Code rendered in the message of the notifications holding `containing` (issue 17.2). */
  notificationLinks: (containing: string) => call<{ found: number; links: number; images: number; text: string[] }>(env('HARNESS_URL'), '/notification-links', { containing }),
};

export type { RecordedRequest };

/** The fake Keap server's control API. */
export const fake = {
  url: () => env('FAKE_KEAP_URL'),
  requests: () => call<RecordedRequest[]>(env('FAKE_KEAP_URL'), '/__fake/requests'),
  reset: () => call(env('FAKE_KEAP_URL'), '/__fake/reset', {}),
  tokens: () => call<Array<{ accessToken: string; refreshToken: string; clientId: string; appName: string }>>(env('FAKE_KEAP_URL'), '/__fake/tokens'),
  /** The Keap apps the signed-in Keap user has besides the client's own (offered on the authorize page). */
  userApps: (apps: string[]) => call(env('FAKE_KEAP_URL'), '/__fake/user-apps', { apps }),
  secrets: () => call<string[]>(env('FAKE_KEAP_URL'), '/__fake/secrets'),
  fault: (f: Record<string, unknown>) => call(env('FAKE_KEAP_URL'), '/__fake/fault', f),
  clock: (c: { advanceMs?: number; nowMs?: number }) => call<{ now: number }>(env('FAKE_KEAP_URL'), '/__fake/clock', c),
  /** Keap forgets the access tokens it issued (refresh tokens stay alive): the next API call answers 401. */
  revokeAccessTokens: () => call<{ revoked: number }>(env('FAKE_KEAP_URL'), '/__fake/revoke-access-tokens', {}),
};

export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 150));
  }
}

/** The text of the first notification (the notification list opened) that matches `re`, within 20 s. */
export async function notificationMatching(re: RegExp): Promise<string> {
  return waitFor(async () => {
    await vscode.commands.executeCommand('notifications.showList');
    return (await harness.notifications()).find(t => re.test(t));
  }, 20_000, `a notification matching ${re}`);
}

/** Token requests of one grant type the fake server received. */
export async function tokenRequests(grant: 'authorization_code' | 'refresh_token'): Promise<RecordedRequest[]> {
  return (await fake.requests()).filter(r => r.path === '/token' && r.form?.grant_type === grant);
}

/** Sets the demo client's credentials through the real command. */
export async function useDemoCredentials(secret = DEMO.clientSecret): Promise<void> {
  const ok = await vscode.commands.executeCommand<boolean>('infusionsoft.setClientCredentials', { clientId: DEMO.clientId, clientSecret: secret });
  if (!ok) throw new Error('setClientCredentials refused the demo credentials');
}

/**
 * Makes sure this window is signed in with a refresh token Keap still accepts: an earlier suite
 * leaves a session; alone, or after a suite that killed the refresh token, this signs in (the
 * demo client, Allow on the fake Keap's page).
 */
export async function ensureSignedIn(): Promise<void> {
  const set = await (await api()).model.store.read();
  if (set && set.refreshTokenRejectedAt === undefined) return;
  await useDemoCredentials();
  await harness.plan('allow');
  const ok = await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true });
  await harness.plan('none');
  if (ok !== true) throw new Error('Sign In did not sign in');
}
