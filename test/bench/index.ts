// Benchmark runner loaded by the extension host (extensionTestsPath) in a test-mode window:
// signs in N times through the real relay + UriHandler path and records, for each, the time from
// the callback reaching the UriHandler to the token set stored and the status bar updated.
// Writes JSON to $KEAP_BENCH_OUT. Not a test: it asserts nothing; scripts/bench.js reports it.
import fs = require('fs');
import * as vscode from 'vscode';
import { api, harness, useDemoCredentials } from '../host/util';

export async function run(): Promise<void> {
  const out = process.env.KEAP_BENCH_OUT!;
  const a = await api();
  await useDemoCredentials();
  const callbackMs: number[] = [];
  const rounds = Number(process.env.KEAP_BENCH_SIGNINS || 5);
  for (let i = 0; i < rounds; i++) {
    await vscode.commands.executeCommand('infusionsoft.signOut', 'all');
    await harness.plan('allow');
    const ok = await vscode.commands.executeCommand<boolean>('infusionsoft.signIn');
    await harness.plan('none');
    await harness.closePopups();
    const lastCallbackMs = (await a.signIn()).lastCallbackMs;
    if (!ok || lastCallbackMs === undefined) throw new Error(`sign-in ${i + 1} failed`);
    callbackMs.push(lastCallbackMs);
  }
  // A second Keap app (the fake's user has two), so the expiry cycle covers two accounts.
  await harness.plan('allow', 'cd456');
  const second = await vscode.commands.executeCommand<boolean>('infusionsoft.addAccount');
  await harness.plan('none');
  await harness.closePopups();
  if (!second) throw new Error('sign-in to the second Keap app failed');
  fs.writeFileSync(out, JSON.stringify({ callbackMs, statusText: a.statusText(), apps: a.model.accounts.map(s => s.appName) }));
  if (process.env.KEAP_BENCH_CTRL) await expiryCycle(process.env.KEAP_BENCH_CTRL);
}

/** Phase two, driven by scripts/bench.js: once it has opened the other windows, make every account's token near expiry everywhere at once. */
export async function expiryCycle(ctrl: string): Promise<void> {
  const a = await api();
  for (;;) {
    const phase = await (await fetch(`${ctrl}/phase`)).text();
    if (phase === 'go') break;
    await new Promise(r => setTimeout(r, 200));
  }
  for (const current of a.model.accounts) await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 30 * 60_000 });
  await fetch(`${ctrl}/written`, { method: 'POST' });
  // Keep this window (and its extension host) alive until the cycle is over.
  const t0 = Date.now();
  while (Date.now() - t0 < 15_000 && !a.model.accounts.every(s => (s.accessTokenExpiresAt ?? 0) > Date.now() + 23 * 3_600_000)) await new Promise(r => setTimeout(r, 200));
  await new Promise(r => setTimeout(r, 9000));
}
