import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/core/config/validate.js';
import { fileReaderAt } from '../../src/io/files.js';
import { type LocalPlatform, startLocalPlatform } from '../../src/local/platform.js';
import { EventLog, keygen, publicKey, runSftp } from '../helpers/sftp.js';

/**
 * `local up` decides logins with the identity core over the records `identityRecordsFor` derives from the config,
 * as the AWS identity function does: loopback is not exempt here, so 127.0.0.x addresses play partners' public IPs.
 *   127.0.0.2  bank's address        127.0.0.5  carrier's address
 * Both are inside the server's union of CIDRs, so the connection is taken and the per-user rule is what refuses.
 */

let root: string;
let platform: LocalPlatform;
const events = new EventLog();
const keys: Record<'bankOld' | 'bankNew' | 'carrier', string> = { bankOld: '', bankNew: '', carrier: '' };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftpctl-identity-local-'));
  await mkdir(join(root, 'keys'));
  for (const name of ['bankOld', 'bankNew', 'carrier'] as const) keys[name] = await keygen(join(root, 'keys'), name);
  const old = await publicKey(keys.bankOld);
  const text = `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: { identity: { mode: lambda } } }
clients:
  - name: bank
    allowedIps: [127.0.0.2/32]
    upload:
      sshKeys: [keys/bankOld.pub, keys/bankNew.pub]
      rotation: { since: "2026-01-01T00:00:00Z", until: "2026-01-08T00:00:00Z", retiring: ["${old.fingerprint}"] }
  - name: carrier
    allowedIps: [127.0.0.5/32]
    upload:
      sshKeys: [keys/carrier.pub]
    download:
      sshKeys: [keys/carrier.pub]
      enabled: false
`;
  await writeFile(join(root, 'sftpctl.yaml'), text);
  const { config, errors } = await validateConfigText(text, 'sftpctl.yaml', { files: fileReaderAt(root) });
  if (!config) throw new Error(JSON.stringify(errors));
  platform = await startLocalPlatform({
    config,
    configDir: root,
    env: 'dev',
    host: '127.0.0.1',
    port: 0,
    dataDir: join(root, 'data'),
    allowLoopback: false,
    log: events.log,
    passphrase: async () => '',
  });
}, 60_000);

afterAll(async () => {
  await platform?.stop(0);
  if (root) await rm(root, { recursive: true, force: true });
});

const login = (user: string, key: string, bind: string) =>
  runSftp({ port: platform.port, user, key, commands: ['pwd'], cwd: root, bind });

describe('local up: logins decided by the identity core', () => {
  it("a partner's key from its own address logs in; from another partner's address it is refused", async () => {
    expect((await login('carrier-upload', keys.carrier, '127.0.0.5')).code).toBe(0);
    expect(events.of('auth-ok', { user: 'carrier-upload', ip: '127.0.0.5' })).toHaveLength(1);

    expect((await login('carrier-upload', keys.carrier, '127.0.0.2')).code).not.toBe(0);
    await events.waitFor('auth-failed', { user: 'carrier-upload', ip: '127.0.0.2', reason: 'ip-not-allowed' });
    expect(events.of('auth-ok', { user: 'carrier-upload', ip: '127.0.0.2' })).toEqual([]);
  });

  it('a rotation past its end: the new key logs in, the retiring one has expired (as in the AWS user table)', async () => {
    expect((await login('bank-upload', keys.bankNew, '127.0.0.2')).code).toBe(0);
    expect((await login('bank-upload', keys.bankOld, '127.0.0.2')).code).not.toBe(0);
    await events.waitFor('auth-failed', { user: 'bank-upload', ip: '127.0.0.2', reason: 'key-not-accepted' });
  });

  it('a disabled user (enabled: false) is refused with its right key from its own address', async () => {
    expect((await login('carrier-download', keys.carrier, '127.0.0.5')).code).not.toBe(0);
    await events.waitFor('auth-failed', { user: 'carrier-download', ip: '127.0.0.5', reason: 'disabled' });
    expect(events.of('auth-ok', { user: 'carrier-download' })).toEqual([]);
  });

  it('an unknown user and a foreign address outside every CIDR are refused', async () => {
    expect((await login('ghost-upload', keys.carrier, '127.0.0.5')).code).not.toBe(0);
    await events.waitFor('auth-failed', { user: 'ghost-upload', reason: 'unknown-user' });
    expect((await login('carrier-upload', keys.carrier, '127.0.0.9')).code).not.toBe(0);
    await events.waitFor('connection-refused', { ip: '127.0.0.9', reason: 'ip-not-allowed' });
  });
});
