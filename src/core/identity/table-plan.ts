import { parseSshPublicKey } from '../crypto/ssh-public-key.js';
import type { IdentityKey, IdentityRecord } from './record.js';

/** What reconciling the user table does to one user: shown by `diff`, done by `deploy`. */
export interface UserTableChange {
  userName: string;
  client: string;
  action: 'add' | 'update' | 'delete' | 'unchanged';
  /** Key fingerprints the item gains and loses. */
  addKeys: string[];
  removeKeys: string[];
  /** Fingerprints whose expiry changes (a rotation started or moved). */
  expiryChanged: string[];
  /** The config lists no key: the item's keys are kept rather than locking the partner out. */
  keptBecauseConfigIsEmpty?: true;
}

export interface UserTablePlan {
  writes: IdentityRecord[];
  deletes: string[];
  changes: UserTableChange[];
}

/**
 * Compares the table's items with the records the config gives and says what to write and delete. Two fields are
 * not the config's: `passwordSecret` (set by `client password`) and, when the caller has none, `roleArn` (diff does
 * not know it) are carried over from the item. An emptied key list keeps the item's keys, as the Transfer reconcile
 * does. Items outside `inScope` (a client this deploy did not touch) are left alone; unreadable items in scope are
 * rewritten or deleted.
 */
export function planUserTable(
  existing: { records: readonly IdentityRecord[]; malformed: readonly string[] },
  wanted: readonly IdentityRecord[],
  inScope: (userName: string, client: string | undefined) => boolean,
): UserTablePlan {
  const present = new Map(existing.records.map((record) => [record.userName, record]));
  const malformed = new Set(existing.malformed);
  // One record per user, the last given winning.
  const byName = new Map(wanted.map((record) => [record.userName, record]));
  const wantedNames = new Set(byName.keys());
  const plan: UserTablePlan = { writes: [], deletes: [], changes: [] };
  for (const record of byName.values()) {
    const old = present.get(record.userName);
    const keptBecauseConfigIsEmpty = record.sshKeys.length === 0 && (old?.sshKeys.length ?? 0) > 0;
    const merged: IdentityRecord = {
      ...record,
      ...(!record.roleArn && old?.roleArn ? { roleArn: old.roleArn } : {}),
      ...(!record.passwordSecret && old?.passwordSecret ? { passwordSecret: old.passwordSecret } : {}),
      sshKeys: keptBecauseConfigIsEmpty ? [...old!.sshKeys] : record.sshKeys,
    };
    const keys = keyChanges(old?.sshKeys ?? [], merged.sshKeys);
    const same = old !== undefined && !malformed.has(record.userName) && canonical(old) === canonical(merged);
    if (!same) plan.writes.push(merged);
    plan.changes.push({
      userName: record.userName,
      client: record.client,
      action: same ? 'unchanged' : old || malformed.has(record.userName) ? 'update' : 'add',
      ...keys,
      ...(keptBecauseConfigIsEmpty ? { keptBecauseConfigIsEmpty: true as const } : {}),
    });
  }
  const stale = [
    ...existing.records.filter(
      (record) => !wantedNames.has(record.userName) && inScope(record.userName, record.client),
    ),
    ...[...malformed]
      .filter((name) => !wantedNames.has(name) && inScope(name, undefined))
      .map((name) => ({ userName: name, client: '', sshKeys: [] as IdentityKey[] })),
  ];
  for (const record of stale) {
    plan.deletes.push(record.userName);
    plan.changes.push({
      userName: record.userName,
      client: record.client,
      action: 'delete',
      addKeys: [],
      removeKeys: record.sshKeys.map((key) => fingerprintOf(key.publicKey)),
      expiryChanged: [],
    });
  }
  return plan;
}

/** `SHA256:…` of a stored `type base64` key, or `unparseable`. */
export function fingerprintOf(publicKey: string): string {
  const parsed = parseSshPublicKey(publicKey);
  return parsed.ok ? parsed.key.fingerprint : 'unparseable';
}

function keyChanges(before: readonly IdentityKey[], after: readonly IdentityKey[]) {
  const old = new Map(before.map((key) => [fingerprintOf(key.publicKey), key.expiresAt]));
  const next = new Map(after.map((key) => [fingerprintOf(key.publicKey), key.expiresAt]));
  return {
    addKeys: [...next.keys()].filter((fingerprint) => !old.has(fingerprint)),
    removeKeys: [...old.keys()].filter((fingerprint) => !next.has(fingerprint)),
    expiryChanged: [...next]
      .filter(([fingerprint, at]) => old.has(fingerprint) && old.get(fingerprint) !== at)
      .map(([fingerprint]) => fingerprint),
  };
}

/** A record in a fixed field order, so an unchanged user compares equal whatever order its item came in. */
export function canonical(record: IdentityRecord): string {
  return JSON.stringify([
    record.userName,
    record.client,
    record.role,
    record.enabled,
    record.roleArn ?? null,
    record.homeDirectoryMappings.map((mapping) => [mapping.entry, mapping.target]),
    record.sshKeys.map((key) => [key.publicKey, key.expiresAt ?? null]),
    record.allowedCidrs,
    record.allowAnyIp,
    record.passwordSecret ?? null,
  ]);
}
