import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { recordToItem } from '../../src/aws/identity-store.js';
import { generateSshKeyPair, type SshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import type { IdentityRecord } from '../../src/core/identity/record.js';
import { gatherStatus } from '../../src/deploy/status.js';
import { validateYaml } from '../helpers/config.js';
import { startFakeDynamoDb } from '../helpers/fake-dynamodb.js';
import { ACCOUNT, DAY, deploy as deployWorld, fakeWorld, NOW, type World } from '../helpers/status-world.js';

// `status` in lambda identity mode reads users and keys from the user table (one scan), not Transfer.

const TABLE = 'acme-prod-identity';
let keys: Record<'bank' | 'stranger' | 'fresh', SshKeyPair>;
let dynamo: Awaited<ReturnType<typeof startFakeDynamoDb>>;
let world: World;
const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;

beforeAll(async () => {
  keys = {
    bank: await generateSshKeyPair({ type: 'ed25519' }),
    stranger: await generateSshKeyPair({ type: 'ed25519' }),
    fresh: await generateSshKeyPair({ type: 'ed25519' }),
  };
  dynamo = await startFakeDynamoDb({ table: TABLE });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
  await dynamo.stop();
});
beforeEach(() => {
  world = fakeWorld();
  dynamo.items.clear();
  dynamo.calls.length = 0;
});
afterEach(() => world.restore());

const bare = (pair: SshKeyPair) => pair.info.text.split(' ').slice(0, 2).join(' ');

async function load(rotation = '') {
  const result = await validateYaml(
    `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod:
    account: "${ACCOUNT}"
    identity: { mode: lambda }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: [${JSON.stringify(keys.bank.info.text)}${rotation ? `, ${JSON.stringify(keys.fresh.info.text)}` : ''}]
${rotation}`,
    {},
  );
  expect(result.errors).toEqual([]);
  return { config: result.config!, keys: result.keys! };
}

function item(over: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    userName: 'bank-upload',
    client: 'bank',
    role: 'upload',
    enabled: true,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/acme-prod-client-bank-UploadUserRole-X`,
    homeDirectoryMappings: [{ entry: '/', target: '/acme-prod-bank-upload' }],
    sshKeys: [{ publicKey: bare(keys.bank) }],
    allowedCidrs: ['203.0.113.0/24'],
    allowAnyIp: false,
    ...over,
  };
}

const gather = async (loaded: Awaited<ReturnType<typeof load>>) =>
  gatherStatus({
    config: loaded.config,
    keys: loaded.keys,
    env: 'prod',
    clients: new AwsClients({ region: 'eu-west-2', profile: undefined }),
    now: NOW,
  });

describe('status in lambda identity mode', () => {
  it('a table matching the config: the user and its key fingerprint, no problems, no Transfer user calls', async () => {
    const loaded = await load();
    deployWorld(world, loaded.config);
    dynamo.items.set('bank-upload', recordToItem(item()));
    const report = await gather(loaded);
    expect(report.problems).toEqual([]);
    expect(report.users).toEqual([
      {
        client: 'bank',
        role: 'upload',
        userName: 'bank-upload',
        expected: 1,
        keys: [{ fingerprint: keys.bank.info.fingerprint, ageDays: null, importedAt: null, inConfig: true }],
      },
    ]);
    expect(world.calls().filter((call) => call === 'DescribeUser')).toEqual([]);
    expect(dynamo.calls.map((call) => call.operation)).toEqual(['Scan']);
  });

  it('drift: a foreign key, other CIDRs, a disabled item, a user not in the config, a missing user', async () => {
    const loaded = await load();
    deployWorld(world, loaded.config);
    dynamo.items.set(
      'bank-upload',
      recordToItem(
        item({ sshKeys: [{ publicKey: bare(keys.stranger) }], allowedCidrs: ['0.0.0.0/0'], enabled: false }),
      ),
    );
    dynamo.items.set('gone-upload', recordToItem(item({ userName: 'gone-upload', client: 'gone' })));
    const report = await gather(loaded);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        `user bank-upload has a key not in the config: ${keys.stranger.info.fingerprint}`,
        `config key ${keys.bank.info.fingerprint} of bank-upload is not in ${TABLE} (run sftpctl deploy)`,
        `user bank-upload in ${TABLE} differs from the config (enabled, allowed addresses): run sftpctl deploy`,
        `user gone-upload in ${TABLE} is not in the config and can still log in: run sftpctl deploy to remove it`,
      ]),
    );
    dynamo.items.clear();
    expect((await gather(loaded)).problems).toContain(
      `user bank-upload (bank upload) does not exist in ${TABLE}: run sftpctl deploy`,
    );
  });

  it('a rotation past its grace: the retiring key shows its expiry, and the problem says it no longer logs in', async () => {
    const until = new Date(NOW.getTime() - DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const loaded = await load(
      `      rotation:\n        since: "2026-11-01T00:00:00Z"\n        until: "${until}"\n        retiring: ["${keys.bank.info.fingerprint}"]\n`,
    );
    deployWorld(world, loaded.config);
    dynamo.items.set(
      'bank-upload',
      recordToItem(
        item({ sshKeys: [{ publicKey: bare(keys.bank), expiresAt: until }, { publicKey: bare(keys.fresh) }] }),
      ),
    );
    const report = await gather(loaded);
    const user = report.users[0]!;
    expect(user.keys).toEqual([
      expect.objectContaining({ fingerprint: keys.bank.info.fingerprint, retiring: true, expiresAt: until }),
      expect.objectContaining({ fingerprint: keys.fresh.info.fingerprint }),
    ]);
    expect(report.problems).toEqual([
      `the key rotation of bank-upload ended on ${until.slice(0, 10)}: the retiring key no longer logs in; tidy up with sftpctl keys rotate bank --ssh upload --finish`,
    ]);
  });
});
