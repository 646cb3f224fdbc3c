import type { SQSClient } from '@aws-sdk/client-sqs';
import { SftpctlError } from '../core/errors.js';

/** A client's queue and the dead-letter queue it hands up on, by URL (the client stack's outputs). */
export interface QueuePair {
  chain: 'ingress' | 'egress';
  sourceUrl: string;
  deadLetterUrl: string;
}

export interface RedriveResult {
  chain: 'ingress' | 'egress';
  /**
   * `move-task`: SQS moves the messages (asynchronously, the task handle to follow it); `copied`: received, sent to the
   * source queue, deleted here one batch at a time; `in-progress`: a move task of an earlier run is still going;
   * `empty`: nothing to move.
   */
  method: 'move-task' | 'copied' | 'in-progress' | 'empty';
  /** Messages moved (copied) or to move (a move task: SQS's estimate). */
  messages: number;
  /** Messages that could not be sent back (copied only): still in the dead-letter queue, visible again soon. */
  failed?: number;
  taskHandle?: string;
}

/** The stack outputs that name each chain's queues (src/templates/client.ts). */
export const QUEUE_OUTPUTS = {
  ingress: { source: 'IngressQueueUrl', deadLetter: 'IngressDeadLetterQueueUrl' },
  egress: { source: 'EgressQueueUrl', deadLetter: 'EgressDeadLetterQueueUrl' },
} as const;

export function queuePairs(outputs: Record<string, string>): QueuePair[] {
  return (['ingress', 'egress'] as const).flatMap((chain) => {
    const sourceUrl = outputs[QUEUE_OUTPUTS[chain].source];
    const deadLetterUrl = outputs[QUEUE_OUTPUTS[chain].deadLetter];
    return sourceUrl && deadLetterUrl ? [{ chain, sourceUrl, deadLetterUrl }] : [];
  });
}

/** Receive this long: a message that could not be sent back becomes visible in the dead-letter queue again after it. */
const COPY_VISIBILITY_SECONDS = 120;

/**
 * Sends the dead letters of each pair back to their source queue. Where the dead-letter queue's redrive allow policy
 * permits its source queue, SQS's own move task does it (and a running one is reported, never started twice);
 * otherwise the messages are received, sent to the source queue and only then deleted here, so a failure loses
 * nothing (at worst a message is delivered twice, which the pipeline treats as a duplicate). Safe to run again.
 */
export async function redriveDeadLetters(sqs: SQSClient, pairs: readonly QueuePair[]): Promise<RedriveResult[]> {
  const { GetQueueAttributesCommand, ListMessageMoveTasksCommand, StartMessageMoveTaskCommand } = await import(
    '@aws-sdk/client-sqs'
  );
  const results: RedriveResult[] = [];
  for (const pair of pairs) {
    const [dead, source] = await Promise.all(
      [pair.deadLetterUrl, pair.sourceUrl].map(async (url) => {
        const { Attributes = {} } = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'RedriveAllowPolicy'],
          }),
        );
        return Attributes;
      }),
    );
    const deadArn = required(dead?.QueueArn, pair.deadLetterUrl);
    const sourceArn = required(source?.QueueArn, pair.sourceUrl);
    const waiting = Number(dead?.ApproximateNumberOfMessages ?? 0);
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadArn, MaxResults: 1 }));
    const running = tasks.Results?.find((task) => task.Status === 'RUNNING');
    if (running) {
      results.push({
        chain: pair.chain,
        method: 'in-progress',
        messages: Math.max(
          0,
          (running.ApproximateNumberOfMessagesToMove ?? 0) - (running.ApproximateNumberOfMessagesMoved ?? 0),
        ),
        ...(running.TaskHandle ? { taskHandle: running.TaskHandle } : {}),
      });
      continue;
    }
    if (waiting === 0) {
      results.push({ chain: pair.chain, method: 'empty', messages: 0 });
      continue;
    }
    if (moveAllowed(dead?.RedriveAllowPolicy, sourceArn)) {
      const task = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadArn, DestinationArn: sourceArn }));
      results.push({
        chain: pair.chain,
        method: 'move-task',
        messages: waiting,
        ...(task.TaskHandle ? { taskHandle: task.TaskHandle } : {}),
      });
      continue;
    }
    results.push({ chain: pair.chain, method: 'copied', ...(await copyBack(sqs, pair)) });
  }
  return results;
}

function required(value: string | undefined, url: string): string {
  if (!value)
    throw new SftpctlError(
      'QUEUE_UNREADABLE',
      `SQS returned no ARN for ${url}.`,
      'Check the client stack is deployed.',
    );
  return value;
}

/** The dead-letter queue's RedriveAllowPolicy lets `sourceArn` use it (absent: every queue may). */
export function moveAllowed(policy: string | undefined, sourceArn: string): boolean {
  if (!policy) return true;
  try {
    const parsed = JSON.parse(policy) as { redrivePermission?: string; sourceQueueArns?: string[] };
    if (parsed.redrivePermission === 'allowAll') return true;
    if (parsed.redrivePermission === 'byQueue') return parsed.sourceQueueArns?.includes(sourceArn) ?? false;
    return false;
  } catch {
    return false;
  }
}

async function copyBack(sqs: SQSClient, pair: QueuePair): Promise<{ messages: number; failed: number }> {
  const { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } = await import(
    '@aws-sdk/client-sqs'
  );
  let messages = 0;
  let failed = 0;
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pair.deadLetterUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: COPY_VISIBILITY_SECONDS,
        MessageAttributeNames: ['All'],
      }),
    );
    const batch = (received.Messages ?? []).filter((message) => message.ReceiptHandle && message.Body !== undefined);
    if (batch.length === 0) return { messages, failed };
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pair.sourceUrl,
        Entries: batch.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body!,
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        })),
      }),
    );
    const delivered = new Set((sent.Successful ?? []).map((entry) => Number(entry.Id)));
    failed += batch.length - delivered.size;
    if (delivered.size === 0) continue;
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: pair.deadLetterUrl,
        Entries: [...delivered].map((index) => ({ Id: String(index), ReceiptHandle: batch[index]!.ReceiptHandle! })),
      }),
    );
    // Sent but not deleted: it comes back visible and is sent again by a later run — a duplicate, never a loss.
    messages += deleted.Successful?.length ?? 0;
  }
}
