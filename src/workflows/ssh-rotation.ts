import type { AwsClients } from '../aws/clients.js';
import { deleteUserKey, importUserKey, listUserKeys } from '../aws/transfer-keys.js';
import { clientIndexInDocument } from '../core/config/edit.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
import type { SshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import { editConfigFile } from '../io/config-edit.js';
import type { ConfigFile } from '../io/config-file.js';

export type Role = 'upload' | 'download';

export interface SshRotationContext {
  file: ConfigFile;
  config: Config;
  keys: KeyFacts;
  client: Client;
  clients: AwsClients;
  serverId: string;
  now: Date;
}

export interface SshRotationStep {
  role: Role;
  userName: string;
  action: 'imported' | 'already-present' | 'deleted' | 'recorded' | 'removed-from-config';
  fingerprint: string;
}

/** The SSH keys a user's config entries hold, in order, with the index of the entry each came from. */
export function configuredKeys(
  context: Pick<SshRotationContext, 'config' | 'keys' | 'client'>,
  role: Role,
): { entry: number; key: SshPublicKey }[] {
  const index = context.config.clients.indexOf(context.client);
  const entries = context.client[role]?.sshKeys ?? [];
  return entries.flatMap((_, entry) =>
    (context.keys.ssh.get(JSON.stringify(['clients', index, role, 'sshKeys', entry])) ?? []).map((key) => ({
      entry,
      key,
    })),
  );
}

/**
 * Starts a rotation: the new key is imported to the Transfer user and confirmed there before the config records it
 * (both keys stay valid through the grace period; a later deploy reconciles to the config, so it keeps both).
 * Nothing is removed. Safe to re-run: a key already on the server is not imported twice.
 */
export async function startSshRotation(
  context: SshRotationContext,
  role: Role,
  newKey: { entry: string; key: SshPublicKey },
  graceSeconds: number,
): Promise<SshRotationStep[]> {
  const { userName, current } = checkRotationStart(context, role, newKey.key);
  const steps: SshRotationStep[] = [];
  const onServer = await listUserKeys(context.clients, context.serverId, userName);
  if (onServer.some((key) => key.fingerprint === newKey.key.fingerprint)) {
    steps.push({ role, userName, action: 'already-present', fingerprint: newKey.key.fingerprint });
  } else {
    await importUserKey(context.clients, context.serverId, userName, newKey.key.text);
    steps.push({ role, userName, action: 'imported', fingerprint: newKey.key.fingerprint });
  }
  const confirmed = await listUserKeys(context.clients, context.serverId, userName);
  if (!confirmed.some((key) => key.fingerprint === newKey.key.fingerprint)) {
    throw new SftpctlError(
      'ROTATION_NOT_CONFIRMED',
      `The new key does not show on ${userName} after the import.`,
      'Run the rotation again; the old key was not touched.',
    );
  }

  const { since, until } = rotationWindow(context.now, graceSeconds);
  await recordRotationStart(context, role, newKey.entry, {
    since,
    until,
    retiring: current.map(({ key }) => key.fingerprint),
  });
  steps.push({ role, userName, action: 'recorded', fingerprint: newKey.key.fingerprint });
  return steps;
}

/** The checks before a rotation starts: a user of that role, not rotating already, and a key it does not have. */
export function checkRotationStart(
  context: Pick<SshRotationContext, 'config' | 'keys' | 'client'>,
  role: Role,
  newKey: SshPublicKey,
): { userName: string; current: { entry: number; key: SshPublicKey }[] } {
  const userName = requireUser(context.client, role);
  const user = context.client[role]!;
  if (user.rotation) {
    throw new SftpctlError(
      'ROTATION_IN_PROGRESS',
      `The ${role} user of ${context.client.name} is already rotating (until ${user.rotation.until}).`,
      `Finish it first: sftpctl keys rotate ${context.client.name} --ssh ${role} --finish`,
    );
  }
  const current = configuredKeys(context, role);
  if (current.some(({ key }) => key.fingerprint === newKey.fingerprint)) {
    throw new SftpctlError(
      'ROTATION_SAME_KEY',
      `Key ${newKey.fingerprint} is already a key of ${userName}.`,
      'Rotate to a new key.',
    );
  }
  return { userName, current };
}

/** A rotation's start and end as the config writes them (whole seconds, UTC). */
export function rotationWindow(now: Date, graceSeconds: number): { since: string; until: string } {
  return {
    since: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    until: new Date(now.getTime() + graceSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

/** Records a started rotation in the config: the new key entry added, the rotation noted with its retiring keys. */
export async function recordRotationStart(
  context: Pick<SshRotationContext, 'file' | 'client'>,
  role: Role,
  entry: string,
  rotation: { since: string; until: string; retiring: string[] },
): Promise<void> {
  await editConfigFile(context.file, (document) => {
    const index = clientIndexInDocument(document, context.client.name);
    document.addIn(['clients', index, role, 'sshKeys'], entry);
    document.setIn(['clients', index, role, 'rotation'], document.createNode(rotation));
  });
}

/**
 * Ends a rotation: makes sure every key that stays is on the server (importing any that is missing), and only then
 * deletes the retiring keys from the server and the config. The partner can log in at every point in between.
 */
export async function finishSshRotation(
  context: SshRotationContext,
  role: Role,
  force: boolean,
): Promise<SshRotationStep[]> {
  const { userName, rotation, retiring, staying } = checkRotationFinish(context, role, force);

  const steps: SshRotationStep[] = [];
  let onServer = await listUserKeys(context.clients, context.serverId, userName);
  for (const { key } of staying) {
    if (!onServer.some((present) => present.fingerprint === key.fingerprint)) {
      await importUserKey(context.clients, context.serverId, userName, key.text);
      steps.push({ role, userName, action: 'imported', fingerprint: key.fingerprint });
    }
  }
  if (steps.length > 0) {
    onServer = await listUserKeys(context.clients, context.serverId, userName);
    const missing = staying.find(({ key }) => !onServer.some((present) => present.fingerprint === key.fingerprint));
    if (missing)
      throw new SftpctlError(
        'ROTATION_NOT_CONFIRMED',
        `${missing.key.fingerprint} is not on ${userName}; the old key stays.`,
        'Run --finish again.',
      );
  }
  for (const key of onServer.filter((present) => retiring.has(present.fingerprint))) {
    await deleteUserKey(context.clients, context.serverId, userName, key.id);
    steps.push({ role, userName, action: 'deleted', fingerprint: key.fingerprint });
  }

  await recordRotationFinish(context, role, retiring);
  for (const fingerprint of rotation.retiring)
    steps.push({ role, userName, action: 'removed-from-config', fingerprint });
  return steps;
}

/** The checks before a rotation ends: one in progress, its grace over (or forced), and a key that stays. */
export function checkRotationFinish(
  context: Pick<SshRotationContext, 'config' | 'keys' | 'client' | 'now'>,
  role: Role,
  force: boolean,
) {
  const userName = requireUser(context.client, role);
  const rotation = context.client[role]?.rotation;
  if (!rotation)
    throw new SftpctlError(
      'ROTATION_NONE',
      `The ${role} user of ${context.client.name} is not rotating.`,
      'Start one with --ssh <role> --public-key <file> (or --generate).',
    );
  if (!force && Date.parse(rotation.until) > context.now.getTime()) {
    throw new SftpctlError(
      'ROTATION_GRACE_NOT_OVER',
      `The grace period runs until ${rotation.until}; partners may still use the old key.`,
      'Wait, or pass --force to end it now.',
    );
  }
  const retiring = new Set(rotation.retiring);
  const staying = configuredKeys(context, role).filter(({ key }) => !retiring.has(key.fingerprint));
  if (staying.length === 0)
    throw new SftpctlError(
      'ROTATION_NO_NEW_KEY',
      'No key would remain: finishing would lock the partner out.',
      'Add the new key first.',
    );
  return { userName, rotation, retiring, staying };
}

/** Records a finished rotation in the config: the retiring key entries and the rotation note removed. */
export async function recordRotationFinish(
  context: Pick<SshRotationContext, 'file' | 'config' | 'keys' | 'client'>,
  role: Role,
  retiring: ReadonlySet<string>,
): Promise<void> {
  const retiringEntries = [
    ...new Set(
      configuredKeys(context, role)
        .filter(({ key }) => retiring.has(key.fingerprint))
        .map(({ entry }) => entry),
    ),
  ];
  await editConfigFile(context.file, (document) => {
    const index = clientIndexInDocument(document, context.client.name);
    for (const entry of retiringEntries.sort((a, b) => b - a))
      document.deleteIn(['clients', index, role, 'sshKeys', entry]);
    document.deleteIn(['clients', index, role, 'rotation']);
  });
}

function requireUser(client: Client, role: Role): string {
  const userName = userNameOf(client, role);
  if (!userName)
    throw new SftpctlError('USER_NONE', `Client ${client.name} has no ${role} user.`, 'Choose the role it has.', {
      kind: 'usage',
    });
  return userName;
}
