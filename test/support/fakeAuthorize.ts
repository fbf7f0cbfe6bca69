import { DEMO_CLIENT, FakeKeap } from '../fake-keap/server';

/**
 * An authorization code from the fake Keap server, as the browser gets it after Allow: the
 * decision form posted without following the redirect. For tests that start from a signed-in state.
 */
/**
 * @param clientId default: the demo client.
 * @param app the Keap app to pick on the page, for a user with several (default: the client's own).
 */
export async function authorizationCode(fake: FakeKeap, redirectUri: string, state = 's', clientId = DEMO_CLIENT.clientId, app?: string): Promise<string> {
  const res = await fetch(fake.authorizeUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'full', state, decision: 'allow', ...(app ? { app } : {}) }).toString(),
  });
  const code = new URL(res.headers.get('location') ?? 'x:').searchParams.get('code');
  if (!code) throw new Error(`the fake authorize page gave no code (${res.status})`);
  return code;
}
