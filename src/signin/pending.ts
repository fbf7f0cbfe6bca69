import { randomBytes } from 'crypto';

/**
 * Sign-ins that wait for Keap's answer. They are shared by every window (the callback may land
 * in another one, case V2), keyed by `state`, and remember the exact redirect URI sent (case K6).
 * Pure list operations; the VS Code layer stores the list.
 */
export interface PendingSignIn {
  /** The full `state` sent to Keap. */
  readonly state: string;
  /** Byte-for-byte the `redirect_uri` sent to the authorize page. */
  readonly redirectUri: string;
  readonly clientId: string;
  /**
   * The token endpoint paired with the authorize page this sign-in opened (user settings at its
   * start). The code is exchanged there and the token set remembers it; a settings change while
   * the browser is open cannot redirect the code and the client secret elsewhere.
   */
  readonly tokenUrl?: string;
  /** Which flow was chosen (relay, loopback, paste). */
  readonly flow: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms after which the callback is refused. */
  readonly expiresAt: number;
}

/** 256 random bits, base64url: well above the 128 bits RFC 6749 §10.10 asks to make `state` unguessable. */
export function newStateNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** Drops expired entries. */
export function prunePending(list: readonly PendingSignIn[], nowMs: number): PendingSignIn[] {
  return list.filter(p => p.expiresAt > nowMs);
}

export type PendingMatch =
  | { readonly kind: 'found'; readonly pending: PendingSignIn }
  | { readonly kind: 'expired'; readonly pending: PendingSignIn }
  | { readonly kind: 'unknown' };

/**
 * Finds the pending sign-in a callback belongs to. With a `state`, only an exact match counts.
 * Without one (a pasted bare code, or Keap's denial with an empty state, pasted), the single live
 * pending sign-in is taken if there is exactly one. Callers must use this stateless match only for
 * what the user typed: SignInService.handle refuses stateless answers from the URI handler and the
 * loopback listener before it gets here (cases S2, S3).
 */
export function matchPending(list: readonly PendingSignIn[], state: string | undefined, nowMs: number): PendingMatch {
  if (state !== undefined) {
    const p = list.find(x => x.state === state);
    if (!p) return { kind: 'unknown' };
    return p.expiresAt > nowMs ? { kind: 'found', pending: p } : { kind: 'expired', pending: p };
  }
  const live = list.filter(x => x.expiresAt > nowMs);
  return live.length === 1 ? { kind: 'found', pending: live[0] } : { kind: 'unknown' };
}
