/**
 * What a command does with arguments it did not get from the user's own click (issue 17.7).
 * Any extension can run `vscode.commands.executeCommand('infusionsoft.…', args)`; a command that
 * would copy a refresh token, write tokens into a file, store a client secret or complete a
 * sign-in must not do so for another extension unseen. Pure; the decisions are listed in SECURITY.md.
 *
 * - `as-given`: the argument is used as it is (the host tests and a developer's own build, where
 *   VS Code runs the extension in Development or Test mode);
 * - `prefill`: the argument only fills the input box; the user reads it and confirms with Enter;
 * - `confirm`: a modal question names what will happen; nothing happens without the user's yes;
 * - `ignore`: the argument is dropped and the command asks as if none were given.
 */
export type ArgumentUse = 'as-given' | 'prefill' | 'confirm' | 'ignore';

/** The arguments that carry weight, by command and argument. */
export type GuardedArgument =
  /** Copy Refresh Token (with an account, or none: any call copies a token another extension could read back). */
  | 'copyRefreshToken'
  /** Insert Token into .env's `target` file path. */
  | 'insertIntoEnv.target'
  /** Set Client Credentials' `clientId`. */
  | 'setClientCredentials.clientId'
  /** Set Client Credentials' `clientSecret`. */
  | 'setClientCredentials.clientSecret'
  /** Paste Callback URL's `value` (an address with a code). */
  | 'pasteCallbackUrl.value';

/**
 * How `argument` is used when the extension runs as installed (`production`, VS Code's
 * ExtensionMode.Production) or under tests and development (`production` false: `as-given`).
 */
export function argumentUse(argument: GuardedArgument, production: boolean): ArgumentUse {
  if (!production) return 'as-given';
  switch (argument) {
    case 'copyRefreshToken':
    case 'insertIntoEnv.target':
      return 'confirm';
    case 'setClientCredentials.clientId':
    case 'pasteCallbackUrl.value':
      return 'prefill';
    case 'setClientCredentials.clientSecret':
      // A secret no one typed would be stored unseen and later sent to Keap: never taken from a caller.
      return 'ignore';
  }
}
