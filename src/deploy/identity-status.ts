import type { AwsClients } from '../aws/clients.js';
import { identityTableError, openIdentityTable } from '../aws/identity-table.js';
import type { ServerSshKey } from '../aws/transfer-keys.js';
import { identityTableName } from '../core/config/naming.js';
import type { Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import type { IdentityRecord } from '../core/identity/record.js';
import { fingerprintOf } from '../core/identity/table-plan.js';

/** A user's keys where they live: on the Transfer server (service-managed) or in the user table (lambda). */
export interface UserKeySource {
  /** "on the server" / "in <table>", for the report's sentences. */
  where: string;
  /** Where a user lives: "on server s-…" / "in <table>". */
  home: string;
  list(userName: string): Promise<(ServerSshKey & { expiresAt?: string })[]>;
}

/**
 * The user table as `status` reads it: one consistent scan (read on first use, shared by every user's lookup), each
 * user's keys with their expiry, and the items that do not match the config (CIDRs, home, enabled, role) or that no
 * configured user owns — what a deploy would rewrite or delete.
 */
export function tableKeySource(clients: AwsClients, config: Config, env: string) {
  const table = identityTableName(config.project, env);
  let scan: Promise<{ records: Map<string, IdentityRecord>; malformed: string[] }> | undefined;
  const read = () => {
    scan ??= (async () => {
      try {
        const store = await openIdentityTable(clients, config.project, env);
        const { records, malformed } = await store.scan();
        return { records: new Map(records.map((record) => [record.userName, record])), malformed };
      } catch (error) {
        throw identityTableError(error, table, env);
      }
    })();
    return scan;
  };
  const source: UserKeySource = {
    where: `in ${table}`,
    home: `in ${table}`,
    async list(userName) {
      const record = (await read()).records.get(userName);
      if (!record)
        throw new SftpctlError('USER_NOT_DEPLOYED', `User ${userName} is not in the user table ${table}.`, 'Deploy.');
      return record.sshKeys.map((key) => ({
        id: key.publicKey,
        fingerprint: fingerprintOf(key.publicKey),
        importedAt: undefined,
        ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
      }));
    },
  };
  return {
    table,
    source,
    /** Sentences for items that differ from `wanted` (the config's records) or that no wanted user owns. */
    async drift(wanted: readonly IdentityRecord[], wholeEnvironment: boolean): Promise<string[]> {
      let found: Awaited<ReturnType<typeof read>>;
      try {
        found = await read();
      } catch (error) {
        return [`could not read the user table ${table}: ${(error as Error).message}`];
      }
      const problems: string[] = [];
      const names = new Set(wanted.map((record) => record.userName));
      for (const record of wanted) {
        const item = found.records.get(record.userName);
        if (!item) continue;
        const fields = [
          item.enabled !== record.enabled ? 'enabled' : '',
          item.allowAnyIp !== record.allowAnyIp ||
          [...item.allowedCidrs].sort().join() !== [...record.allowedCidrs].sort().join()
            ? 'allowed addresses'
            : '',
          JSON.stringify(item.homeDirectoryMappings) !== JSON.stringify(record.homeDirectoryMappings) ? 'home' : '',
          item.client !== record.client || item.role !== record.role ? 'client/role' : '',
          item.roleArn ? '' : 'role ARN',
        ].filter(Boolean);
        if (fields.length > 0)
          problems.push(
            `user ${record.userName} in ${table} differs from the config (${fields.join(', ')}): run sftpctl deploy`,
          );
      }
      for (const name of found.malformed)
        problems.push(`item ${name} in ${table} is not whole, so it refuses every login: run sftpctl deploy`);
      if (wholeEnvironment)
        for (const name of found.records.keys())
          if (!names.has(name))
            problems.push(
              `user ${name} in ${table} is not in the config and can still log in: run sftpctl deploy to remove it`,
            );
      return problems;
    },
  };
}
