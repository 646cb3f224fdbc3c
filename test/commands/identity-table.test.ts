import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { itemToRecord } from '../../src/aws/identity-store.js';
import { deploy } from '../../src/commands/deploy.js';
import { diff } from '../../src/commands/diff.js';
import { keysRotate } from '../../src/commands/keys-rotate.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { parseSshPublicKey } from '../../src/core/crypto/ssh-public-key.js';
import { deployHarness } from '../helpers/deploy-harness.js';
import { useFakeDynamoDb } from '../helpers/fake-dynamodb.js';

// Lambda identity mode through the deploy harness (fake CloudFormation) and a DynamoDB-compatible endpoint reached
// by the CLI's own SDK client (AWS_ENDPOINT_URL_DYNAMODB, as an operator could point it at DynamoDB Local).

const TABLE = 'shop-dev-identity';
const dynamo = useFakeDynamoDb({ table: TABLE, pageSize: 2 });
let harness: Awaited<ReturnType<typeof deployHarness>> | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const record = (userName: string) => {
  const item = dynamo.items.get(userName);
  return item ? itemToRecord(item) : undefined;
};
const bare = (key: string) => key.split(' ').slice(0, 2).join(' ');
const fingerprint = (key: string) =>
  (parseSshPublicKey(key) as { ok: true; key: { fingerprint: string } }).key.fingerprint;

async function lambdaWorld() {
  harness = await deployHarness();
  await harness.editConfig((text) =>
    text.replace('    account: "111122223333"', '    account: "111122223333"\n    identity: { mode: lambda }'),
  );
  return harness;
}

describe('deploy in lambda identity mode', () => {
  it('writes one item per user (role ARN, logical home, keys, CIDRs) and never calls Transfer’s user API', async () => {
    const h = await lambdaWorld();
    const result = await h.run(deploy, {});
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(0);
    expect([...dynamo.items.keys()].sort()).toEqual(
      ['bank', 'carrier', 'ministry'].flatMap((client) => [`${client}-download`, `${client}-upload`]),
    );
    const bank = record('bank-upload')!;
    expect(bank).toMatchObject({
      client: 'bank',
      role: 'upload',
      enabled: true,
      homeDirectoryMappings: [{ entry: '/', target: '/shop-dev-bank-upload' }],
      sshKeys: [{ publicKey: bare(h.keys['bank-upload']!) }],
      allowedCidrs: ['203.0.113.0/29'],
      allowAnyIp: false,
    });
    // The client stack's UploadUserRoleArn output (the fake CloudFormation's stand-in value for it).
    expect(bank.roleArn).toBe('fake-UploadUserRoleArn-shop-dev-client-bank');
    expect(JSON.stringify([...dynamo.items.values()])).not.toMatch(/scrypt|PRIVATE KEY/);
    expect(h.aws.calls().filter((call) => /SshPublicKey|DescribeUser/.test(call))).toEqual([]);
    expect(result.stdout).toContain(`${TABLE}: add bank-upload`);
  });

  it('a second deploy writes nothing; a key change is one item rewritten; a removed client’s users go', async () => {
    const h = await lambdaWorld();
    expect((await h.run(deploy, {})).code).toBe(0);
    dynamo.calls.length = 0;
    expect((await h.run(deploy, {})).code).toBe(0);
    expect(dynamo.calls.filter((call) => call.operation === 'BatchWriteItem')).toEqual([]);

    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: [keys/bank/upload.pub]'));
    const changed = await h.run(deploy, { client: ['bank'] });
    expect(changed.code).toBe(0);
    expect(record('bank-download')!.sshKeys).toEqual([{ publicKey: bare(h.keys['bank-upload']!) }]);
    expect(changed.stdout).toContain(
      `update bank-download (+${fingerprint(h.keys['bank-upload']!)}, -${fingerprint(h.keys['bank-download']!)})`,
    );

    await h.editConfig((text) => text.replace(/ {2}- name: ministry[\s\S]*$/, ''));
    const removed = await h.run(deploy, {});
    expect(removed.code).toBe(0);
    expect([...dynamo.items.keys()].filter((name) => name.startsWith('ministry'))).toEqual([]);
    expect(record('carrier-upload')).toBeDefined();
  });

  it('an emptied key list keeps the item’s keys; a password secret set by `client password` survives a deploy', async () => {
    const h = await lambdaWorld();
    expect((await h.run(deploy, {})).code).toBe(0);
    dynamo.items.set('bank-upload', {
      ...dynamo.items.get('bank-upload')!,
      passwordSecret: { S: '/shop/dev/identity/passwords/bank-upload' },
    });
    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/upload.pub]', 'sshKeys: []'));
    expect((await h.run(deploy, {})).code).toBe(0);
    expect(record('bank-upload')).toMatchObject({
      sshKeys: [{ publicKey: bare(h.keys['bank-upload']!) }],
      passwordSecret: '/shop/dev/identity/passwords/bank-upload',
    });
  });

  it('a missing table fails the client stacks with what to do, exit 1', async () => {
    const h = await lambdaWorld();
    dynamo.failNext('Scan', 'ResourceNotFoundException');
    const result = await h.run(deploy, {}, { json: true });
    expect(result.code).toBe(1);
    const results = JSON.parse(result.stdout) as { stack: string; action: string; failure?: { code?: string } }[];
    expect(results.filter((entry) => entry.stack.includes('-client-')).map((entry) => entry.action)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
    expect(results.find((entry) => entry.stack === 'shop-dev-client-bank')?.failure?.code).toBe(
      'IDENTITY_TABLE_MISSING',
    );
  });
});

describe('diff in lambda identity mode', () => {
  it('before the table exists every user is an addition; after a key change, that user and its fingerprints', async () => {
    const h = await lambdaWorld();
    dynamo.failNext('Scan', 'ResourceNotFoundException');
    const first = await h.run(diff, {});
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('+ user bank-upload in the user table');
    expect(first.stdout).toContain(`+ SSH key ${fingerprint(h.keys['bank-upload']!)}`);

    expect((await h.run(deploy, {})).code).toBe(0);
    expect((await h.run(diff, { exitCode: true })).code).toBe(0);
    await h.editConfig((text) => text.replace('sshKeys: [keys/bank/download.pub]', 'sshKeys: [keys/bank/upload.pub]'));
    await h.editConfig((text) => text.replace(/ {2}- name: ministry[\s\S]*$/, ''));
    const writes = dynamo.calls.filter((call) => call.operation === 'BatchWriteItem').length;
    const changed = await h.run(diff, { exitCode: true }, { json: true });
    expect(changed.code).toBe(2);
    const entries = JSON.parse(changed.stdout) as {
      stack: string;
      identity?: { userName: string; action: string }[];
    }[];
    expect(entries.find((entry) => entry.stack === 'shop-dev-client-bank')?.identity).toEqual([
      {
        userName: 'bank-download',
        client: 'bank',
        action: 'update',
        addKeys: [fingerprint(h.keys['bank-upload']!)],
        removeKeys: [fingerprint(h.keys['bank-download']!)],
        expiryChanged: [],
      },
    ]);
    expect(
      entries.find((entry) => entry.stack === 'shop-dev-server')?.identity?.map((user) => [user.userName, user.action]),
    ).toEqual([
      ['ministry-download', 'delete'],
      ['ministry-upload', 'delete'],
    ]);
    expect(dynamo.calls.filter((call) => call.operation === 'BatchWriteItem')).toHaveLength(writes);
  });
});

describe('keys rotate in lambda identity mode', () => {
  it('start: both keys in the item, the old one expiring at the grace end; finish: only the new one', async () => {
    const h = await lambdaWorld();
    expect((await h.run(deploy, {})).code).toBe(0);
    const fresh = await generateSshKeyPair({ type: 'ed25519', comment: 'bank-upload-2026' });
    await writeFile(join(h.dir, 'keys/bank/upload-2026.pub'), fresh.publicKey);
    const rotate = (options: object) =>
      h.run((o: object, context) => keysRotate('bank', { grace: '7d', ...o }, context), options);

    const started = await rotate({ ssh: 'upload', publicKey: 'keys/bank/upload-2026.pub' });
    expect(started.error).toBeUndefined();
    const config = await readFile(join(h.dir, 'sftpctl.yaml'), 'utf8');
    const until = /until: "?([0-9TZ:-]+)"?/.exec(config)![1];
    expect(record('bank-upload')!.sshKeys).toEqual([
      { publicKey: bare(h.keys['bank-upload']!), expiresAt: until },
      { publicKey: bare(fresh.publicKey) },
    ]);
    expect(h.aws.calls().filter((call) => /SshPublicKey/.test(call))).toEqual([]);

    // A deploy during the grace period writes the same item: the rotation is in the config.
    dynamo.calls.length = 0;
    expect((await h.run(deploy, {})).code).toBe(0);
    expect(dynamo.calls.filter((call) => call.operation === 'BatchWriteItem')).toEqual([]);

    const early = await rotate({ ssh: 'upload', finish: true });
    expect(early.error).toMatchObject({ code: 'ROTATION_GRACE_NOT_OVER' });
    const finished = await rotate({ ssh: 'upload', finish: true, force: true });
    expect(finished.error).toBeUndefined();
    expect(record('bank-upload')!.sshKeys).toEqual([{ publicKey: bare(fresh.publicKey) }]);
    expect(finished.stdout).toContain(`bank-upload: deleted ${fingerprint(h.keys['bank-upload']!)}`);
    expect(await readFile(join(h.dir, 'sftpctl.yaml'), 'utf8')).not.toContain('rotation');
  });

  it('a user not in the table is refused before the config changes', async () => {
    const h = await lambdaWorld();
    const before = await readFile(join(h.dir, 'sftpctl.yaml'), 'utf8');
    const result = await h.run((o: object, context) => keysRotate('bank', { grace: '7d', ...o }, context), {
      ssh: 'upload',
      generate: true,
    });
    expect(result.error).toMatchObject({ code: 'USER_NOT_DEPLOYED' });
    expect(await readFile(join(h.dir, 'sftpctl.yaml'), 'utf8')).toBe(before);
  });
});
