import { SftpctlError } from '../core/errors.js';
import { FUNCTION_OBJECT_STORE_USES } from '../core/permissions.js';
import { requiredVariable, settingsFromEnvironment } from '../core/pipeline/function-env.js';
import { sweepUploads } from '../core/pipeline/sweeper.js';
import type { PipelineDeps, PipelineSettings } from '../core/pipeline/types.js';
import type { KeyStore } from '../core/ports.js';
import { logJson } from './run-batch.js';

/**
 * Environment of the sweeper function (src/templates/client-sweeper.ts): the ingress function's pipeline settings
 * (FUNCTION_ENV, read by settingsFromEnvironment) plus these.
 */
export const SWEEPER_ENV = {
  ingressQueueUrl: 'SFTPCTL_INGRESS_QUEUE_URL',
  olderThanMinutes: 'SFTPCTL_SWEEP_AFTER_MINUTES',
} as const;

export interface SweeperDeps extends PipelineDeps {
  /** Puts message bodies on the ingress queue. */
  send: (bodies: string[]) => Promise<void>;
  /** The sweep's own summary line (the metric filter counts its `found`). */
  report: (event: Record<string, unknown>) => void;
}

/**
 * One sweep with the pipeline's sweeper core (the same one `local up` runs): an upload no function marked lost its
 * event and goes back on the ingress queue as an S3 "Object Created" event (EventBridge shape, raw key), so ingress
 * processes it like any other; what waited for a checksum sidecar past the client's deadline is quarantined by the
 * core. Logs one `swept` event whose `found` the client stack counts (metric filter) and alarms on.
 */
export function sweeperHandler(deps: SweeperDeps, settings: PipelineSettings, options: { olderThanMinutes: number }) {
  return async (): Promise<{ found: number; expired: number }> => {
    const result = await sweepUploads(deps, settings, { olderThanMs: options.olderThanMinutes * 60_000 });
    const bodies = result.requeue.map((key) =>
      JSON.stringify({
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: { bucket: { name: settings.buckets.upload }, object: { key }, reason: 'sftpctl-sweeper' },
      }),
    );
    if (bodies.length > 0) await deps.send(bodies);
    deps.report({
      event: 'swept',
      client: settings.client,
      found: result.requeue.length,
      expired: result.expired.length,
      keys: result.requeue.slice(0, 20),
    });
    return { found: result.requeue.length, expired: result.expired.length };
  };
}

let warm: (() => Promise<{ found: number; expired: number }>) | undefined;
/** The scheduled entry point (EventBridge schedule → `ingress.sweep`, shipped in the ingress bundle). */
export async function sweep(): Promise<{ found: number; expired: number }> {
  if (!warm) warm = await awsSweeper();
  return warm();
}

async function awsSweeper() {
  const [{ S3Client }, { SQSClient, SendMessageBatchCommand }, { S3ObjectStore }, { guardedStore }] = await Promise.all(
    [
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/client-sqs'),
      import('../aws/s3-object-store.js'),
      import('./guarded-store.js'),
    ],
  );
  const need = (name: string) => requiredVariable(process.env, name);
  const settings = settingsFromEnvironment(process.env, 'ingress');
  const olderThanMinutes = Number(need(SWEEPER_ENV.olderThanMinutes));
  const queueUrl = need(SWEEPER_ENV.ingressQueueUrl);
  const sqs = new SQSClient({});
  const store = guardedStore(
    new S3ObjectStore(new S3Client({})),
    'sweeper',
    { upload: settings.buckets.upload, raw: settings.buckets.raw },
    FUNCTION_OBJECT_STORE_USES.sweeper,
  );
  const send = async (bodies: string[]) => {
    for (let start = 0; start < bodies.length; start += 10) {
      const batch = bodies.slice(start, start + 10);
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((MessageBody, index) => ({ Id: String(start + index), MessageBody })),
        }),
      );
      if (result.Failed?.length)
        throw new SftpctlError(
          'SWEEP_REQUEUE_FAILED',
          `${result.Failed.length} lost upload(s) could not be put back on the ingress queue (${result.Failed[0]?.Code}).`,
          'The next sweep tries again.',
        );
    }
  };
  const keys: KeyStore = {
    ingressPrivateKeys: () => Promise.reject(new Error('the sweeper reads no keys')),
    partnerPublicKey: () => Promise.reject(new Error('the sweeper reads no keys')),
  };
  const clock = { now: () => new Date() };
  return sweeperHandler({ store, keys, send, log: logJson, report: logJson, clock }, settings, { olderThanMinutes });
}
