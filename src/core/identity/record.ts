import { bucketName, type UserRole } from '../config/naming.js';
import { clientsInEnvironment, userNameOf } from '../config/resolve.js';
import type { Client, Config } from '../config/schema.js';

/** One SSH public key of a user, as `type base64` (comment dropped), with an optional expiry. */
export interface IdentityKey {
  publicKey: string;
  /** ISO-8601; a key past it is refused. */
  expiresAt?: string;
}

/**
 * Everything the identity core needs to decide a login, for one user: who (client, role), where they land (logical
 * home mappings), with which keys, from which addresses. No secret material: an FTPS user's password hash stays in
 * the secret store and is named here only by its secret.
 */
export interface IdentityRecord {
  userName: string;
  client: string;
  role: UserRole;
  enabled: boolean;
  /** The IAM role Transfer assumes for the session (AWS only). */
  roleArn?: string;
  homeDirectoryMappings: { entry: string; target: string }[];
  sshKeys: IdentityKey[];
  /** IPv4 CIDRs; a login from anywhere else is refused. */
  allowedCidrs: string[];
  /** Any source address (the config's allowAnyIp). */
  allowAnyIp: boolean;
  /** Name of the secret holding this user's password hash (FTPS users only). */
  passwordSecret?: string;
}

/**
 * The records of one environment, derived from the config: one per user of every client deployed there. Key files
 * are the caller's to read (`keysOf`), so this stays free of I/O.
 */
export function identityRecordsFor(
  config: Config,
  env: string,
  options: {
    keysOf(client: Client, role: UserRole): IdentityKey[];
    roleArnOf?(client: Client, role: UserRole): string;
  },
): IdentityRecord[] {
  const records: IdentityRecord[] = [];
  for (const client of clientsInEnvironment(config, env)) {
    for (const role of ['upload', 'download'] as const) {
      const userName = userNameOf(client, role);
      if (!userName) continue;
      const target = `/${bucketName(config.project, env, client.name, role)}`;
      records.push({
        userName,
        client: client.name,
        role,
        enabled: client[role]?.enabled ?? true,
        ...(options.roleArnOf ? { roleArn: options.roleArnOf(client, role) } : {}),
        homeDirectoryMappings: [{ entry: '/', target }],
        sshKeys: options.keysOf(client, role),
        allowedCidrs: [...client.allowedIps],
        allowAnyIp: client.allowAnyIp,
      });
    }
  }
  return records;
}
