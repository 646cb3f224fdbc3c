import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IdentityKey, IdentityRecord } from '../core/identity/record.js';
import type { IdentityStore } from '../core/identity/service.js';

/**
 * The user table of an environment in `lambda` identity mode: one item per user, keyed by `userName`, holding what
 * the identity core decides on and nothing secret (an FTPS user's hash stays in Secrets Manager, named by
 * `passwordSecret`). Items are read with a strongly consistent GetItem, so a disabled user is out at the next login
 * that misses the function's short cache.
 */
export class DynamoIdentityStore implements IdentityStore {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly secrets: SecretsManagerClient,
    private readonly table: string,
  ) {}

  async record(userName: string): Promise<IdentityRecord | undefined> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({ TableName: this.table, Key: { userName: { S: userName } }, ConsistentRead: true }),
    );
    return Item ? itemToRecord(Item) : undefined;
  }

  async passwordHash(secretName: string): Promise<string | undefined> {
    const { SecretString } = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretName }));
    if (!SecretString) return undefined;
    try {
      const { hash } = JSON.parse(SecretString) as { hash?: unknown };
      return typeof hash === 'string' ? hash : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Makes the table hold exactly `records`: changed and new items written, users no longer in the config deleted.
   * Returns the user names written and deleted.
   */
  async sync(records: IdentityRecord[]): Promise<{ written: string[]; deleted: string[] }> {
    const existing = new Map<string, string>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const name = item.userName?.S;
        if (name) existing.set(name, JSON.stringify(item));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    const wanted = new Map(records.map((record) => [record.userName, recordToItem(record)]));
    const puts = [...wanted].filter(([name, item]) => existing.get(name) !== JSON.stringify(item));
    const deletes = [...existing.keys()].filter((name) => !wanted.has(name));
    const requests = [
      ...puts.map(([, item]) => ({ PutRequest: { Item: item } })),
      ...deletes.map((name) => ({ DeleteRequest: { Key: { userName: { S: name } } } })),
    ];
    for (let index = 0; index < requests.length; index += 25) {
      let batch: typeof requests | undefined = requests.slice(index, index + 25);
      for (let attempt = 0; batch && batch.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`DynamoDB kept ${batch.length} writes unprocessed on ${this.table}`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await this.dynamo.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: batch } }));
        batch = result.UnprocessedItems?.[this.table] as typeof requests | undefined;
      }
    }
    return { written: puts.map(([name]) => name), deleted: deletes };
  }
}

/** A record as a DynamoDB item (keys sorted where order carries no meaning, so an unchanged user compares equal). */
export function recordToItem(record: IdentityRecord): Record<string, AttributeValue> {
  return {
    userName: { S: record.userName },
    client: { S: record.client },
    role: { S: record.role },
    enabled: { BOOL: record.enabled },
    ...(record.roleArn ? { roleArn: { S: record.roleArn } } : {}),
    homeDirectoryMappings: {
      L: record.homeDirectoryMappings.map((mapping) => ({
        M: { entry: { S: mapping.entry }, target: { S: mapping.target } },
      })),
    },
    sshKeys: {
      L: record.sshKeys.map((key) => ({
        M: { publicKey: { S: key.publicKey }, ...(key.expiresAt ? { expiresAt: { S: key.expiresAt } } : {}) },
      })),
    },
    allowedCidrs: { L: record.allowedCidrs.map((cidr) => ({ S: cidr })) },
    allowAnyIp: { BOOL: record.allowAnyIp },
    ...(record.passwordSecret ? { passwordSecret: { S: record.passwordSecret } } : {}),
  };
}

/** An item as a record; undefined for an item that is not whole (it then refuses the login, never half-allows it). */
export function itemToRecord(item: Record<string, AttributeValue>): IdentityRecord | undefined {
  const text = (value: AttributeValue | undefined) => value?.S;
  const role = text(item.role);
  const userName = text(item.userName);
  const client = text(item.client);
  if (!userName || !client || (role !== 'upload' && role !== 'download')) return undefined;
  if (typeof item.enabled?.BOOL !== 'boolean' || typeof item.allowAnyIp?.BOOL !== 'boolean') return undefined;
  const mappings = item.homeDirectoryMappings?.L?.map((entry) => ({
    entry: text(entry.M?.entry),
    target: text(entry.M?.target),
  }));
  const keys = item.sshKeys?.L?.map((entry) => ({
    publicKey: text(entry.M?.publicKey),
    expiresAt: text(entry.M?.expiresAt),
  }));
  const cidrs = item.allowedCidrs?.L?.map(text);
  if (!mappings || mappings.some((mapping) => !mapping.entry || !mapping.target)) return undefined;
  if (!keys || keys.some((key) => !key.publicKey) || !cidrs || cidrs.some((cidr) => !cidr)) return undefined;
  return {
    userName,
    client,
    role,
    enabled: item.enabled.BOOL,
    ...(text(item.roleArn) ? { roleArn: text(item.roleArn) as string } : {}),
    homeDirectoryMappings: mappings as { entry: string; target: string }[],
    sshKeys: keys.map(
      (key): IdentityKey => ({
        publicKey: key.publicKey as string,
        ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
      }),
    ),
    allowedCidrs: cidrs as string[],
    allowAnyIp: item.allowAnyIp.BOOL,
    ...(text(item.passwordSecret) ? { passwordSecret: text(item.passwordSecret) as string } : {}),
  };
}
