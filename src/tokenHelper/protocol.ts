/**
 * The token helper's protocol (issue 18): what `keap-token` (src/tokenHelper/cli.ts) asks the
 * running extension over local IPC, what the extension answers, the exit codes a script acts on,
 * and when the extension must refresh before it answers. Pure: no `vscode`, no I/O.
 *
 * Wire format: one connection per request; the client writes one line of JSON (a
 * {@link HelperRequest}) and a newline, the server answers one line of JSON (a
 * {@link HelperAnswer}) and closes. Every length is bounded.
 */

/** Exit codes of `keap-token`, documented in the README ("Use the token from your code") and `--help`. */
export const EXIT = {
  /** A valid access token was printed. */
  ok: 0,
  /** Something unexpected (an answer that is not the protocol, an I/O error). */
  error: 1,
  /** Bad options. */
  usage: 2,
  /** No VS Code window with the helper on answered (VS Code closed, the setting off, or the workspace untrusted). */
  notRunning: 3,
  /** No Keap app signed in (or the one asked for is not), or Keap refused the refresh token: sign in again. */
  signIn: 4,
  /** Automatic refresh is paused after Keap refused (client credentials, settings) until the user acts in VS Code. */
  paused: 5,
  /** The token is expiring and Keap cannot be reached right now (throttled, down, the daily budget): try again later. */
  unavailable: 6,
  /** The app is marked production and VS Code's question for this folder (the terminal's working directory) was declined or not answered. */
  declined: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Protocol version; a server answers `bad-request` to any other. */
export const PROTOCOL_VERSION = 1;
/** Longest request line the server reads (bytes); anything longer is dropped. */
export const MAX_REQUEST_BYTES = 4096;
/** Longest answer line the client reads (bytes). */
export const MAX_ANSWER_BYTES = 16_384;
/** Default of `--min-valid` and of the command's refresh threshold: 300 seconds (5 minutes). */
export const DEFAULT_MIN_VALID_SECONDS = 300;
/** Largest `--min-valid` accepted: 12 hours in seconds (Keap's access tokens live 24 hours, keap-oauth.md). */
export const MAX_MIN_VALID_SECONDS = 12 * 3600;

/**
 * `minValidSeconds` of the `infusionsoft.accessToken` command's argument (a launch or task input's
 * `args`), held to what `--min-valid` accepts: whole seconds from 0 to {@link MAX_MIN_VALID_SECONDS},
 * as a number or a string of digits. Returns the seconds, undefined when absent, or 'invalid'.
 */
export function commandMinValidSeconds(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= MAX_MIN_VALID_SECONDS ? n : 'invalid';
}
/**
 * A token with less than this left (ms) is never handed out: by the time a process sends it, it
 * may have expired. 30 seconds.
 */
export const MIN_USABLE_MS = 30_000;

/** Which helper asked, for the one log line each hand-out writes. */
export type HelperVia = 'keap-token' | 'command';

/** What `keap-token` sends. */
export interface HelperRequest {
  readonly v: typeof PROTOCOL_VERSION;
  /** The per-window secret the extension handed to its terminals (hex). */
  readonly secret: string;
  /** Which Keap app: its name (`ab123`), its client ID, or its account key; absent: the active one. */
  readonly app?: string;
  /** Refresh first when less than this is left (seconds, 0 to {@link MAX_MIN_VALID_SECONDS}). */
  readonly minValidSeconds: number;
  /**
   * The working directory of the process that asks (absolute, at most {@link MAX_CWD_CHARS}
   * characters): which workspace folder the production guard asks about. Absent: the window's
   * only folder, else none.
   */
  readonly cwd?: string;
}

/** Longest working directory a request may carry, in characters. */
export const MAX_CWD_CHARS = 1024;

/** Why no token was given; each maps to one exit code ({@link exitCodeOf}). */
export type HelperRefusal = 'sign-in' | 'paused' | 'unavailable' | 'bad-request' | 'denied' | 'declined';

export type HelperAnswer =
  | {
      readonly ok: true;
      readonly token: string;
      /** Expiry of the token, epoch ms (undefined when Keap gave none). */
      readonly expiresAt: number | undefined;
      /** The Keap app name (undefined when the scope named none). */
      readonly app: string | undefined;
      readonly clientId: string;
    }
  | { readonly ok: false; readonly refusal: HelperRefusal; readonly message: string };

/** The exit code for an answer. */
export function exitCodeOf(answer: HelperAnswer): ExitCode {
  if (answer.ok) return EXIT.ok;
  switch (answer.refusal) {
    case 'sign-in':
      return EXIT.signIn;
    case 'paused':
      return EXIT.paused;
    case 'unavailable':
      return EXIT.unavailable;
    case 'bad-request':
      return EXIT.usage;
    case 'denied':
      return EXIT.notRunning;
    case 'declined':
      return EXIT.declined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A selector as typed by a user: printable, no control characters, at most 200 characters. */
const SELECTOR = /^[^\u0000-\u001f\u007f]{1,200}$/;

/**
 * Reads one request line. Returns the request, or a `bad-request` refusal saying what is wrong
 * (never echoing the secret).
 */
export function parseRequest(line: string): HelperRequest | { readonly ok: false; readonly refusal: 'bad-request'; readonly message: string } {
  const bad = (message: string) => ({ ok: false as const, refusal: 'bad-request' as const, message });
  if (line.length > MAX_REQUEST_BYTES) return bad('request too long');
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return bad('request is not JSON');
  }
  if (!isRecord(v)) return bad('request is not an object');
  if (v.v !== PROTOCOL_VERSION) return bad(`protocol version ${String(v.v).slice(0, 10)} is not ${PROTOCOL_VERSION}: keap-token and the extension differ in version`);
  if (typeof v.secret !== 'string' || !/^[0-9a-f]{16,128}$/.test(v.secret)) return bad('request has no secret');
  if (v.app !== undefined && (typeof v.app !== 'string' || !SELECTOR.test(v.app))) return bad('app must be a name, client ID or account key');
  const min = v.minValidSeconds;
  if (typeof min !== 'number' || !Number.isInteger(min) || min < 0 || min > MAX_MIN_VALID_SECONDS) return bad(`min-valid must be whole seconds from 0 to ${MAX_MIN_VALID_SECONDS}`);
  if (v.cwd !== undefined && (typeof v.cwd !== 'string' || v.cwd.length > MAX_CWD_CHARS || !v.cwd || /[\u0000-\u001f\u007f]/.test(v.cwd))) return bad('cwd must be a directory path');
  return { v: PROTOCOL_VERSION, secret: v.secret, app: v.app as string | undefined, minValidSeconds: min, ...(typeof v.cwd === 'string' ? { cwd: v.cwd } : {}) };
}

/** Reads one answer line; anything that is not the protocol becomes an `Error`. */
export function parseAnswer(line: string): HelperAnswer {
  if (line.length > MAX_ANSWER_BYTES) throw new Error('answer too long');
  const v: unknown = JSON.parse(line);
  if (!isRecord(v)) throw new Error('answer is not an object');
  if (v.ok === true) {
    if (typeof v.token !== 'string' || !v.token || /\s/.test(v.token)) throw new Error('answer has no token');
    if (typeof v.clientId !== 'string') throw new Error('answer has no client ID');
    if (v.expiresAt !== undefined && typeof v.expiresAt !== 'number') throw new Error('answer has a bad expiry');
    if (v.app !== undefined && typeof v.app !== 'string') throw new Error('answer has a bad app name');
    return { ok: true, token: v.token, expiresAt: v.expiresAt as number | undefined, app: v.app as string | undefined, clientId: v.clientId };
  }
  const refusals: HelperRefusal[] = ['sign-in', 'paused', 'unavailable', 'bad-request', 'denied', 'declined'];
  if (v.ok === false && refusals.includes(v.refusal as HelperRefusal) && typeof v.message === 'string') {
    return { ok: false, refusal: v.refusal as HelperRefusal, message: v.message.slice(0, 1000) };
  }
  throw new Error('answer is not the keap-token protocol');
}

/** The part of a token set the hand-out decisions read (src/session/tokenSet TokenSet). */
export interface HandOutTokenView {
  readonly accessTokenExpiresAt: number | undefined;
  readonly refreshTokenRejectedAt?: number;
}

/**
 * Whether the extension must refresh before answering: the expiry is unknown, or less than
 * `minValidMs` (ms) is left at `nowMs` (epoch ms).
 */
export function mustRefreshFirst(set: HandOutTokenView, nowMs: number, minValidMs: number): boolean {
  if (set.accessTokenExpiresAt === undefined) return true;
  return set.accessTokenExpiresAt - nowMs < Math.max(minValidMs, MIN_USABLE_MS);
}

/**
 * Whether a token may be handed out at all: at least {@link MIN_USABLE_MS} left. A token whose
 * expiry Keap did not give is handed out (Keap gives `expires_in` on every answer seen so far,
 * keap-oauth.md; the only way to know is to use it).
 */
export function usable(set: HandOutTokenView, nowMs: number): boolean {
  if (set.refreshTokenRejectedAt !== undefined && set.accessTokenExpiresAt === undefined) return false;
  return set.accessTokenExpiresAt === undefined || set.accessTokenExpiresAt - nowMs >= MIN_USABLE_MS;
}

/** The part of a token set that selecting an app reads. */
export interface SelectableAccount {
  readonly key: string;
  readonly appName: string | undefined;
  readonly clientId: string;
}

/**
 * Which account a selector names: the account key exactly, else the app name, else the client ID
 * (case-insensitive for app names, Keap's are lower-case). Absent selector: the active account.
 * @returns the key, or `undefined` (none), or `'ambiguous'` when the selector names several.
 */
export function selectAccount(accounts: readonly SelectableAccount[], selector: string | undefined, activeKey: string | undefined): string | 'ambiguous' | undefined {
  if (selector === undefined) return activeKey ?? (accounts.length === 1 ? accounts[0].key : undefined);
  const exact = accounts.find(a => a.key === selector);
  if (exact) return exact.key;
  for (const match of [(a: SelectableAccount) => a.appName?.toLowerCase() === selector.toLowerCase(), (a: SelectableAccount) => a.clientId === selector]) {
    const found = accounts.filter(match);
    if (found.length === 1) return found[0].key;
    if (found.length > 1) return found.some(a => a.key === activeKey) ? activeKey : 'ambiguous';
  }
  return undefined;
}

/** What `keap-token` prints on stdout. */
export type OutputFormat = 'token' | 'json' | 'header';

/** The `--json` output: fixed names a script can read. */
export interface JsonOutput {
  readonly token: string;
  /** ISO 8601 UTC, or null when Keap gave no expiry. */
  readonly expires_at: string | null;
  /** Epoch seconds, or null. */
  readonly expires_at_epoch: number | null;
  readonly app: string | null;
  readonly client_id: string;
}

/** stdout for a successful answer, newline-terminated. */
export function formatOutput(answer: Extract<HelperAnswer, { ok: true }>, format: OutputFormat): string {
  switch (format) {
    case 'token':
      return `${answer.token}\n`;
    case 'header':
      return `Authorization: Bearer ${answer.token}\n`;
    case 'json': {
      const out: JsonOutput = {
        token: answer.token,
        expires_at: answer.expiresAt === undefined ? null : new Date(answer.expiresAt).toISOString(),
        expires_at_epoch: answer.expiresAt === undefined ? null : Math.floor(answer.expiresAt / 1000),
        app: answer.app ?? null,
        client_id: answer.clientId,
      };
      return `${JSON.stringify(out)}\n`;
    }
  }
}

export interface CliOptions {
  readonly app?: string;
  readonly minValidSeconds: number;
  readonly format: OutputFormat;
  readonly help: boolean;
}

/**
 * Reads `keap-token`'s arguments: `--app <name>` (or `--app=<name>`), `--min-valid <seconds>`,
 * `--json`, `--header`, `--help`/`-h`. Returns the options or a usage error message.
 */
export function parseCliArgs(argv: readonly string[]): CliOptions | { readonly usageError: string } {
  let app: string | undefined;
  let minValidSeconds = DEFAULT_MIN_VALID_SECONDS;
  let format: OutputFormat = 'token';
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    const value = () => {
      if (eq > 0) return raw.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) return undefined;
      i++;
      return next;
    };
    switch (name) {
      case '--help':
      case '-h':
        help = true;
        break;
      case '--json':
      case '--header': {
        if (eq > 0) return { usageError: `${name} takes no value` };
        const f = name === '--json' ? 'json' : 'header';
        if (format !== 'token' && format !== f) return { usageError: '--json and --header cannot be used together' };
        format = f;
        break;
      }
      case '--app': {
        const v = value();
        if (v === undefined || !SELECTOR.test(v)) return { usageError: '--app needs a Keap app name, client ID or account key' };
        app = v;
        break;
      }
      case '--min-valid': {
        const v = value();
        if (v === undefined || !/^\d{1,6}$/.test(v) || Number(v) > MAX_MIN_VALID_SECONDS) return { usageError: `--min-valid needs whole seconds from 0 to ${MAX_MIN_VALID_SECONDS}` };
        minValidSeconds = Number(v);
        break;
      }
      default:
        return { usageError: `unknown option ${raw.slice(0, 40)}` };
    }
  }
  return { app, minValidSeconds, format, help };
}

/** `keap-token --help`. */
export const USAGE = `Usage: keap-token [--app <name>] [--min-valid <seconds>] [--json | --header]

Prints a valid Keap access token of the app signed in to in VS Code (the Infusionsoft
extension), asking the running VS Code window; it never refreshes on its own.

  --app <name>           the Keap app name (ab123), client ID or account key; default: the active app
  --min-valid <seconds>  have VS Code refresh first when less is left (default ${DEFAULT_MIN_VALID_SECONDS}, at most ${MAX_MIN_VALID_SECONDS})
  --json                 {"token","expires_at","expires_at_epoch","app","client_id"}
  --header               Authorization: Bearer <token>
  -h, --help             this text

Exit codes: ${EXIT.ok} ok; ${EXIT.error} unexpected error; ${EXIT.usage} usage; ${EXIT.notRunning} no VS Code window with the token helper
on (setting infusionsoft.tokenHelper.enabled, trusted workspace); ${EXIT.signIn} sign-in needed; ${EXIT.paused} automatic refresh
paused or Keap refused (act in VS Code); ${EXIT.unavailable} Keap unreachable and the token expiring (try later);
${EXIT.declined} the app is marked production and VS Code's question for this folder was declined or not answered.
Messages go to stderr; only the token goes to stdout.
`;
