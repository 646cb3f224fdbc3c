import type { AwsClients } from '../aws/clients.js';
import { deleteUserKey, importUserKey, listUserKeys } from '../aws/transfer-keys.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
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

/**
 * Makes each Transfer user of a client hold exactly the SSH keys its config lists (docs/keys.md): imports missing
 * keys and confirms them on the server first, and only then deletes keys the config no longer lists, so a partner
 * is never left without a working key in between. Keys of a rotation in its grace period are listed in the config,
 * so both stay.
 */
export async function reconcileClientKeys(options: {
  config: Config;
  keys: KeyFacts;
  client: Client;
  clients: AwsClients;
  serverId: string;
  now: Date;
}): Promise<KeyReconcileResult> {
  const result: KeyReconcileResult = { steps: [], keys: {}, warnings: [] };
  for (const role of ['upload', 'download'] as Role[]) {
    const userName = userNameOf(options.client, role);
    if (!userName) continue;
    const wanted = configuredKeys(options, role).map(({ key }) => key);
    const wantedFingerprints = new Set(wanted.map((key) => key.fingerprint));
    let present = await listUserKeys(options.clients, options.serverId, userName);
    for (const key of wanted) {
      if (present.some((entry) => entry.fingerprint === key.fingerprint)) continue;
      await importUserKey(options.clients, options.serverId, userName, key.text);
      result.steps.push({ userName, action: 'imported', fingerprint: key.fingerprint });
    }
    if (result.steps.some((step) => step.userName === userName)) {
      present = await listUserKeys(options.clients, options.serverId, userName);
      const missing = wanted.find((key) => !present.some((entry) => entry.fingerprint === key.fingerprint));
      if (missing) {
        throw new SftpctlError(
          'KEY_IMPORT_NOT_CONFIRMED',
          `Key ${missing.fingerprint} does not show on ${userName} after the import; no key was deleted.`,
          'Deploy again.',
        );
      }
    }
    if (wanted.length === 0 && present.length > 0) {
      // An empty list is more likely a mistake than an offboarding (client remove takes the user away): keep access.
      result.warnings.push(
        `${userName}: the config lists no SSH key, so its ${present.length} key(s) on the server were kept. Add the partner's key to the config, or remove the user's role from the client to take access away.`,
      );
      result.keys[userName] = present.length;
      continue;
    }
    for (const entry of present.filter((key) => !wantedFingerprints.has(key.fingerprint))) {
      await deleteUserKey(options.clients, options.serverId, userName, entry.id);
      result.steps.push({ userName, action: 'deleted', fingerprint: entry.fingerprint });
    }
    result.keys[userName] = present.filter((key) => wantedFingerprints.has(key.fingerprint)).length;
    const rotation = options.client[role]?.rotation;
    if (rotation && Date.parse(rotation.until) <= options.now.getTime()) {
      result.warnings.push(
        `${userName}: the key rotation's grace period ended ${rotation.until}; the retiring key still works. Finish it: sftpctl keys rotate ${options.client.name} --ssh ${role} --finish`,
      );
    }
    if (wanted.length === 0) result.warnings.push(`${userName} has no SSH key in the config: nobody can log in as it.`);
  }
  return result;
}
