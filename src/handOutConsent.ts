/**
 * Consent before a command hands a credential to whoever ran it (issue 17.7). Any installed
 * extension can run `infusionsoft.accessToken` or `infusionsoft.apiKey`, and VS Code's
 * authentication consent covers `getSession`, not commands; a launch or task's `${command:…}`
 * cannot be told apart from another extension's call. So, as installed, the user is asked once
 * per window and credential; a decline is not remembered (the next launch asks again). Pure: the
 * question itself is handed in.
 */
export class HandOutConsent {
  private readonly allowed = new Set<string>();

  /**
   * @param guarded true when the extension runs as installed (ExtensionMode.Production); false under tests and development, where nothing is asked.
   * @param ask puts the question for `label` to the user; resolves true for yes. Its rejection is passed on (nothing handed out).
   */
  constructor(
    private readonly guarded: () => boolean,
    private readonly ask: (label: string) => Promise<boolean>,
  ) {}

  /**
   * Whether the credential `credential` (a stable key: an account key, an API key id) may be
   * handed out now. Resolves true at once when not guarded or already allowed in this window.
   */
  async allow(credential: string, label: string): Promise<boolean> {
    if (!this.guarded() || this.allowed.has(credential)) return true;
    if (!(await this.ask(label))) return false;
    this.allowed.add(credential);
    return true;
  }
}
