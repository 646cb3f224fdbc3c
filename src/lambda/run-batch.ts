import { isSftpctlError } from '../core/errors.js';
import { parseQueueMessage } from '../core/pipeline/events.js';
import { faultOf, type PipelineFault } from '../core/pipeline/faults.js';
import type { PipelineEvent } from '../core/pipeline/types.js';

/** The parts of an SQS event a handler reads (no @types/aws-lambda needed). */
export interface SqsEvent {
  Records: { messageId: string; body: string; attributes?: { ApproximateReceiveCount?: string } }[];
}
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** One JSON line per event on stdout: what CloudWatch Logs Insights queries. */
export function logJson(event: PipelineEvent | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/**
 * Runs `process` for every object in a batch and reports the messages that failed transiently, so SQS retries only
 * those (and, after maxReceiveCount, moves them to the dead-letter queue). Objects of other buckets are logged and dropped.
 */
export async function runBatch(
  event: SqsEvent,
  bucket: string,
  process: (key: string) => Promise<unknown>,
  client: string,
): Promise<SqsBatchResponse> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      const { objects, ignored } = parseQueueMessage(record.body);
      for (const reason of ignored) logJson({ event: 'ignored', client, reason, messageId: record.messageId });
      for (const object of objects) {
        if (object.bucket !== bucket) {
          logJson({ event: 'ignored', client, reason: `bucket ${object.bucket} is not ${bucket}`, key: object.key });
          continue;
        }
        await process(object.key);
      }
    } catch (error) {
      // A permanent failure was quarantined when it was thrown: retrying it cannot succeed and would only delay the
      // dead letter. It is still a `failed` event, which the client's failure metric counts and alarms on at once.
      const quarantined = (error as Partial<PipelineFault>)?.quarantined === true;
      if (!quarantined) batchItemFailures.push({ itemIdentifier: record.messageId });
      logJson({
        event: 'failed',
        client,
        messageId: record.messageId,
        attempt: Number(record.attributes?.ApproximateReceiveCount ?? 1),
        fault: faultOf(error),
        ...(quarantined ? { quarantined: true } : {}),
        code: isSftpctlError(error) ? error.code : 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return { batchItemFailures };
}
