// Entry point loaded by the extension host through `extensionTestsPath`. code-server prints
// nothing of the extension host's stdout, so mocha's output also goes to $VSCODE_TEST_LOG, and a
// summary to $VSCODE_TEST_RESULT.
import fs = require('fs');
import path = require('path');
import * as util from 'util';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const logFile = process.env.VSCODE_TEST_LOG;
  const Base = Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void };
  const orig = Base.consoleLog;
  Base.consoleLog = (...a: unknown[]) => {
    if (logFile) fs.appendFileSync(logFile, util.format(...a) + '\n');
    orig(...a);
  };
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', grep: process.env.HOST_GREP || undefined });
  const dir = path.join(__dirname, 'suite');
  for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.test.js')) mocha.addFile(path.join(dir, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run(failures => {
      const summary = { passes: runner.stats?.passes ?? 0, failures, pending: runner.stats?.pending ?? 0 };
      if (process.env.VSCODE_TEST_RESULT) fs.writeFileSync(process.env.VSCODE_TEST_RESULT, JSON.stringify(summary));
      if (failures > 0) reject(new Error(`${failures} host tests failed.`));
      else resolve();
    });
  });
}
