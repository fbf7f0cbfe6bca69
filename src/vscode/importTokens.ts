import path = require('path');
import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { readEnvText } from '../dotenv/envLocation';
import { isInsideFolder } from '../dotenv/envPath';
import { ENV_PRESETS } from '../dotenv/variables';
import { endpointProblem, userInfoUrl } from '../keap/endpoints';
import { accountKey } from '../session/accounts';
import { MAX_TOKEN_CHARS } from '../keap/tokenResponse';
import { clientRefusal, EnvPairNames, ImportedPair, ImportParse, ImportRefusal, pairFromFields, parseImportEnv, parseImportText, tokenRefusal } from '../session/importParse';
import type { LedgerStore } from '../session/refreshSchedule';
import { importPair, ImportPairResult } from '../session/importRefresh';
import { appNameFromScope, TokenSet } from '../session/tokenSet';
import type { Core } from './core';
import { setClientCredentials } from './credentials';
import type { EnvWriter } from './envWriter';

/** What Import Tokens takes from tests and scripts instead of asking (each one skips its question). */
export interface ImportTokensArgs {
  accessToken?: string;
  refreshToken?: string;
  /** A token endpoint answer or token file (JSON), or `.env` lines, as one text. */
  text?: string;
  /** A `.env` file in a workspace folder (absolute path) to read the pair from. */
  envFile?: string;
  clientId?: string;
  clientSecret?: string;
  /** Refresh once now (when the access token is still valid; an expired or refused one always is). */
  refresh?: boolean;
  /** Write the new pair back into the `.env` file it came from, which then follows every refresh. */
  writeBack?: boolean;
}

export type ImportResult =
  | { readonly kind: 'imported'; readonly account: string; readonly refreshed: boolean; readonly envFile?: string }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'cancelled' };

/** The words of each refusal of the text itself (src/session/importParse). */
function refusalWords(r: ImportRefusal, which?: 'access' | 'refresh'): string {
  // Each use of it starts a sentence.
  const box = which === 'refresh' ? l10n.t('The refresh token') : l10n.t('The access token');
  switch (r) {
    case 'empty':
      return l10n.t('Nothing was given.');
    case 'not-json':
      return l10n.t('The text starts like JSON but is not valid JSON.');
    case 'no-pair':
      return l10n.t('No access_token and refresh_token (JSON) or KEAP_ACCESS_TOKEN and KEAP_REFRESH_TOKEN (.env) were found in it.');
    case 'no-access-token':
      return l10n.t('The access token is missing.');
    case 'no-refresh-token':
      return l10n.t('The refresh token is missing: without it VS Code cannot keep the pair alive. Sign In gets a new pair instead.');
    case 'white-space':
      return l10n.t('{0} contains white space; paste one token per box.', box);
    case 'not-printable':
      return l10n.t('{0} has a character no Keap token has (only printable ASCII letters, digits and symbols).', box);
    case 'too-long':
      return l10n.t('{0} is longer than {1} characters; a Keap token is far shorter.', box, MAX_TOKEN_CHARS);
    case 'same-token':
      return l10n.t('The access token and the refresh token are the same text.');
    case 'api-key':
      return l10n.t('This is a Keap API key (Personal Access Token or Service Account Key), not an OAuth token: use Infusionsoft: Add API Key… for it.');
    case 'client-secret':
      return l10n.t('That is the client secret of the app, not a token.');
    case 'client-id':
      return l10n.t('That is the client ID of the app, not a token.');
  }
}

/**
 * Infusionsoft: Import Tokens…: adopts a Keap token pair obtained elsewhere (Keap's "Grant API
 * Access" form, an app's database, a `.env` file). Checks it before anything is stored: the access
 * token against userinfo (skipped when the pair says it has expired), then, if the access token is
 * expired or refused or the user agrees, one refresh through the same {@link Refresher}, user-wide
 * lock and request ledger as every refresh, which proves the refresh token and learns the Keap
 * app from `scope`; without it, the pair is stored under that same lock, and only over what was
 * stored when the import began. The pair is bound to the token endpoint configured now. A dead refresh token,
 * a token of another client ID, an API key or a client secret pasted as a token: a clear message,
 * nothing stored, nothing more sent.
 */
export class TokenImport {
  constructor(
    private readonly core: Core,
    private readonly envWriter: () => Promise<EnvWriter>,
    /** The request ledger of an account (src/extension.ts ledgerFor: the file every window shares). */
    private readonly ledgerFor: (key: string) => LedgerStore,
  ) {}

  async run(args: ImportTokensArgs = {}): Promise<ImportResult> {
    const { log, settings, now } = this.core;
    const refuse = (reason: string): ImportResult => {
      log.warn(`Import Tokens: nothing stored: ${reason}`);
      // A path refusal names "the setting infusionsoft.env.file" first (src/vscode/envWriter); here it begins a sentence. A file path is left as it is.
      void vscode.window.showErrorMessage(l10n.t('Import Tokens: nothing was stored. {0}', reason.replace(/^the setting /, 'The setting ')));
      return { kind: 'refused', reason };
    };

    // 1. The pair, from where the user has it.
    const source = await this.readSource(args);
    if (!source) return { kind: 'cancelled' };
    if (source.readError) return refuse(source.readError);
    if (!source.parse.ok) return refuse(refusalWords(source.parse.refusal, source.parse.which));
    const pair = source.parse.pair;
    log.addSecret(pair.accessToken);
    log.addSecret(pair.refreshToken);

    // 2. The app's client credentials, asked as Set Client Credentials does.
    let clientId = (args.clientId ?? settings.clientId()).trim();
    let clientSecret = clientId ? await this.core.secrets.clientSecret(clientId) : undefined;
    if (args.clientSecret !== undefined || !clientId || !clientSecret) {
      const ok = await setClientCredentials(settings, this.core.secrets, { clientId: clientId || undefined, clientSecret: args.clientSecret, quiet: true, knownTokens: [pair.accessToken, pair.refreshToken] });
      if (!ok) return { kind: 'cancelled' };
      clientId = settings.clientId();
      clientSecret = await this.core.secrets.clientSecret(clientId);
    }
    if (!clientSecret) return { kind: 'cancelled' };
    log.addSecret(clientSecret);
    const wrongBox = clientRefusal(pair, { clientId, clientSecret });
    if (wrongBox) return refuse(refusalWords(wrongBox));
    if (this.core.model.accounts.some(s => s.refreshToken === pair.refreshToken || s.accessToken === pair.accessToken)) {
      return refuse(l10n.t('VS Code already holds this pair (Keap app {0}).', this.core.model.accounts.find(s => s.refreshToken === pair.refreshToken || s.accessToken === pair.accessToken)?.appName ?? '?'));
    }

    // 3. Bound to the token endpoint configured now; both endpoints checked before anything is sent.
    const endpoints = settings.endpoints();
    const problem = endpointProblem(endpoints.tokenUrl) ?? endpointProblem(endpoints.apiBaseUrl);
    if (problem) return refuse(l10n.t('A Keap endpoint in your settings {0}.', problem));
    const scope = pair.scope ?? '';
    const candidate: TokenSet = {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      accessTokenExpiresAt: pair.accessTokenExpiresAt,
      // Keap states no lifetime and the pair does not say when its refresh token was issued: counted from now until the first refresh.
      refreshTokenIssuedAt: now(),
      scope,
      appName: appNameFromScope(scope),
      clientId,
      tokenUrl: endpoints.tokenUrl,
    };

    // 4–5. The access token against userinfo (unless the pair says it has expired), then one refresh
    // (needed when the access token is expired or refused, else the user's choice) or a store
    // without refreshing under the account's lock (src/session/importRefresh).
    const elsewhere = source.envFile ? vscode.workspace.asRelativePath(source.envFile) : l10n.t('the place you copied it from');
    const { model, tokenClient, credentials, refreshLock } = this.core;
    const r = await importPair(
      candidate,
      {
        tokenClient,
        credentials,
        now,
        log,
        lock: refreshLock,
        ledgerFor: this.ledgerFor,
        storeFor: key => model.storeFor(key),
        userInfo: async accessToken => {
          const user = await tokenClient.userInfo(accessToken);
          log.info(`Import Tokens: Keap accepted the access token (${urlForWords(userInfoUrl(endpoints))})`);
          return user;
        },
      },
      {
        // Asked only for a pair that names its app, of an app VS Code holds no tokens of (src/session/importRefresh).
        refresh: async () => {
          if (args.refresh !== undefined) return args.refresh;
          const now_ = l10n.t('Refresh Now');
          const keep = l10n.t('Import Without Refreshing');
          const answer = await vscode.window.showInformationMessage(
            l10n.t('Keap accepted the access token. Refresh once now to prove the refresh token? From now on VS Code refreshes this pair; the copy in {0} stops working after the first refresh.', elsewhere),
            now_,
            keep,
          );
          return answer === undefined ? undefined : answer === now_;
        },
        progress: work => Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: l10n.t('Refreshing the imported Keap tokens…') }, work)),
      },
    );
    if (r.kind === 'cancelled') return r;
    if (r.kind !== 'imported') return refuse(this.refusedWords(r, candidate));
    const stored = r.set;
    const refresh = r.refreshed;
    const key = accountKey(stored);
    await this.core.model.reload();
    if (this.core.model.get(key)) await this.core.model.setActive(key);
    const app = outsideText(stored.appName ?? clientId, 'message', 80);
    log.info(`Import Tokens: Keap app ${app} imported${refresh ? ' and refreshed once' : ''}`);

    // 6. Said plainly; and the .env it came from can follow VS Code's refreshes.
    let envFile: string | undefined;
    const said = refresh
      ? l10n.t('Keap app {0} imported and refreshed once. VS Code now refreshes this pair; the copy in {1} no longer works.', app, elsewhere)
      : l10n.t('Keap app {0} imported. VS Code now refreshes this pair; the copy in {1} stops working after its first refresh.', app, elsewhere);
    const otherNames = source.found && source.configured && (source.found.accessToken !== source.configured.accessToken || source.found.refreshToken !== source.configured.refreshToken);
    if (source.envFile && otherNames) {
      // Written back under the settings' names, the file would keep its own (now dead) variables beside new ones: said instead.
      void vscode.window.showWarningMessage(
        `${said} ${l10n.t('{0} holds the pair as {1} and {2}, but your settings write {3} and {4} (infusionsoft.env.preset, infusionsoft.env.variables). Set them to the file\'s names, then Insert Token into .env to have the file follow VS Code\'s refreshes.', vscode.workspace.asRelativePath(source.envFile), source.found!.accessToken, source.found!.refreshToken, source.configured!.accessToken, source.configured!.refreshToken)}`,
      );
    } else if (source.envFile) {
      const follow = l10n.t('Write Back to {0}', vscode.workspace.asRelativePath(source.envFile));
      const writeBack = args.writeBack ?? (await vscode.window.showWarningMessage(said, follow)) === follow;
      if (writeBack) {
        const uri = await (await this.envWriter()).insert(this.core.model.get(key) ?? stored, source.envFile);
        envFile = uri?.fsPath;
      }
    } else {
      void vscode.window.showWarningMessage(said);
    }
    return { kind: 'imported', account: key, refreshed: refresh, ...(envFile ? { envFile } : {}) };
  }

  /** Why nothing was stored, in words. */
  private refusedWords(r: Exclude<ImportPairResult, { kind: 'imported' | 'cancelled' }>, candidate: TokenSet): string {
    const app = candidate.appName ?? candidate.clientId;
    switch (r.kind) {
      case 'unchecked':
        return l10n.t('Keap could not check the access token: {0}', r.error.message);
      case 'dead':
        return l10n.t('Keap does not accept this refresh token for client ID {0}: it was used or rotated already, has expired, or belongs to another client ID.', candidate.clientId);
      case 'bad-client':
        return l10n.t('Keap rejected the client ID or client secret of {0}; check them with Set Client Credentials.', candidate.clientId);
      case 'unsaved':
        return l10n.t('Keap refreshed the pair but VS Code could not store it ({0}); the pair you gave no longer works. Sign in instead.', r.error.message);
      case 'failed':
        return l10n.t('The refresh failed: {0}', r.error.message);
      case 'changed':
        return l10n.t('Another VS Code window changed the stored tokens of Keap app {0} while you were importing (a refresh or a sign-in); they are kept. Run Import Tokens again to replace them.', app);
      case 'held':
        return l10n.t('VS Code already holds this pair (Keap app {0}).', app);
      case 'unstored':
        return l10n.t('VS Code could not store the pair: {0}', r.error.message);
    }
  }

  /** The pair and where it came from: the arguments, or the user's choice of boxes, the clipboard, or a workspace `.env`. */
  private async readSource(args: ImportTokensArgs): Promise<EnvSource | undefined> {
    const now = this.core.now();
    if (args.envFile !== undefined) return this.fromEnvFile(args.envFile);
    if (args.text !== undefined) return this.fromText(args.text, now);
    if (args.accessToken !== undefined || args.refreshToken !== undefined) return { parse: pairFromFields(args.accessToken, args.refreshToken) };
    const folders = vscode.workspace.workspaceFolders ?? [];
    const choices = [
      { label: `$(clippy) ${l10n.t('From the Clipboard')}`, detail: l10n.t('A token endpoint answer, Postman or token file JSON (access_token, refresh_token, expires_in), or .env lines'), id: 'clipboard' as const },
      { label: `$(edit) ${l10n.t('Type Both Tokens')}`, detail: l10n.t('The access token and the refresh token, one box each'), id: 'boxes' as const },
      ...(folders.length ? [{ label: `$(file) ${l10n.t('From a .env File in the Workspace')}`, detail: l10n.t('KEAP_ACCESS_TOKEN and KEAP_REFRESH_TOKEN (or the INFUSIONSOFT_ names); the file can then follow VS Code\'s refreshes'), id: 'env' as const }] : []),
    ];
    const pick = await vscode.window.showQuickPick(choices, { title: l10n.t('Import Keap tokens'), placeHolder: l10n.t('Where is the token pair?'), ignoreFocusOut: true });
    if (!pick) return undefined;
    if (pick.id === 'clipboard') return this.fromText(await vscode.env.clipboard.readText(), now);
    if (pick.id === 'boxes') {
      // Each box says what is wrong as the user types (an empty box is refused once both are given).
      const check = (which: 'access' | 'refresh') => (value: string) => {
        const v = value.trim();
        const refusal = v ? tokenRefusal(v) : undefined;
        return refusal ? refusalWords(refusal, which) : undefined;
      };
      const access = await vscode.window.showInputBox({ title: l10n.t('Import Keap tokens (1/2): access token'), password: true, ignoreFocusOut: true, validateInput: check('access') });
      if (access === undefined) return undefined;
      const refresh = await vscode.window.showInputBox({
        title: l10n.t('Import Keap tokens (2/2): refresh token'),
        password: true,
        ignoreFocusOut: true,
        validateInput: value => check('refresh')(value) ?? (value.trim() && value.trim() === access.trim() ? refusalWords('same-token') : undefined),
      });
      if (refresh === undefined) return undefined;
      return { parse: pairFromFields(access, refresh) };
    }
    const files = await vscode.workspace.findFiles('**/.env*', '**/node_modules/**', 50);
    const file = await vscode.window.showQuickPick(
      files.filter(f => f.scheme === 'file').map(f => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
      { placeHolder: l10n.t('Which .env file holds the pair?') },
    );
    return file ? this.fromEnvFile(file.uri.fsPath) : undefined;
  }

  /** A pasted text: at most {@link MAX_PASTED_CHARS} characters are read (a token pair is a few hundred). */
  private fromText(text: string, now: number): EnvSource {
    if (text.length > MAX_PASTED_CHARS) return { parse: { ok: false, refusal: 'empty' }, readError: l10n.t('The text is {0} characters long; a token pair is a few hundred. Copy only the token endpoint\'s answer or the two .env lines.', text.length) };
    return { parse: parseImportText(text, now) };
  }

  /** Reads a pair from a `.env` file inside a workspace folder (first the names the settings write, then the known ones). */
  private async fromEnvFile(file: string): Promise<EnvSource> {
    const abs = path.resolve(file);
    const folder = (vscode.workspace.workspaceFolders ?? []).find(f => f.uri.scheme === 'file' && isInsideFolder(f.uri.fsPath, abs));
    if (!folder) return { parse: { ok: false, refusal: 'empty' } };
    let text: string | undefined;
    try {
      text = await readEnvText(abs);
    } catch (e) {
      // Not UTF-8, too large, a link out of the folder: said as it is, not as "nothing was given".
      return { parse: { ok: false, refusal: 'empty' }, readError: l10n.t('{0} could not be read: {1}', vscode.workspace.asRelativePath(abs), outsideText((e as Error).message, 'message', 300)) };
    }
    if (text === undefined) return { parse: { ok: false, refusal: 'empty' }, readError: l10n.t('{0} does not exist.', vscode.workspace.asRelativePath(abs)) };
    const c = vscode.workspace.getConfiguration('infusionsoft.env', folder.uri);
    const preset = ENV_PRESETS[c.get<'keap' | 'infusionsoft-php'>('preset', 'keap')] ?? ENV_PRESETS.keap;
    const over = c.get<Partial<EnvPairNames>>('variables', {}) ?? {};
    const names: EnvPairNames = { accessToken: over.accessToken || preset.accessToken, refreshToken: over.refreshToken || preset.refreshToken, expiresAt: over.expiresAt || preset.expiresAt };
    const r = parseImportEnv(text, [names]);
    return { parse: r.parse, envFile: abs, ...(r.names ? { found: r.names, configured: names } : {}) };
  }
}

/** Longest pasted text Import Tokens reads, in characters (64 KiB): a token answer or .env is far smaller, and a huge paste would stall the extension host. */
const MAX_PASTED_CHARS = 65_536;

/** Where Import Tokens found the pair: the parse, and for a `.env` file its path, the variable names the pair was under and the names the settings write. */
interface EnvSource {
  readonly parse: ImportParse;
  /** Why the source could not be read (shown instead of the parse's refusal). */
  readonly readError?: string;
  readonly envFile?: string;
  readonly found?: EnvPairNames;
  readonly configured?: EnvPairNames;
}

function urlForWords(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
}

export type { ImportedPair };
