import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordToItem } from '../../src/aws/identity-store.js';
import { passwordSecretName } from '../../src/core/config/naming.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { hashPassword } from '../../src/core/identity/password.js';
import type { IdentityRecord } from '../../src/core/identity/record.js';
import { startFakeDynamoDb } from '../helpers/fake-dynamodb.js';
import { startFakeSecretsManager } from '../helpers/fake-secrets-manager.js';
import { unzip } from './harness/unzip.js';

// The REAL identity bundle (dist/lambda/identity.zip, built by the global setup), unzipped and run in a warm
// container as Lambda runs it, answering Transfer's auth events from a DynamoDB-compatible endpoint and the fake
// Secrets Manager, both reached through the SDK inside the bundle.

const ROOT = new URL('../../', import.meta.url).pathname;
const TABLE = 'acme-dev-identity';
const PRINCIPAL = 'identity-function-role';
const PREFIX = passwordSecretName('acme', 'dev', '');
const ROLE_ARN = 'arn:aws:iam::111122223333:role/acme-dev-client-bank-UploadUserRole-1A2B3C';
const NOW = Date.now();

type Response = Record<string, unknown>;
class Container {
  private readonly pending = new Map<string, (message: { response?: Response; error?: string }) => void>();
  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: string; response?: Response; error?: string }) => {
      if (message.id) this.pending.get(message.id)?.(message);
    });
  }
  static async start(dir: string, env: Record<string, string>) {
    const child = fork(join(ROOT, 'test/lambda/harness/runner.mjs'), [dir, 'identity.mjs', 'handler'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`identity container exited (${code})`)));
    });
    return new Container(child);
  }
  invoke(event: unknown): Promise<{ response?: Response; error?: string }> {
    const id = randomUUID();
    return new Promise((resolve) => {
      this.pending.set(id, (message) => {
        this.pending.delete(id);
        resolve(message);
      });
      this.child.send({ id, event });
    });
  }
  stop() {
    this.child.kill();
  }
}

let dynamo: Awaited<ReturnType<typeof startFakeDynamoDb>>;
let secrets: Awaited<ReturnType<typeof startFakeSecretsManager>>;
let container: Container;
let work: string;
const keys: Record<string, string> = {};

function user(userName: string, over: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    userName,
    client: 'bank',
    role: 'upload',
    enabled: true,
    roleArn: ROLE_ARN,
    homeDirectoryMappings: [{ entry: '/', target: '/acme-dev-bank-upload' }],
    sshKeys: [{ publicKey: keys.current! }],
    allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
    allowAnyIp: false,
    ...over,
  };
}

const sftp = (username: string, sourceIp: string) => ({
  username,
  password: '',
  protocol: 'SFTP',
  serverId: 's-0123456789abcdef0',
  sourceIp,
});
const ftps = (username: string, password: string, sourceIp = '203.0.113.20') => ({
  username,
  password,
  protocol: 'FTPS',
  serverId: 's-0123456789abcdef0',
  sourceIp,
});

beforeAll(async () => {
  for (const name of ['current', 'retired', 'other']) {
    const pair = await generateSshKeyPair({ type: 'ed25519', comment: name });
    keys[name] = pair.publicKey.trim().split(' ').slice(0, 2).join(' ');
  }
  dynamo = await startFakeDynamoDb({ table: TABLE });
  secrets = await startFakeSecretsManager(() => [
    {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: `${PREFIX}*` }],
    },
  ]);
  work = await mkdtemp(join(tmpdir(), 'sftpctl-identity-'));
  await unzip(join(ROOT, 'dist/lambda/identity.zip'), work);
  container = await Container.start(work, {
    SFTPCTL_IDENTITY_TABLE: TABLE,
    SFTPCTL_PASSWORD_SECRET_PREFIX: PREFIX,
    // Every login reads the table, so the calls each makes can be compared (the cache has its own test).
    SFTPCTL_IDENTITY_CACHE_MS: '0',
    AWS_REGION: 'eu-west-2',
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake',
    AWS_SESSION_TOKEN: PRINCIPAL,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
}, 60_000);

afterAll(async () => {
  container?.stop();
  await dynamo?.stop();
  await secrets?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(() => {
  dynamo.items.clear();
  dynamo.calls.length = 0;
  secrets.calls.length = 0;
});

const put = (record: IdentityRecord) => dynamo.items.set(record.userName, recordToItem(record));

describe('the identity bundle answers Transfer’s SFTP auth events', () => {
  it('an allowed source address gets the role, the logical home as a JSON string, and the unexpired keys', async () => {
    put(
      user('bank-upload', {
        sshKeys: [
          { publicKey: keys.current! },
          { publicKey: keys.retired!, expiresAt: new Date(NOW - 60_000).toISOString() },
          { publicKey: keys.other!, expiresAt: new Date(NOW + 86_400_000).toISOString() },
        ],
      }),
    );
    const { response, error } = await container.invoke(sftp('bank-upload', '203.0.113.20'));
    expect(error).toBeUndefined();
    expect(response).toEqual({
      Role: ROLE_ARN,
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryDetails: JSON.stringify([{ Entry: '/', Target: '/acme-dev-bank-upload' }]),
      PublicKeys: [keys.current, keys.other],
    });
    // Transfer checks the client's signature against PublicKeys: an unknown key is one not in the list.
    expect(response?.PublicKeys).not.toContain(keys.retired);
    expect(dynamo.calls).toEqual([{ operation: 'GetItem', table: TABLE, key: 'bank-upload' }]);
  });

  it('CIDR edges: first and last address of a /24 and the one /32 pass; one past either side is refused', async () => {
    put(user('bank-upload'));
    const allowed = ['203.0.113.0', '203.0.113.255', '198.51.100.7', '::ffff:203.0.113.1'];
    const refused = ['203.0.112.255', '203.0.114.0', '198.51.100.6', '198.51.100.8', '127.0.0.1', '::1', '2001:db8::1'];
    for (const ip of allowed)
      expect((await container.invoke(sftp('bank-upload', ip))).response, ip).toHaveProperty('Role');
    for (const ip of refused) expect((await container.invoke(sftp('bank-upload', ip))).response, ip).toEqual({});
  });

  it('refuses an unknown user, a disabled user, a user whose keys all expired, and a password on SFTP', async () => {
    put(user('bank-upload'));
    put(user('bank-disabled', { enabled: false }));
    put(user('bank-expired', { sshKeys: [{ publicKey: keys.current!, expiresAt: new Date(NOW - 1).toISOString() }] }));
    expect((await container.invoke(sftp('ghost', '203.0.113.20'))).response).toEqual({});
    expect((await container.invoke(sftp('bank-disabled', '203.0.113.20'))).response).toEqual({});
    expect((await container.invoke(sftp('bank-expired', '203.0.113.20'))).response).toEqual({});
    const withPassword = { ...sftp('bank-upload', '203.0.113.20'), password: 'hunter2' };
    expect((await container.invoke(withPassword)).response).toEqual({});
    expect(secrets.calls).toEqual([]);
  });

  it('a malformed event is refused with {} (never an error Transfer would retry or log with the input)', async () => {
    put(user('bank-upload'));
    for (const event of [
      {},
      null,
      { username: 'bank-upload', protocol: 'SFTP' },
      { username: 42, protocol: 'SFTP', sourceIp: '203.0.113.20' },
      { ...sftp('bank-upload', '203.0.113.20'), protocol: 'AS2' },
      { ...sftp('bank-upload', 'not-an-ip') },
    ]) {
      const { response, error } = await container.invoke(event);
      expect(error, JSON.stringify(event)).toBeUndefined();
      expect(response, JSON.stringify(event)).toEqual({});
    }
  });

  it('an item that is not whole refuses the login rather than half-allowing it', async () => {
    const { allowedCidrs: _, ...partial } = recordToItem(user('bank-upload'));
    dynamo.items.set('bank-upload', partial);
    expect((await container.invoke(sftp('bank-upload', '203.0.113.20'))).response).toEqual({});
  });
});

describe('the identity bundle answers Transfer’s FTPS auth events', () => {
  beforeAll(async () => {
    secrets.secrets.set(`${PREFIX}bank-ftps`, JSON.stringify({ hash: await hashPassword('correct horse battery') }));
  });

  it('a good password from an allowed address logs in without PublicKeys; a bad one, another address: {}', async () => {
    put(user('bank-ftps', { sshKeys: [], passwordSecret: `${PREFIX}bank-ftps` }));
    const { response } = await container.invoke(ftps('bank-ftps', 'correct horse battery'));
    expect(response).toEqual({
      Role: ROLE_ARN,
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryDetails: JSON.stringify([{ Entry: '/', Target: '/acme-dev-bank-upload' }]),
    });
    expect((await container.invoke(ftps('bank-ftps', 'correct horse batteryy'))).response).toEqual({});
    expect((await container.invoke(ftps('bank-ftps', ''))).response).toEqual({});
    expect((await container.invoke(ftps('bank-ftps', 'correct horse battery', '192.0.2.1'))).response).toEqual({});
  });

  it('a user with no password secret (an SFTP-only user) cannot log in over FTPS', async () => {
    put(user('bank-upload'));
    expect((await container.invoke(ftps('bank-upload', 'anything'))).response).toEqual({});
  });

  it('a wrong user and a wrong password make the same store calls (the unknown user reads a decoy secret)', async () => {
    put(user('bank-ftps', { sshKeys: [], passwordSecret: `${PREFIX}bank-ftps` }));
    const shape = () => ({
      dynamo: dynamo.calls.map((call) => call.operation),
      secrets: secrets.calls.map((call) => call.secretId.replace(/[^/]+$/, '<user>')),
    });
    const reset = () => {
      dynamo.calls.length = 0;
      secrets.calls.length = 0;
    };
    reset();
    expect((await container.invoke(ftps('bank-ftps', 'wrong'))).response).toEqual({});
    const wrongPassword = shape();
    reset();
    expect((await container.invoke(ftps('ghost', 'wrong'))).response).toEqual({});
    const wrongUser = shape();
    expect(wrongPassword).toEqual({ dynamo: ['GetItem'], secrets: [`${PREFIX}<user>`] });
    expect(wrongUser).toEqual(wrongPassword);
  });

  it('a wrong user and a wrong key make the same store calls on SFTP (one GetItem, no secret)', async () => {
    put(user('bank-upload'));
    await container.invoke(sftp('bank-upload', '203.0.113.20'));
    const known = dynamo.calls.map((call) => call.operation);
    dynamo.calls.length = 0;
    await container.invoke(sftp('ghost', '203.0.113.20'));
    expect(dynamo.calls.map((call) => call.operation)).toEqual(known);
    expect(secrets.calls).toEqual([]);
  });
});
