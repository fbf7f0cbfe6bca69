import assert from 'node:assert/strict';
import { apiKeyForTerminal, apiKeyTerminalPlan, terminalExportPlan } from '../../src/session/terminalExport';

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

describe('terminal export of API keys: which folder gets which key (issue 20)', () => {
  const on = { exportOn: true, workspaceTrusted: true };
  const sandbox = { id: 'a', environment: 'sandbox' as const };
  const live = { id: 'b', environment: 'production' as const };
  const unmarked = { id: 'c' };
  const none = { allowed: [] };

  it('nothing while the setting is off, in Restricted Mode, or with no key', () => {
    const folders = [{ key: 'file:///f', state: none }];
    const nothing = { exportTo: [], ask: [], unchosen: [] };
    assert.deepEqual(apiKeyTerminalPlan([sandbox], folders, new Set(), { exportOn: false, workspaceTrusted: true }), nothing);
    assert.deepEqual(apiKeyTerminalPlan([sandbox], folders, new Set(), { exportOn: true, workspaceTrusted: false }), nothing);
    assert.deepEqual(apiKeyTerminalPlan([sandbox], [], new Set(), { exportOn: true, workspaceTrusted: false }), nothing);
    assert.deepEqual(apiKeyTerminalPlan([], folders, new Set(), on), nothing);
  });

  it('the only key, not production, goes into every folder unasked', () => {
    const folders = [{ key: 'file:///x', state: none }, { key: 'file:///y', state: { boundTo: 'app:c|ab', allowed: [] } }];
    assert.deepEqual(apiKeyTerminalPlan([unmarked], folders, new Set(), on), {
      exportTo: [{ folder: 'file:///x', keyId: 'c' }, { folder: 'file:///y', keyId: 'c' }],
      ask: [],
      unchosen: [],
    });
  });

  it('several keys: each folder gets the key it is bound to; a folder bound to none of them gets nothing and is named', () => {
    const folders = [
      { key: 'file:///a', state: { boundTo: 'apiKey:a', allowed: [] } },
      { key: 'file:///c', state: { boundTo: 'apiKey:c', allowed: [] } },
      { key: 'file:///app', state: { boundTo: 'app:c|ab', allowed: [] } },
      { key: 'file:///none', state: none },
    ];
    assert.deepEqual(apiKeyTerminalPlan([sandbox, unmarked], folders, new Set(), on), {
      exportTo: [{ folder: 'file:///a', keyId: 'a' }, { folder: 'file:///c', keyId: 'c' }],
      ask: [],
      unchosen: ['file:///app', 'file:///none'],
    });
  });

  it('a production key: into folders bound to it or allowed; the others asked about once, nothing meanwhile', () => {
    const folders = [
      { key: 'file:///bound', state: { boundTo: 'apiKey:b', allowed: [] } },
      { key: 'file:///allowed', state: { allowed: ['apiKey:b'] } },
      { key: 'file:///allowedOther', state: { allowed: ['apiKey:zz'] } },
      { key: 'file:///none', state: none },
    ];
    assert.deepEqual(apiKeyTerminalPlan([live], folders, new Set(), on), {
      exportTo: [{ folder: 'file:///bound', keyId: 'b' }, { folder: 'file:///allowed', keyId: 'b' }],
      ask: [{ folder: 'file:///allowedOther', keyId: 'b' }, { folder: 'file:///none', keyId: 'b' }],
      unchosen: [],
    });
    const asked = new Set(['file:///none apiKey:b', 'file:///allowedOther apiKey:other']);
    assert.deepEqual(apiKeyTerminalPlan([live], folders, asked, on).ask, [{ folder: 'file:///allowedOther', keyId: 'b' }], 'asked per folder and key');
  });

  it('no folder open: the only key window-wide unless it is production; several keys: none', () => {
    assert.equal(apiKeyTerminalPlan([sandbox], [], new Set(), on).window, 'a');
    assert.equal(apiKeyTerminalPlan([unmarked], [], new Set(), on).window, 'c');
    assert.equal(apiKeyTerminalPlan([live], [], new Set(), on).window, undefined);
    assert.equal(apiKeyTerminalPlan([sandbox, unmarked], [], new Set(), on).window, undefined);
  });
});
