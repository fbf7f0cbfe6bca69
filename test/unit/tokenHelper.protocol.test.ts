import assert from 'node:assert/strict';
import {
  commandMinValidSeconds,
  DEFAULT_MIN_VALID_SECONDS,
  EXIT,
  exitCodeOf,
  formatOutput,
  MAX_MIN_VALID_SECONDS,
  mustRefreshFirst,
  parseAnswer,
  parseCliArgs,
  parseRequest,
  selectAccount,
  usable,
} from '../../src/tokenHelper/protocol';

const SECRET = 'ab'.repeat(24);

describe('token helper protocol (issue 18): requests, answers, exit codes, when to refresh first', () => {
  it("the command's minValidSeconds holds to what --min-valid accepts: whole seconds, 0 to 12 h; anything else is refused, never read as the default", () => {
    assert.equal(commandMinValidSeconds(undefined), undefined);
    assert.equal(commandMinValidSeconds(null), undefined);
    assert.equal(commandMinValidSeconds(0), 0);
    assert.equal(commandMinValidSeconds(600), 600);
    assert.equal(commandMinValidSeconds('600'), 600);
    assert.equal(commandMinValidSeconds(MAX_MIN_VALID_SECONDS), MAX_MIN_VALID_SECONDS);
    for (const bad of ['lots', '', '-5', '1e3', -5, 1.5, NaN, Infinity, MAX_MIN_VALID_SECONDS + 1, '99999999', true, {}, []]) {
      assert.equal(commandMinValidSeconds(bad), 'invalid', JSON.stringify(bad));
    }
  });

  it('reads a well-formed request and refuses bad ones without echoing the secret', () => {
    assert.deepEqual(parseRequest(JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 300 })), { v: 1, secret: SECRET, app: undefined, minValidSeconds: 300 });
    assert.deepEqual(parseRequest(JSON.stringify({ v: 1, secret: SECRET, app: 'ab123', minValidSeconds: 0 })), { v: 1, secret: SECRET, app: 'ab123', minValidSeconds: 0 });
    // The caller's working directory: which folder the production question is about.
    assert.deepEqual(parseRequest(JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 0, cwd: '/home/me/proj' })), { v: 1, secret: SECRET, app: undefined, minValidSeconds: 0, cwd: '/home/me/proj' });
    const bad = [
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, cwd: '' }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, cwd: 5 }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, cwd: '/a\n/b' }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, cwd: '/' + 'd'.repeat(1024) }),
      'not json',
      '[]',
      JSON.stringify({ v: 2, secret: SECRET, minValidSeconds: 1 }),
      JSON.stringify({ v: 1, minValidSeconds: 1 }),
      JSON.stringify({ v: 1, secret: 'ZZ', minValidSeconds: 1 }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: -1 }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1.5 }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: MAX_MIN_VALID_SECONDS + 1 }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, app: 'a\nb' }),
      JSON.stringify({ v: 1, secret: SECRET, minValidSeconds: 1, app: 7 }),
      'x'.repeat(5000),
    ];
    for (const line of bad) {
      const r = parseRequest(line);
      assert.ok('ok' in r && r.refusal === 'bad-request', line.slice(0, 40));
      assert.ok(!('message' in r) || !r.message.includes(SECRET));
    }
  });

  it('reads answers and rejects anything that is not the protocol', () => {
    assert.deepEqual(parseAnswer('{"ok":true,"token":"t1","expiresAt":5,"app":"ab123","clientId":"c"}'), { ok: true, token: 't1', expiresAt: 5, app: 'ab123', clientId: 'c' });
    assert.deepEqual(parseAnswer('{"ok":false,"refusal":"paused","message":"m"}'), { ok: false, refusal: 'paused', message: 'm' });
    for (const bad of ['{"ok":true,"token":"","clientId":"c"}', '{"ok":true,"token":"a b","clientId":"c"}', '{"ok":false,"refusal":"maybe","message":"m"}', '1', '{"ok":true,"token":"t","clientId":"c","expiresAt":"soon"}']) {
      assert.throws(() => parseAnswer(bad), Error, bad);
    }
  });

  it('maps every refusal to its documented exit code', () => {
    assert.equal(exitCodeOf({ ok: true, token: 't', expiresAt: 1, app: 'a', clientId: 'c' }), EXIT.ok);
    assert.equal(exitCodeOf({ ok: false, refusal: 'sign-in', message: '' }), EXIT.signIn);
    assert.equal(exitCodeOf({ ok: false, refusal: 'paused', message: '' }), EXIT.paused);
    assert.equal(exitCodeOf({ ok: false, refusal: 'unavailable', message: '' }), EXIT.unavailable);
    assert.equal(exitCodeOf({ ok: false, refusal: 'bad-request', message: '' }), EXIT.usage);
    assert.equal(exitCodeOf({ ok: false, refusal: 'declined', message: '' }), EXIT.declined);
    assert.deepEqual([EXIT.ok, EXIT.error, EXIT.usage, EXIT.notRunning, EXIT.signIn, EXIT.paused, EXIT.unavailable, EXIT.declined], [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(parseAnswer('{"ok":false,"refusal":"declined","message":"m"}'), { ok: false, refusal: 'declined', message: 'm' });
  });

  it('refreshes first when less than min-valid (and never less than 30 s) is left, or the expiry is unknown', () => {
    const now = 1_000_000;
    assert.equal(mustRefreshFirst({ accessTokenExpiresAt: now + 301_000 }, now, 300_000), false);
    assert.equal(mustRefreshFirst({ accessTokenExpiresAt: now + 299_000 }, now, 300_000), true);
    assert.equal(mustRefreshFirst({ accessTokenExpiresAt: now + 29_000 }, now, 0), true, 'a token about to expire is refreshed even with --min-valid 0');
    assert.equal(mustRefreshFirst({ accessTokenExpiresAt: now + 31_000 }, now, 0), false);
    assert.equal(mustRefreshFirst({ accessTokenExpiresAt: undefined }, now, 0), true);
    assert.equal(usable({ accessTokenExpiresAt: now + 31_000 }, now), true);
    assert.equal(usable({ accessTokenExpiresAt: now + 29_000 }, now), false);
    assert.equal(usable({ accessTokenExpiresAt: now - 1 }, now), false, 'never an expired token');
  });

  it('selects an account by key, app name (any case) or client ID; the active one without a selector', () => {
    const accounts = [
      { key: 'c1|ab123', appName: 'ab123', clientId: 'c1' },
      { key: 'c1|zz999', appName: 'zz999', clientId: 'c1' },
      { key: 'c2|qq111', appName: 'qq111', clientId: 'c2' },
    ];
    assert.equal(selectAccount(accounts, undefined, 'c2|qq111'), 'c2|qq111');
    assert.equal(selectAccount(accounts, undefined, undefined), undefined);
    assert.equal(selectAccount([accounts[0]], undefined, undefined), 'c1|ab123');
    assert.equal(selectAccount(accounts, 'c1|zz999', undefined), 'c1|zz999');
    assert.equal(selectAccount(accounts, 'AB123', undefined), 'c1|ab123');
    assert.equal(selectAccount(accounts, 'c2', undefined), 'c2|qq111');
    assert.equal(selectAccount(accounts, 'c1', undefined), 'ambiguous');
    assert.equal(selectAccount(accounts, 'c1', 'c1|zz999'), 'c1|zz999', 'the active one settles a tie');
    assert.equal(selectAccount(accounts, 'nope', 'c1|ab123'), undefined);
  });

  it('parses the CLI options and says what is wrong', () => {
    assert.deepEqual(parseCliArgs([]), { app: undefined, minValidSeconds: DEFAULT_MIN_VALID_SECONDS, format: 'token', help: false });
    assert.deepEqual(parseCliArgs(['--app', 'ab123', '--min-valid', '600', '--json']), { app: 'ab123', minValidSeconds: 600, format: 'json', help: false });
    assert.deepEqual(parseCliArgs(['--app=ab123', '--min-valid=0', '--header']), { app: 'ab123', minValidSeconds: 0, format: 'header', help: false });
    assert.equal((parseCliArgs(['-h']) as { help: boolean }).help, true);
    for (const bad of [['--app'], ['--min-valid', 'x'], ['--min-valid', '-5'], ['--min-valid', String(MAX_MIN_VALID_SECONDS + 1)], ['--json', '--header'], ['--nope'], ['token'], ['--json=1']]) {
      assert.ok('usageError' in parseCliArgs(bad), bad.join(' '));
    }
  });

  it('prints the token alone, as a header, or as JSON with ISO 8601 and epoch seconds', () => {
    const a = { ok: true as const, token: 'tok', expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5, 678), app: 'ab123', clientId: 'cid' };
    assert.equal(formatOutput(a, 'token'), 'tok\n');
    assert.equal(formatOutput(a, 'header'), 'Authorization: Bearer tok\n');
    assert.deepEqual(JSON.parse(formatOutput(a, 'json')), { token: 'tok', expires_at: '2030-01-02T03:04:05.678Z', expires_at_epoch: Math.floor(a.expiresAt / 1000), app: 'ab123', client_id: 'cid' });
    assert.deepEqual(JSON.parse(formatOutput({ ...a, expiresAt: undefined, app: undefined }, 'json')), { token: 'tok', expires_at: null, expires_at_epoch: null, app: null, client_id: 'cid' });
  });
});
