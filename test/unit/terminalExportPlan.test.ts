import assert from 'node:assert/strict';
import { terminalExportPlan } from '../../src/session/terminalExport';

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
