import type { StackEvent } from '@aws-sdk/client-cloudformation';
import type { EngineDeps } from './engine-deps.js';
import { isSettled, isStackMissing } from './stack-status.js';

export interface OperationEvent {
  logicalId: string;
  type: string;
  status: string;
  reason?: string;
  timestamp: Date;
}

export interface OperationProgress {
  /** Resources that reached a final state in this operation. */
  done: number;
  total: number;
  latest: OperationEvent;
}

export interface OperationResult {
  status: string;
  reason?: string;
  /** The first resource that failed, and why: what a person needs first when an operation fails. */
  firstFailure?: OperationEvent;
  events: OperationEvent[];
}

/** Cancellations that follow a real failure; they never explain it. */
const CANCELLED = /cancell?ed/i;

/**
 * Follows one stack operation (the one `token` started) until it settles, reporting every new event of it. Events
 * come newest first and paginated; each poll reads back only to the newest event it has seen.
 */
export async function watchOperation(
  options: {
    stackId: string;
    stackName: string;
    token: string;
    /** Resources the operation is expected to touch (progress denominator). */
    total: number;
    onProgress?: (progress: OperationProgress) => void;
  },
  deps: EngineDeps,
): Promise<OperationResult> {
  const cfn = await deps.clients.cloudFormation();
  const { DescribeStackEventsCommand, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const seen = new Set<string>();
  const events: OperationEvent[] = [];
  const finished = new Set<string>();
  let total = options.total;

  // When this operation's first event happened: paging stops at older events. Events of other tokens newer than it
  // (a rollback started from the console) are skipped, not taken as the end of this operation's events.
  let startedAt: Date | undefined;
  const readNewEvents = async (): Promise<OperationEvent[]> => {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    pages: do {
      const page = await cfn.send(new DescribeStackEventsCommand({ StackName: options.stackId, NextToken: token }));
      for (const event of page.StackEvents ?? []) {
        if (seen.has(event.EventId ?? '')) break pages;
        if (event.ClientRequestToken === options.token) fresh.push(event);
        else if (!startedAt || (event.Timestamp && event.Timestamp < startedAt)) break pages;
      }
      token = page.NextToken;
    } while (token);
    const oldest = fresh.at(-1)?.Timestamp;
    if (!startedAt && oldest) startedAt = oldest;
    for (const event of fresh) seen.add(event.EventId ?? '');
    return fresh.reverse().map((event) => ({
      logicalId: event.LogicalResourceId ?? '?',
      type: event.ResourceType ?? '?',
      status: event.ResourceStatus ?? '?',
      ...(event.ResourceStatusReason ? { reason: event.ResourceStatusReason } : {}),
      timestamp: event.Timestamp ?? deps.now(),
    }));
  };

  let lostContact = 0;
  let settledWithoutEvents = 0;
  for (;;) {
    let stack: { StackStatus?: string; StackStatusReason?: string } | undefined;
    let fresh: OperationEvent[];
    try {
      try {
        stack = (await cfn.send(new DescribeStacksCommand({ StackName: options.stackId }))).Stacks?.[0];
      } catch (error) {
        if (!isStackMissing(error)) throw error;
        stack = { StackStatus: 'DELETE_COMPLETE' };
      }
      fresh = await readNewEvents();
      lostContact = 0;
    } catch (error) {
      // The operation runs on in CloudFormation whatever happens here: throttling or a network blip (after the SDK's
      // own retries) only delays the next look. Give up only when it keeps failing.
      if (++lostContact > 10) throw error;
      await deps.sleep(Math.min(30_000, deps.pollMs * 2 ** lostContact));
      continue;
    }
    for (const event of fresh) {
      events.push(event);
      if (event.type !== 'AWS::CloudFormation::Stack' && /_(COMPLETE|FAILED|SKIPPED)$/.test(event.status)) {
        finished.add(event.logicalId);
        total = Math.max(total, finished.size);
      }
      options.onProgress?.({ done: finished.size, total, latest: event });
    }
    const status = stack?.StackStatus ?? 'UNKNOWN';
    // Until one event of this operation shows, the status read may still be the previous operation's (a few polls).
    if (isSettled(status) && events.length === 0 && ++settledWithoutEvents < 5) {
      await deps.sleep(deps.pollMs);
      continue;
    }
    if (isSettled(status)) {
      const firstFailure =
        events.find(
          (event) =>
            event.status.endsWith('_FAILED') &&
            event.type !== 'AWS::CloudFormation::Stack' &&
            !CANCELLED.test(event.reason ?? ''),
        ) ?? events.find((event) => event.status.endsWith('_FAILED'));
      return {
        status,
        ...(stack?.StackStatusReason ? { reason: stack.StackStatusReason } : {}),
        ...(firstFailure ? { firstFailure } : {}),
        events,
      };
    }
    await deps.sleep(deps.pollMs);
  }
}
