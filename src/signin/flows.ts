/**
 * The ways a sign-in can come back to VS Code, declared as a table: where each one works and what
 * redirect URI it sends. The first that fits is used; pasting the URL always works too.
 */

/** What the running VS Code can do. */
export interface FlowEnvironment {
  /** `vscode.env.uiKind === UIKind.Desktop`. */
  readonly desktop: boolean;
  /** `vscode.env.remoteName` is set (the extension host is not on the user's machine). */
  readonly remote: boolean;
  /** The configured HTTPS relay page, or undefined. */
  readonly relayUrl: string | undefined;
}

export type FlowId = 'relay' | 'loopback' | 'paste';

export interface SignInFlow {
  readonly id: FlowId;
  /** Human words for the log and the docs. */
  readonly description: string;
  /** Whether the flow can complete on its own here. */
  worksIn(env: FlowEnvironment): boolean;
}

export const SIGN_IN_FLOWS: readonly SignInFlow[] = [
  {
    id: 'relay',
    description: 'Keap redirects to the HTTPS relay page, which forwards to this editor through its URI handler',
    worksIn: env => env.relayUrl !== undefined,
  },
  {
    id: 'loopback',
    description: 'Keap redirects to a listener on http://localhost in this extension host',
    // A listener in a remote extension host is not on the machine whose browser Keap redirects.
    worksIn: env => env.desktop && !env.remote,
  },
  {
    id: 'paste',
    description: 'the user pastes the URL the browser landed on',
    worksIn: () => true,
  },
];

/** The first flow that works in `env` ('paste' always does). */
export function pickFlow(env: FlowEnvironment, flows: readonly SignInFlow[] = SIGN_IN_FLOWS): SignInFlow {
  return flows.find(f => f.worksIn(env)) ?? flows[flows.length - 1];
}

/**
 * Redirect URI for the paste flow when no relay page is configured: a loopback address with no
 * listener. The browser shows "cannot connect" at an address that holds the code, which the user
 * pastes. Keap accepts http on localhost (keap-oauth.md).
 */
export const PASTE_ONLY_REDIRECT_URI = 'http://localhost:53682/callback';
