import assert from 'node:assert/strict';
import fs = require('fs');
import path = require('path');

const ROOT = path.resolve(__dirname, '../../..');
const read = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, f), 'utf8')) as Record<string, string>;

/**
 * One name per concept in the UI (issue 12, point 5): the service, its apps and tokens are "Keap";
 * "Infusionsoft" is only the command category (in a command's full name, "Infusionsoft: Sign In"),
 * the ids (`infusionsoft.*` settings and commands, the `infusionsoft` auth provider), the
 * infusionsoft-php SDK's names, and the product's name "Infusionsoft (Keap) OAuth".
 */
describe('UI naming: "Keap" for the service, "Infusionsoft" only as the command category and in ids', () => {
  const nls = read('package.nls.json');
  const bundle = read('l10n/bundle.l10n.json');
  const commandTitles = Object.entries(nls).filter(([k]) => k.startsWith('command.')).map(([, v]) => v);

  /** What is left of a string once every allowed use of "Infusionsoft" is taken out. */
  function strayUses(text: string): string[] {
    let rest = text
      .replace(/Infusionsoft \(Keap\) OAuth/g, '')
      .replace(/infusionsoft[.-]\w*/g, '')
      .replace(/INFUSIONSOFT_\w+/g, '');
    // "Infusionsoft: <a real command title>" (titles may be cut at "/": "Copy Access Token / Copy Refresh Token").
    rest = rest.replace(/Infusionsoft: ([A-Z][\w .…-]*)/g, (m, title: string) => (commandTitles.some(t => title.startsWith(t.replace(/…$/, ''))) ? '' : m));
    // Case-sensitive: lower-case "infusionsoft" is the settings' and commands' id prefix.
    return rest.match(/.{0,30}Infusionsoft.{0,30}/g) ?? [];
  }

  it('the check catches a stray use', () => {
    assert.deepEqual(strayUses('Infusionsoft: Sign In again'), []);
    assert.equal(strayUses('Infusionsoft: not signed in.').length, 1);
    assert.equal(strayUses('Sign in to the Keap (Infusionsoft) API first').length, 1);
    assert.equal(strayUses('Infusionsoft (Keap) token').length, 1);
  });

  it('every localized string of the extension and of package.json follows the rule', () => {
    // The Marketplace description keeps "Keap (Infusionsoft)" so a search for the old name finds it.
    const stray = [...Object.values(bundle), ...Object.entries(nls).filter(([k]) => k !== 'description').map(([, v]) => v)].flatMap(strayUses);
    assert.deepEqual(stray, []);
  });

  it('the activity bar, the view and the auth provider say "Keap"', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(nls['view.container'], 'Keap');
    assert.match(nls['view.session'], /^[^:]*$/, 'the view title reads "Keap: <view>" in the side bar');
    assert.equal(pkg.contributes.authentication[0].label, 'Keap');
    assert.ok(pkg.contributes.commands.every((c: { category: string }) => c.category === 'Infusionsoft'), 'every command is in the Infusionsoft category');
  });
});
