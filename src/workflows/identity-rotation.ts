import type { DynamoIdentityStore } from '../aws/identity-store.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import type { Client, Config } from '../core/config/schema.js';
import type { SshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import type { IdentityKey } from '../core/identity/record.js';
import { fingerprintOf } from '../core/identity/table-plan.js';
import type { ConfigFile } from '../io/config-file.js';
import {
  checkRotationFinish,
  checkRotationStart,
  type Role,
  recordRotationFinish,
  recordRotationStart,
  rotationWindow,
  type SshRotationStep,
} from './ssh-rotation.js';

export interface TableRotationContext {
  file: ConfigFile;
  config: Config;
  keys: KeyFacts;
  client: Client;
  store: DynamoIdentityStore;
  now: Date;
}

const tableKey = (key: SshPublicKey, expiresAt?: string): IdentityKey => ({
  publicKey: key.text.split(/\s+/).slice(0, 2).join(' '),
  ...(expiresAt ? { expiresAt } : {}),
});

/**
 * Lambda identity mode: starts a rotation in the user table. The user's item gets the new key beside the current
 * ones, which get the grace period's end as their expiry (the identity function refuses them after it, `--finish` or
 * not), and is read back before the config records the rotation. Nothing is removed.
 */
export async function startTableRotation(
  context: TableRotationContext,
  role: Role,
  newKey: { entry: string; key: SshPublicKey },
  graceSeconds: number,
): Promise<SshRotationStep[]> {
  const { userName, current } = checkRotationStart(context, role, newKey.key);
  const { since, until } = rotationWindow(context.now, graceSeconds);
  const keys = [...dedupe(current.map(({ key }) => key)).map((key) => tableKey(key, until)), tableKey(newKey.key)];
  await writeKeys(context.store, userName, keys, [newKey.key.fingerprint], []);
  await recordRotationStart(context, role, newKey.entry, {
    since,
    until,
    retiring: current.map(({ key }) => key.fingerprint),
  });
  return [
    { role, userName, action: 'imported', fingerprint: newKey.key.fingerprint },
    { role, userName, action: 'recorded', fingerprint: newKey.key.fingerprint },
  ];
}

/**
 * Lambda identity mode: ends a rotation. The item is written with only the keys that stay (no expiry), read back,
 * and only then are the retiring keys taken out of the config.
 */
export async function finishTableRotation(
  context: TableRotationContext,
  role: Role,
  force: boolean,
): Promise<SshRotationStep[]> {
  const { userName, rotation, retiring, staying } = checkRotationFinish(context, role, force);
  const keys = dedupe(staying.map(({ key }) => key)).map((key) => tableKey(key));
  const removed = await writeKeys(
    context.store,
    userName,
    keys,
    staying.map(({ key }) => key.fingerprint),
    [...retiring],
  );
  await recordRotationFinish(context, role, retiring);
  return [
    ...removed.map((fingerprint) => ({ role, userName, action: 'deleted' as const, fingerprint })),
    ...rotation.retiring.map((fingerprint) => ({
      role,
      userName,
      action: 'removed-from-config' as const,
      fingerprint,
    })),
  ];
}

/** Writes a user's keys and confirms them by reading the item back; returns the fingerprints it no longer holds. */
async function writeKeys(
  store: DynamoIdentityStore,
  userName: string,
  keys: IdentityKey[],
  mustHave: string[],
  mustNotHave: string[],
): Promise<string[]> {
  const before = await store.record(userName);
  if (!before)
    throw new SftpctlError(
      'USER_NOT_DEPLOYED',
      `User ${userName} is not in the user table ${store.tableName}.`,
      'Deploy the client first (sftpctl deploy); nothing was changed.',
    );
  await store.setKeys(userName, keys);
  const after = await store.record(userName);
  const held = new Set((after?.sshKeys ?? []).map((key) => fingerprintOf(key.publicKey)));
  const missing = mustHave.find((fingerprint) => !held.has(fingerprint));
  const left = mustNotHave.find((fingerprint) => held.has(fingerprint));
  if (missing || left)
    throw new SftpctlError(
      'ROTATION_NOT_CONFIRMED',
      missing
        ? `Key ${missing} does not show on ${userName} in ${store.tableName} after the write.`
        : `Key ${left} is still on ${userName} in ${store.tableName} after the write.`,
      'Run the same command again; the config was not changed.',
    );
  return before.sshKeys.map((key) => fingerprintOf(key.publicKey)).filter((fingerprint) => !held.has(fingerprint));
}

function dedupe(keys: SshPublicKey[]): SshPublicKey[] {
  const seen = new Set<string>();
  return keys.filter((key) => !seen.has(key.fingerprint) && seen.add(key.fingerprint));
}
