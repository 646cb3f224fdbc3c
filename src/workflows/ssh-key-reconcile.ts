import type { AwsClients } from '../aws/clients.js';
import { deleteUserKey, importUserKey, listUserKeys, type ServerSshKey } from '../aws/transfer-keys.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
import type { SshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import { configuredKeys, type Role } from './ssh-rotation.js';

export interface KeyReconcileStep {
  userName: string;
  action: 'imported' | 'deleted';
  fingerprint: string;
}

export interface KeyReconcileResult {
  steps: KeyReconcileStep[];
  /** Keys each user holds afterwards. */
  keys: Record<string, number>;
  warnings: string[];
}

/** What a reconcile would do to one user's keys: shown by `diff`, done by `deploy`. */
export interface UserKeyPlan {
  role: Role;
  userName: string;
  /** Config keys missing on the server. */
  toImport: SshPublicKey[];
  /** Server keys the config no longer lists. */
  toDelete: ServerSshKey[];
  /** The config lists no key: the server's keys are kept rather than leaving the partner locked out. */
  keptBecauseConfigIsEmpty: boolean;
  /** How many of the config's keys the user holds once the plan is done. */
  resulting: number;
}

type ReconcileInput = {
  config: Config;
  keys: KeyFacts;
  client: Client;
  clients: AwsClients;
  serverId: string;
};

/** Compares each user's keys on the server with the config's; reads only. */
export async function planClientKeys(
  options: ReconcileInput & {
    /** diff: a user not created yet (its stack not deployed, or a role just added) gets every configured key. */
    missingUserIsNew?: boolean;
  },
): Promise<UserKeyPlan[]> {
  const plans: UserKeyPlan[] = [];
  for (const role of ['upload', 'download'] as Role[]) {
    const userName = userNameOf(options.client, role);
    if (!userName) continue;
    const wanted = configuredKeys(options, role).map(({ key }) => key);
    const wantedFingerprints = new Set(wanted.map((key) => key.fingerprint));
    const present = await listUserKeys(options.clients, options.serverId, userName).catch((error: unknown) => {
      if (options.missingUserIsNew && (error as { code?: string }).code === 'USER_NOT_DEPLOYED') return [];
      throw error;
    });
    const keptBecauseConfigIsEmpty = wanted.length === 0 && present.length > 0;
    plans.push({
      role,
      userName,
      toImport: wanted.filter((key) => !present.some((entry) => entry.fingerprint === key.fingerprint)),
      toDelete: keptBecauseConfigIsEmpty ? [] : present.filter((key) => !wantedFingerprints.has(key.fingerprint)),
      keptBecauseConfigIsEmpty,
      resulting: keptBecauseConfigIsEmpty ? present.length : wanted.length,
    });
  }
  return plans;
}

/**
 * Makes each Transfer user of a client hold exactly the SSH keys its config lists (docs/keys.md): imports missing
 * keys and confirms them on the server first, and only then deletes keys the config no longer lists, so a partner
 * is never left without a working key in between. Keys of a rotation in its grace period are listed in the config,
 * so both stay. An empty list in the config keeps the server's keys (an emptied list is likelier a mistake than an
 * offboarding; `client remove` takes the users away).
 */
export async function reconcileClientKeys(options: ReconcileInput & { now: Date }): Promise<KeyReconcileResult> {
  const result: KeyReconcileResult = { steps: [], keys: {}, warnings: [] };
  for (const plan of await planClientKeys(options)) {
    const { userName, role } = plan;
    for (const key of plan.toImport) {
      await importUserKey(options.clients, options.serverId, userName, key.text);
      result.steps.push({ userName, action: 'imported', fingerprint: key.fingerprint });
    }
    if (plan.toImport.length > 0) {
      const present = await listUserKeys(options.clients, options.serverId, userName);
      const missing = plan.toImport.find((key) => !present.some((entry) => entry.fingerprint === key.fingerprint));
      if (missing) {
        throw new SftpctlError(
          'KEY_IMPORT_NOT_CONFIRMED',
          `Key ${missing.fingerprint} does not show on ${userName} after the import; no key was deleted.`,
          'Deploy again.',
        );
      }
    }
    for (const entry of plan.toDelete) {
      await deleteUserKey(options.clients, options.serverId, userName, entry.id);
      result.steps.push({ userName, action: 'deleted', fingerprint: entry.fingerprint });
    }
    result.keys[userName] = plan.resulting;
    if (plan.keptBecauseConfigIsEmpty) {
      result.warnings.push(
        `${userName}: the config lists no SSH key, so its ${plan.resulting} key(s) on the server were kept. Add the partner's key to the config, or remove the user's role from the client to take access away.`,
      );
      continue;
    }
    const rotation = options.client[role]?.rotation;
    if (rotation && Date.parse(rotation.until) <= options.now.getTime()) {
      result.warnings.push(
        `${userName}: the key rotation's grace period ended ${rotation.until}; the retiring key still works. Finish it: sftpctl keys rotate ${options.client.name} --ssh ${role} --finish`,
      );
    }
    if (plan.resulting === 0)
      result.warnings.push(`${userName} has no SSH key in the config: nobody can log in as it.`);
  }
  return result;
}
