import assert from 'node:assert/strict';
import fs = require('fs');
import path = require('path');

const ROOT = path.resolve(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.nls.json'), 'utf8')) as Record<string, string>;

type Step = { id: string; title: string; description: string; media: { markdown?: string; image?: string }; completionEvents?: string[] };
const steps: Step[] = pkg.contributes.walkthroughs.flatMap((w: { steps: Step[] }) => w.steps);
const ours = new Set<string>(pkg.contributes.commands.map((c: { command: string }) => c.command));
const text = (v: string) => (v.startsWith('%') ? nls[v.slice(1, -1)] : v);

/**
 * The Get Started walkthrough (issues 18 and 20: it covers Sign In, imports, API keys, production
 * marks and the token helper): every step's words, pictures and links lead somewhere real.
 */
describe('walkthrough: every step names real commands, settings and media', () => {
  it('covers the ways in (Sign In, Import Tokens, Add API Key) and the ways out (.env, ${command:…}, keap-token)', () => {
    const all = steps.map(s => `${text(s.description)} ${(s.completionEvents ?? []).join(' ')} ${s.media.markdown ? fs.readFileSync(path.join(ROOT, s.media.markdown), 'utf8') : ''}`).join('\n');
    for (const needed of ['infusionsoft.signIn', 'infusionsoft.importTokens', 'infusionsoft.addApiKey', 'Mark as Production', 'Bind Folder', 'infusionsoft.insertIntoEnv', '${command:infusionsoft.accessToken}', 'keap-token', 'separate app record']) {
      assert.ok(all.includes(needed), `the walkthrough never mentions ${needed}`);
    }
  });

  for (const s of steps) {
    it(`step "${s.id}": title, description and media exist; its command links and completion events name contributed commands and settings`, () => {
      assert.ok(text(s.title), `no title for ${s.title}`);
      const description = text(s.description);
      assert.ok(description, `no description for ${s.description}`);
      const media = s.media.markdown ?? s.media.image;
      assert.ok(media && fs.existsSync(path.join(ROOT, media)), `missing media ${media}`);
      for (const m of description.matchAll(/\(command:([\w.]+)(\?[^)]*)?\)/g)) {
        const [, id, query] = m;
        if (id === 'workbench.action.openSettings') {
          const setting = JSON.parse(decodeURIComponent(query.slice(1)))[0] as string;
          assert.ok(pkg.contributes.configuration.properties[setting], `the link opens a setting that does not exist: ${setting}`);
        } else assert.ok(ours.has(id), `the link runs a command that is not contributed: ${id}`);
      }
      for (const e of s.completionEvents ?? []) {
        const [kind, id] = e.split(':');
        if (kind === 'onCommand') assert.ok(ours.has(id), `completion event on a command that is not contributed: ${id}`);
        if (kind === 'onSettingChanged') assert.ok(pkg.contributes.configuration.properties[id], `completion event on a setting that does not exist: ${id}`);
      }
    });
  }
});
