import type { AwsClients } from '../aws/clients.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import type { Config } from '../core/config/schema.js';
import type { StackDiff } from './diff.js';
import { planIdentityTable } from './identity-table.js';

/**
 * Lambda identity mode: reads the user table and puts on each client stack's diff what a deploy would change in its
 * users' items (added, updated with key fingerprints, deleted); a removed client's users go on the server stack's
 * entry. A stack with table changes counts as changed. A failed read is a note, the stacks' own diffs stand.
 */
export async function attachTableChanges(
  request: { config: Config; env: string; keys: KeyFacts; clients: AwsClients; whole: boolean },
  diffs: StackDiff[],
): Promise<void> {
  const clientDiffs = diffs.filter((entry) => entry.kind === 'client' && entry.state !== 'blocked');
  const server = diffs.find((entry) => entry.kind === 'server');
  let changes: Awaited<ReturnType<typeof planIdentityTable>>;
  try {
    changes = await planIdentityTable({
      config: request.config,
      env: request.env,
      keys: request.keys,
      clients: request.clients,
      clientNames: new Set(clientDiffs.map((entry) => entry.client!)),
      whole: request.whole,
    });
  } catch (error) {
    const note = `user table changes unknown: ${(error as Error).message}`;
    for (const entry of clientDiffs) entry.note = [entry.note, note].filter(Boolean).join('; ');
    return;
  }
  for (const change of changes) {
    const owner = clientDiffs.find((entry) => entry.client === change.client) ?? server;
    if (!owner) continue;
    owner.identity = [...(owner.identity ?? []), change];
    if (owner.state === 'unchanged') owner.state = 'changed';
  }
}
