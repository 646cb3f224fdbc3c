import type { AwsClients } from '../aws/clients.js';
import { identityTableError, openIdentityTable, ROLE_ARN_OUTPUTS, userRoleArns } from '../aws/identity-table.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { identityTableName, type UserRole } from '../core/config/naming.js';
import { clientsInEnvironment } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
import { type IdentityKey, type IdentityRecord, identityRecordsFor } from '../core/identity/record.js';
import { planUserTable, type UserTableChange } from '../core/identity/table-plan.js';
import { configuredKeys } from '../workflows/ssh-rotation.js';

/** Whether an environment's logins are decided by the identity function over the user table. */
export function usesIdentityTable(config: Config, env: string): boolean {
  return config.environments[env]?.identity.mode === 'lambda';
}

/**
 * A user's keys as the table holds them (`type base64`, no comment): the config's, each once, and — while a rotation
 * runs — the retiring ones with the rotation's end as their expiry, so the identity function stops accepting them
 * then even if nobody runs `--finish`.
 */
export function tableKeysOf(config: Config, keys: KeyFacts, client: Client, role: UserRole): IdentityKey[] {
  const rotation = client[role]?.rotation;
  const retiring = new Set(rotation?.retiring ?? []);
  const seen = new Set<string>();
  const result: IdentityKey[] = [];
  for (const { key } of configuredKeys({ config, keys, client }, role)) {
    if (seen.has(key.fingerprint)) continue;
    seen.add(key.fingerprint);
    result.push({
      publicKey: key.text.split(/\s+/).slice(0, 2).join(' '),
      ...(rotation && retiring.has(key.fingerprint) ? { expiresAt: rotation.until } : {}),
    });
  }
  return result;
}

/** The records the config gives for `clientNames` (all of the environment's without), role ARNs as known. */
export function configRecords(
  config: Config,
  env: string,
  keys: KeyFacts,
  roleArns: ReadonlyMap<string, Partial<Record<UserRole, string>>>,
  clientNames?: ReadonlySet<string>,
): IdentityRecord[] {
  const only = clientNames
    ? { ...config, clients: config.clients.filter((client) => clientNames.has(client.name)) }
    : config;
  return identityRecordsFor(only, env, {
    keysOf: (client, role) => tableKeysOf(config, keys, client, role),
    roleArnOf: (client, role) => roleArns.get(client.name)?.[role] ?? '',
  }).map((record) => {
    if (record.roleArn) return record;
    const { roleArn: _, ...rest } = record;
    return rest;
  });
}

export interface IdentitySyncInput {
  config: Config;
  env: string;
  keys: KeyFacts;
  clients: AwsClients;
  /** Client name → its stack name and outputs, for the clients whose stacks are deployed now. */
  deployed: ReadonlyMap<string, { stack: string; outputs: Readonly<Record<string, string>> | undefined }>;
  /**
   * Which existing items this sync owns: after a whole-environment deploy every item but those of clients whose
   * stacks failed (so a removed client's users go), after `--client` only the named clients'.
   */
  inScope(userName: string, client: string | undefined): boolean;
}

/** Makes the user table hold the deployed clients' users as the config has them; returns what changed per user. */
export async function syncIdentityTable(input: IdentitySyncInput): Promise<UserTableChange[]> {
  const roleArns = new Map<string, Partial<Record<UserRole, string>>>();
  for (const [client, { stack, outputs }] of input.deployed)
    roleArns.set(client, await userRoleArns(input.clients, stack, outputs));
  const records = configRecords(input.config, input.env, input.keys, roleArns, new Set(input.deployed.keys()));
  const missing = records.find((record) => !record.roleArn);
  if (missing)
    throw new Error(
      `the ${missing.role} role of ${missing.client} has no ARN (no ${ROLE_ARN_OUTPUTS[missing.role]} output, no role resource): its user was not written`,
    );
  const table = identityTableName(input.config.project, input.env);
  try {
    const store = await openIdentityTable(input.clients, input.config.project, input.env);
    return (await store.sync(records, input.inScope)).changes;
  } catch (error) {
    throw identityTableError(error, table, input.env);
  }
}

/**
 * What a deploy would change in the table (diff), without writing; role ARNs are carried over from the items. With
 * `whole`, users of clients the environment no longer has show as deleted; clients of the environment left out of
 * `clientNames` (their stacks cannot be compared) are left alone.
 */
export async function planIdentityTable(input: {
  config: Config;
  env: string;
  keys: KeyFacts;
  clients: AwsClients;
  clientNames: ReadonlySet<string>;
  whole: boolean;
}): Promise<UserTableChange[]> {
  const table = identityTableName(input.config.project, input.env);
  try {
    const store = await openIdentityTable(input.clients, input.config.project, input.env);
    // No table yet (a first deploy, or a move from service-managed): every user would be added.
    const existing = await store.scan().catch((error: unknown) => {
      if ((error as Error).name === 'ResourceNotFoundException') return { records: [], malformed: [] };
      throw error;
    });
    const inEnvironment = new Set(clientsInEnvironment(input.config, input.env).map((client) => client.name));
    const records = configRecords(input.config, input.env, input.keys, new Map(), input.clientNames);
    const plan = planUserTable(existing, records, (_user, client) =>
      input.whole
        ? !(client && inEnvironment.has(client) && !input.clientNames.has(client))
        : client !== undefined && input.clientNames.has(client),
    );
    return plan.changes.filter((change) => change.action !== 'unchanged');
  } catch (error) {
    throw identityTableError(error, table, input.env);
  }
}
