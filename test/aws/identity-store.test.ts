import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoIdentityStore, itemToRecord, recordToItem } from '../../src/aws/identity-store.js';
import { hashPassword } from '../../src/core/identity/password.js';
import type { IdentityRecord } from '../../src/core/identity/record.js';
import { identityHandler, identityServiceFrom } from '../../src/lambda/identity.js';

const TABLE = 'acme-sftp-prod-users';
const dynamoClient = new DynamoDBClient({ region: 'eu-west-2' });
const secretsClient = new SecretsManagerClient({ region: 'eu-west-2' });
const dynamo = mockClient(dynamoClient);
const secrets = mockClient(secretsClient);
afterAll(() => {
  dynamo.restore();
  secrets.restore();
});

/** A table in memory behind the SDK: GetItem, paged Scan, and BatchWrite that leaves the first write unprocessed once. */
let table: Map<string, Record<string, AttributeValue>>;
let unprocessedOnce: boolean;
beforeEach(() => {
  table = new Map();
  unprocessedOnce = false;
  dynamo.reset();
  dynamo.on(GetItemCommand).callsFake((input) => ({ Item: table.get(input.Key.userName.S) }));
  dynamo.on(ScanCommand).callsFake((input) => {
    const names = [...table.keys()].sort();
    const from = input.ExclusiveStartKey ? names.indexOf(input.ExclusiveStartKey.userName.S) + 1 : 0;
    const page = names.slice(from, from + 2);
    const more = from + 2 < names.length;
    return {
      Items: page.map((name) => table.get(name)),
      ...(more ? { LastEvaluatedKey: { userName: { S: page.at(-1) } } } : {}),
    };
  });
  dynamo.on(BatchWriteItemCommand).callsFake((input) => {
    const requests = input.RequestItems[TABLE];
    if (requests.length > 25) throw new Error('more than 25 writes in a batch');
    const [first, ...rest] = requests;
    const apply = unprocessedOnce ? rest : requests;
    for (const request of apply) {
      if (request.PutRequest) table.set(request.PutRequest.Item.userName.S, request.PutRequest.Item);
      else table.delete(request.DeleteRequest.Key.userName.S);
    }
    const left = unprocessedOnce ? [first] : [];
    unprocessedOnce = false;
    return { UnprocessedItems: left.length ? { [TABLE]: left } : {} };
  });
});

function user(name: string, over: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    userName: name,
    client: 'acme',
    role: 'upload',
    enabled: true,
    roleArn: 'arn:aws:iam::111122223333:role/acme',
    homeDirectoryMappings: [{ entry: '/', target: '/acme-sftp-prod-acme-upload' }],
    sshKeys: [{ publicKey: 'ssh-ed25519 AAAAkey', expiresAt: '2027-01-01T00:00:00Z' }],
    allowedCidrs: ['203.0.113.0/24'],
    allowAnyIp: false,
    ...over,
  };
}

describe('the DynamoDB user table', () => {
  it('round-trips a record through an item, and refuses a partial item', () => {
    const record = user('acme-upload', { passwordSecret: 'acme/ftps' });
    expect(itemToRecord(recordToItem(record))).toEqual(record);
    const { allowedCidrs: _, ...partial } = recordToItem(record);
    expect(itemToRecord(partial)).toBeUndefined();
    expect(itemToRecord({ ...recordToItem(record), role: { S: 'admin' } })).toBeUndefined();
  });

  it('sync writes new and changed users, deletes removed ones, in batches of 25, through unprocessed items', async () => {
    const store = new DynamoIdentityStore(dynamoClient, secretsClient, TABLE);
    const many = Array.from({ length: 30 }, (_, index) => user(`partner-${String(index).padStart(2, '0')}`));
    unprocessedOnce = true;
    expect((await store.sync(many)).written).toHaveLength(30);
    expect(table.size).toBe(30);
    const next = [...many.slice(1, 29), user('partner-05', { enabled: false })];
    const result = await store.sync(next);
    expect(result.written).toEqual(['partner-05']);
    expect(result.deleted.sort()).toEqual(['partner-00', 'partner-29']);
    expect(itemToRecord(table.get('partner-05') as Record<string, AttributeValue>)?.enabled).toBe(false);
    expect(await store.sync(next)).toEqual({ written: [], deleted: [], changes: [] });
  });
});

describe('the identity function with Transfer’s auth events', () => {
  it('SFTP from an allowed address gets role, logical home and keys; from elsewhere, {}', async () => {
    table.set('acme-upload', recordToItem(user('acme-upload')));
    const handle = identityHandler(identityServiceFrom(new DynamoIdentityStore(dynamoClient, secretsClient, TABLE)));
    const event = { username: 'acme-upload', password: '', protocol: 'SFTP', serverId: 's-1', sourceIp: '203.0.113.9' };
    expect(await handle(event)).toEqual({
      Role: 'arn:aws:iam::111122223333:role/acme',
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryDetails: '[{"Entry":"/","Target":"/acme-sftp-prod-acme-upload"}]',
      PublicKeys: ['ssh-ed25519 AAAAkey'],
    });
    expect(await handle({ ...event, sourceIp: '198.51.100.1' })).toEqual({});
    expect(await handle({ ...event, username: 'nobody' })).toEqual({});
    expect(await handle({ ...event, protocol: 'AS2' })).toEqual({});
  });

  it('FTPS checks the password against the hash in Secrets Manager, never the table', async () => {
    table.set('acme-ftps', recordToItem(user('acme-ftps', { passwordSecret: 'acme/ftps', sshKeys: [] })));
    const hash = await hashPassword('s3cret pass');
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: 'acme/ftps' }).resolves({ SecretString: JSON.stringify({ hash }) });
    const handle = identityHandler(identityServiceFrom(new DynamoIdentityStore(dynamoClient, secretsClient, TABLE)));
    const event = {
      username: 'acme-ftps',
      password: 's3cret pass',
      protocol: 'FTPS',
      serverId: 's-1',
      sourceIp: '203.0.113.9',
    };
    expect(await handle(event)).toMatchObject({
      Role: 'arn:aws:iam::111122223333:role/acme',
      HomeDirectoryType: 'LOGICAL',
    });
    expect(await handle({ ...event, password: 'guess' })).toEqual({});
    expect(JSON.stringify([...table.values()])).not.toContain('scrypt');
  });
});
