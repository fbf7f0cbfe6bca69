import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { upsertEnv } from '../../src/dotenv/envFile';
import { PUBLIC_PREFIXES, refusedVariableNames, refuseVariableName } from '../../src/dotenv/variableNames';
import { ENV_PRESETS } from '../../src/dotenv/variables';

/** Issue 17.7: names a workspace chooses for tokens are neither published by a front-end build nor run by a shell. */
describe('token variable names (issue 17.7)', () => {
    it('refuses every prefix front-end builds publish, in any case', () => {
        for (const prefix of ['NEXT_PUBLIC_', 'VITE_', 'REACT_APP_', 'PUBLIC_', 'EXPO_PUBLIC_', 'GATSBY_', 'NUXT_PUBLIC_']) {
            assert.ok(PUBLIC_PREFIXES.includes(prefix));
            assert.deepEqual(refuseVariableName(`${prefix}KEAP_ACCESS_TOKEN`), { kind: 'public-prefix', prefix });
            assert.deepEqual(refuseVariableName(`${prefix.toLowerCase()}keap_token`), { kind: 'public-prefix', prefix });
        }
    });

    it('refuses names a shell cannot assign: a dash, a dot, a leading digit, a space, empty', () => {
        for (const name of ['keap-access-token', 'keap.token', '1KEAP', 'KEAP TOKEN', '', 'KEAP=X', 'KÄP']) {
            assert.deepEqual(refuseVariableName(name), { kind: 'not-a-shell-name' }, name);
        }
    });

    it('accepts the presets and ordinary names (a public word inside a name is fine)', () => {
        for (const preset of Object.values(ENV_PRESETS)) assert.deepEqual(refusedVariableNames({ ...preset }), []);
        for (const name of ['_KEAP', 'MY_VITE_TOKEN', 'PUBLICKEY_TOKEN', 'keap_access_token', 'A1']) assert.equal(refuseVariableName(name), undefined, name);
    });

    it('lists each refused name of a settings object once, skipping unset ones', () => {
        assert.deepEqual(refusedVariableNames({ accessToken: 'VITE_KEAP', refreshToken: undefined, expiresAt: 'keap-exp', clientId: 'KEAP_CLIENT_ID' }), [
            { name: 'VITE_KEAP', why: { kind: 'public-prefix', prefix: 'VITE_' } },
            { name: 'keap-exp', why: { kind: 'not-a-shell-name' } },
        ]);
    });

    it('the premise: a shell runs `keap-access-token=…` as a command, while every accepted name is an assignment', function () {
        if (process.platform === 'win32') this.skip(); // the premise runs /bin/sh, which Windows (and Wine) does not have
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envnames-'));
        try {
            const file = path.join(dir, '.env');
            fs.writeFileSync(file, upsertEnv('', [['keap-access-token', 'x'], ['KEAP_OK', 'y']]).text);
            const run = () =>
                execFileSync('bash', ['-c', 'set -a; source "$1" 2>&1; printf "%s" "$KEAP_OK"', 'bash', file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir } });
            assert.match(run(), /keap-access-token=x: command not found/);
            assert.equal(refuseVariableName('keap-access-token')?.kind, 'not-a-shell-name');
            assert.equal(refuseVariableName('KEAP_OK'), undefined);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
