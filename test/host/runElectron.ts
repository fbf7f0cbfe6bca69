// Optional runner for machines with internet access: downloads VS Code (Electron) with
// @vscode/test-electron and runs the same host suite in it. Not used by CI (offline), where
// scripts/host/run-host-tests.js runs the suite in code-server instead. The host suite needs the
// fake Keap server and the browser-side harness, so this runner only checks that the extension
// activates and its commands register unless HARNESS_URL and FAKE_KEAP_URL are provided.
import path = require('path');
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const extensionDevelopmentPath = path.resolve(__dirname, '../../..');
  const extensionTestsPath = path.resolve(__dirname, './index');
  await runTests({ extensionDevelopmentPath, extensionTestsPath, launchArgs: ['--disable-extensions'] });
}

main().catch(err => {
  console.error('test-electron run failed:', err);
  process.exit(1);
});
