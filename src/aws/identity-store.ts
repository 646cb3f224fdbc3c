import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IdentityKey, IdentityRecord } from '../core/identity/record.js';
import type { IdentityStore } from '../core/identity/service.js';
import { planUserTable, type UserTableChange, type UserTablePlan } from '../core/identity/table-plan.js';

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
    private readonly options: {
      /**
       * Where users' password secrets are named (`passwordSecretName(project, env, '')`): an FTPS login of a user
       * without one reads `<prefix><user>` all the same, so an unknown user costs the calls a known one does.
       */
      passwordSecretPrefix?: string;
    } = {},
  ) {}

  get tableName(): string {
    return this.table;
  }

  async record(userName: string): Promise<IdentityRecord | undefined> {
    const { Item } = await this.dynamo.send(
      new GetItemCommand({ TableName: this.table, Key: { userName: { S: userName } }, ConsistentRead: true }),
    );
    return Item ? itemToRecord(Item) : undefined;
  }

  async passwordHash(userName: string, secretName: string | undefined): Promise<string | undefined> {
    const secretId =
      secretName ?? (this.options.passwordSecretPrefix ? `${this.options.passwordSecretPrefix}${userName}` : undefined);
    if (!secretId) return undefined;
    let SecretString: string | undefined;
    try {
      ({ SecretString } = await this.secrets.send(new GetSecretValueCommand({ SecretId: secretId })));
    } catch (error) {
      // No secret (a decoy read, or a password removed since the item was cached): no hash, the login is refused.
      if ((error as Error).name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
    if (!secretName || !SecretString) return undefined;
    return hashFromSecret(SecretString);
  }

  /** Every item of the table: the whole ones as records, the names of the ones that are not whole. */
  async scan(): Promise<{ records: IdentityRecord[]; malformed: string[] }> {
    const records: IdentityRecord[] = [];
    const malformed: string[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const record = itemToRecord(item);
        if (record) records.push(record);
        else if (item.userName?.S) malformed.push(item.userName.S);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { records, malformed };
  }

  /**
   * Makes the table hold `records`: changed and new items written, users no longer wanted deleted — among the items
   * `inScope` says this reconcile owns (default: all). Returns what changed, per user.
   */
  async sync(
    records: IdentityRecord[],
    inScope: (userName: string, client: string | undefined) => boolean = () => true,
  ): Promise<{ written: string[]; deleted: string[]; changes: UserTableChange[] }> {
    const plan = planUserTable(await this.scan(), records, inScope);
    await this.apply(plan);
    return {
      written: plan.writes.map((record) => record.userName),
      deleted: plan.deletes,
      changes: plan.changes.filter((change) => change.action !== 'unchanged'),
    };
  }

  /** Writes and deletes in batches of 25, retrying what DynamoDB leaves unprocessed. */
  async apply(plan: Pick<UserTablePlan, 'writes' | 'deletes'>): Promise<void> {
    const requests = [
      ...plan.writes.map((record) => ({ PutRequest: { Item: recordToItem(record) } })),
      ...plan.deletes.map((name) => ({ DeleteRequest: { Key: { userName: { S: name } } } })),
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
  }

  /** Replaces one existing user's keys (a rotation's step); undefined when the user has no item. */
  async setKeys(userName: string, keys: IdentityKey[]): Promise<IdentityRecord | undefined> {
    return this.update(userName, 'SET sshKeys = :keys', { ':keys': keysToAttribute(keys) });
  }

  /** Names (or, with undefined, stops naming) an existing user's password secret; undefined when it has no item. */
  async setPasswordSecret(userName: string, secretName: string | undefined): Promise<IdentityRecord | undefined> {
    return secretName
      ? this.update(userName, 'SET passwordSecret = :secret', { ':secret': { S: secretName } })
      : this.update(userName, 'REMOVE passwordSecret', undefined);
  }

  private async update(
    userName: string,
    expression: string,
    values: Record<string, AttributeValue> | undefined,
  ): Promise<IdentityRecord | undefined> {
    try {
      const { Attributes } = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { userName: { S: userName } },
          UpdateExpression: expression,
          ...(values ? { ExpressionAttributeValues: values } : {}),
          ConditionExpression: 'attribute_exists(userName)',
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? itemToRecord(Attributes) : undefined;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }
}

/** The hash in a password secret's JSON value (`{"hash": "scrypt$…"}`), or undefined. */
export function hashFromSecret(value: string): string | undefined {
  try {
    const { hash } = JSON.parse(value) as { hash?: unknown };
    return typeof hash === 'string' ? hash : undefined;
  } catch {
    return undefined;
  }
}

function keysToAttribute(keys: readonly IdentityKey[]): AttributeValue {
  return {
    L: keys.map((key) => ({
      M: { publicKey: { S: key.publicKey }, ...(key.expiresAt ? { expiresAt: { S: key.expiresAt } } : {}) },
    })),
  };
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
    sshKeys: keysToAttribute(record.sshKeys),
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
