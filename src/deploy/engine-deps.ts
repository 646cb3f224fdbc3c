import type { AwsClients, AwsTarget } from '../aws/clients.js';

/** What the deploy engine needs from the outside world; tests pass a no-op sleep and a fixed clock. */
export interface EngineDeps {
  clients: AwsClients;
  sleep(ms: number): Promise<void>;
  now(): Date;
  /** Between two polls of CloudFormation. */
  pollMs: number;
  /**
   * A CloudFormation service role (--role-arn): CloudFormation creates, updates and deletes with its rights, so the
   * operator's own credentials need little more than CloudFormation and the assets bucket.
   */
  roleArn?: string;
}

export function realEngineDeps(clients: AwsClients): EngineDeps {
  return {
    clients,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    pollMs: 3000,
  };
}

/** A token naming one operation; CloudFormation stamps it on every event the operation causes. */
export function operationToken(verb: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '').replace(/Z$/, '');
  return `sftpctl-${verb}-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Runs `task` over `items`, at most `limit` at a time, keeping the order of results; stops at the first failure. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  // After one task fails, no new one starts (those running finish): a Ctrl+C at one stack's question must not let
  // the others go on creating change sets.
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index]!, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** What tests (and the recorded demo) change about a command's engine: no waiting, S3 pointed at a local server. */
export interface EngineOverrides {
  deps?: Partial<Omit<EngineDeps, 'clients'>>;
  aws?: AwsTarget['overrides'];
}
