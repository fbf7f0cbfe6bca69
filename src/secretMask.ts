/**
 * Masks secrets in text before it is shown or kept (issue 17.6, case S12). Pure, no `vscode`.
 *
 * Two nets, both applied by {@link SecretMask.mask}:
 * - every value registered with {@link SecretMask.add} (each token the moment it arrives, the
 *   client secret, an authorization code) becomes `***` wherever it appears;
 * - {@link maskCredentialEchoes}: whatever follows a credential's name in a form, a query, JSON or
 *   an `Authorization` header, so an error page that echoes the request
 *   (`grant_type=refresh_token&refresh_token=…`) shows no token even one never registered.
 */

/** Names whose value is a credential in OAuth forms and answers (RFC 6749 §4.1.3, §5.1, §6). */
const CREDENTIAL_NAMES = 'refresh_token|access_token|id_token|client_secret|password|api_key|apikey';

/** `name=value` (form or query), `"name": "value"` (JSON), `name: value` (YAML or a header). Exported for tests. */
export const ECHO_PATTERNS: readonly RegExp[] = [
  // `code=` too in a form or query (an authorization code); not in JSON, where Keap's quota answer has `"code":"429"`.
  new RegExp(`((?:^|[^A-Za-z0-9_])(?:${CREDENTIAL_NAMES}|code)=)[^&\\s"'<>]+`, 'gi'),
  new RegExp(`((?:^|[^A-Za-z0-9_])["']?(?:${CREDENTIAL_NAMES})["']?\\s*:\\s*["'])[^"']+`, 'gi'),
  /((?:authorization|x-keap-api-key)\s*[:=]\s*(?:bearer\s+|basic\s+)?)[^\s"',;&]+/gi,
  /(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
];

/**
 * Words at least one of which every match of {@link ECHO_PATTERNS} contains (lower case): text
 * without any is returned as it is, before a pattern runs (most log lines; the patterns are compiled
 * at their first use, which activation then never pays).
 */
const ECHO_WORDS: readonly string[] = ['token', 'secret', 'password', 'api_key', 'apikey', 'api-key', 'code=', 'authorization', 'bearer'];

/** `text` with every value after a credential's name replaced by `***`. Never throws. */
export function maskCredentialEchoes(text: string): string {
  const lower = text.toLowerCase();
  if (!ECHO_WORDS.some(w => lower.includes(w))) return text;
  let out = text;
  for (const p of ECHO_PATTERNS) out = out.replace(p, '$1***');
  return out;
}

/** Values shorter than this are not registered (they would mask ordinary words). */
export const MIN_SECRET_LENGTH = 6;

/** The secrets seen in this process, and the masking of text with them. */
export class SecretMask {
  private readonly values = new Set<string>();

  /** Registers a value that must never be shown. Values under {@link MIN_SECRET_LENGTH} characters, and undefined, are ignored. */
  add(value: string | undefined): void {
    if (value && value.length >= MIN_SECRET_LENGTH) this.values.add(value);
  }

  /** Whether `value` was registered (for tests). */
  has(value: string): boolean {
    return this.values.has(value);
  }

  /** `text` with every registered value, and every credential echo, replaced by `***`. */
  mask(text: string): string {
    let m = text;
    for (const s of this.values) if (m.includes(s)) m = m.split(s).join('***');
    return maskCredentialEchoes(m);
  }
}

/**
 * This process's secrets: the extension's redacting logger registers into it, and notifications and
 * tooltips of error text are masked with it (src/vscode/shownText), so every place sees every token.
 */
export const PROCESS_SECRETS = new SecretMask();
