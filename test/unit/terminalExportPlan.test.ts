import assert from 'node:assert/strict';
import { apiKeyForTerminal, terminalExportPlan } from '../../src/session/terminalExport';

describe('terminal export of a production app: which folders (issue 20)', () => {
  const prod = { id: 'app:c|ab', environment: 'production' as const };
  const folders = [
    { key: 'file:///bound', state: { boundTo: 'app:c|ab', allowed: [] } },
    { key: 'file:///allowed', state: { allowed: ['app:c|ab'] } },
    { key: 'file:///other', state: { boundTo: 'apiKey:aa', allowed: [] } },
    { key: 'file:///none', state: { allowed: [] } },
  ];

  it('an app not marked production goes window-wide, asking nothing', () => {
    assert.deepEqual(terminalExportPlan({ id: 'app:c|ab', environment: 'sandbox' }, folders, new Set()), { all: true, exportTo: [], ask: [] });
    assert.deepEqual(terminalExportPlan({ id: 'app:c|ab' }, folders, new Set()), { all: true, exportTo: [], ask: [] });
  });

  it('a production app goes only into folders bound to it or allowed, and asks about the others once', () => {
    assert.deepEqual(terminalExportPlan(prod, folders, new Set()), { all: false, exportTo: ['file:///bound', 'file:///allowed'], ask: ['file:///other', 'file:///none'] });
    assert.deepEqual(terminalExportPlan(prod, folders, new Set(['file:///other', 'file:///none'])), { all: false, exportTo: ['file:///bound', 'file:///allowed'], ask: [] });
    assert.deepEqual(terminalExportPlan(prod, [], new Set()), { all: false, exportTo: [], ask: [] });
  });
});

describe('terminal export of an API key: which key (issue 20)', () => {
  it('the key the folder is bound to, else the only key, else none', () => {
    assert.equal(apiKeyForTerminal(['a', 'b'], 'apiKey:b'), 'b');
    assert.equal(apiKeyForTerminal(['a'], undefined), 'a');
    assert.equal(apiKeyForTerminal(['a'], 'app:c|ab'), 'a', 'bound to an app: the only key still');
    assert.equal(apiKeyForTerminal(['a', 'b'], 'app:c|ab'), undefined);
    assert.equal(apiKeyForTerminal(['a', 'b'], undefined), undefined);
    assert.equal(apiKeyForTerminal(['a', 'b'], 'apiKey:gone'), undefined);
    assert.equal(apiKeyForTerminal([], undefined), undefined);
  });
});
