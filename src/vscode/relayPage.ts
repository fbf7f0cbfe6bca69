import vscode = require('vscode');
import { l10n } from 'vscode';
import { RELAY_HOSTS_FILE } from '../signin/relayState';

/** The relay page's files in the extension (built into dist/relay by scripts/bundle.js). */
export const RELAY_PAGE_FILES: readonly string[] = ['index.html', 'relay.js'];

/** Where GitHub documents publishing a folder as a site (the steps the message points to). */
const GITHUB_PAGES_DOCS = 'https://docs.github.com/en/pages/getting-started-with-github-pages/creating-a-github-pages-site';

/**
 * Infusionsoft: Save Relay Page…. Writes the relay page (index.html, relay.js) and its host list
 * (relay-hosts.json, an empty list with an example in its `$comment`) to a folder, then says how to
 * publish it and set `infusionsoft.redirectUri`. index.html and relay.js are replaced (a newer
 * extension ships a newer page); an existing relay-hosts.json is kept, since its list is the user's.
 * @param target the folder (an absolute path or a Uri) for tests and scripts; otherwise the user picks one.
 * @returns the files written or kept, or undefined when no folder was chosen.
 */
export async function saveRelayPage(extensionUri: vscode.Uri, target?: unknown): Promise<vscode.Uri[] | undefined> {
  const folder = target instanceof vscode.Uri ? target : typeof target === 'string' && target ? vscode.Uri.file(target) : await pickFolder();
  if (!folder) return undefined;
  const source = vscode.Uri.joinPath(extensionUri, 'dist', 'relay');
  await vscode.workspace.fs.createDirectory(folder);
  const written: vscode.Uri[] = [];
  for (const name of RELAY_PAGE_FILES) {
    const to = vscode.Uri.joinPath(folder, name);
    await vscode.workspace.fs.copy(vscode.Uri.joinPath(source, name), to, { overwrite: true });
    written.push(to);
  }
  const hosts = vscode.Uri.joinPath(folder, RELAY_HOSTS_FILE);
  if (!(await exists(hosts))) await vscode.workspace.fs.copy(vscode.Uri.joinPath(source, RELAY_HOSTS_FILE), hosts);
  written.push(hosts);
  void showNextSteps(folder);
  return written;
}

async function pickFolder(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: l10n.t('Infusionsoft: Save Relay Page'),
    openLabel: l10n.t('Save Relay Page Here'),
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
  });
  return picked?.[0];
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

async function showNextSteps(folder: vscode.Uri): Promise<void> {
  const settings = l10n.t('Set Redirect URI');
  const docs = l10n.t('How to Publish');
  const choice = await vscode.window.showInformationMessage(
    l10n.t(
      'Relay page saved to {0}. Next: 1. publish this folder on an HTTPS static host (GitHub Pages: push it to a repository, then Settings → Pages → Deploy from a branch); 2. for browser-based VS Code (code-server, vscode.dev, Codespaces), list its host in {1}; 3. set infusionsoft.redirectUri to the page\'s address, e.g. https://you.github.io/keap-relay/.',
      folder.scheme === 'file' ? folder.fsPath : folder.toString(true),
      RELAY_HOSTS_FILE,
    ),
    settings,
    docs,
  );
  if (choice === settings) await vscode.commands.executeCommand('workbench.action.openSettings', 'infusionsoft.redirectUri');
  else if (choice === docs) await vscode.env.openExternal(vscode.Uri.parse(GITHUB_PAGES_DOCS));
}
