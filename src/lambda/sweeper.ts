import { SftpctlError } from '../core/errors.js';
import { FUNCTION_OBJECT_STORE_USES } from '../core/permissions.js';
import type { ObjectStore } from '../core/ports.js';
import { logJson } from './run-batch.js';
import { sweepUploads } from './sweep-uploads.js';

/** Environment of the sweeper function (the client stack sets them; src/templates/client-sweeper.ts). */
export const SWEEPER_ENV = {
  client: 'SFTPCTL_CLIENT',
  uploadBucket: 'SFTPCTL_UPLOAD_BUCKET',
  ingressQueueUrl: 'SFTPCTL_INGRESS_QUEUE_URL',
  olderThanMinutes: 'SFTPCTL_SWEEP_AFTER_MINUTES',
} as const;

/** An upload object nobody processed: its upload-completed event was lost (Transfer delivers them best effort). */
export interface SweepFind {
  key: string;
  size: number;
}

/**
 * The sweeper core's contract: upload objects older than `olderThanMinutes` that carry no processed / quarantined /
 * waiting mark. (The pipeline's own sweep replaces src/lambda/sweep-uploads.ts when it is merged; same contract.)
 */
export type SweepUploads = (
  store: ObjectStore,
  options: { bucket: string; olderThanMinutes: number; now: Date },
) => Promise<SweepFind[]>;

export interface SweeperDeps {
  store: ObjectStore;
  /** Puts message bodies on the ingress queue. */
  send: (bodies: string[]) => Promise<void>;
  log: (event: Record<string, unknown>) => void;
  now: () => Date;
}

export interface SweeperSettings {
  client: string;
  uploadBucket: string;
  olderThanMinutes: number;
}

/**
 * One sweep: finds lost uploads and puts an S3 "Object Created" event (EventBridge shape, raw key) for each on the
 * ingress queue, so ingress processes them like any other upload; logs one `swept` event whose `found` the client
 * stack counts (metric filter) and alarms on.
 */
export function sweeperHandler(deps: SweeperDeps, settings: SweeperSettings, sweep: SweepUploads = sweepUploads) {
  return async (): Promise<{ found: number }> => {
    const finds = await sweep(deps.store, {
      bucket: settings.uploadBucket,
      olderThanMinutes: settings.olderThanMinutes,
      now: deps.now(),
    });
    const bodies = finds.map((find) =>
      JSON.stringify({
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: {
          bucket: { name: settings.uploadBucket },
          object: { key: find.key, size: find.size },
          reason: 'sftpctl-sweeper',
        },
      }),
    );
    if (bodies.length > 0) await deps.send(bodies);
    deps.log({
      event: 'swept',
      client: settings.client,
      found: finds.length,
      keys: finds.slice(0, 20).map((find) => find.key),
    });
    return { found: finds.length };
  };
}

let warm: (() => Promise<{ found: number }>) | undefined;
/** The scheduled entry point (EventBridge schedule → `ingress.sweep`, shipped in the ingress bundle). */
export async function sweep(): Promise<{ found: number }> {
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
  const need = (name: string) => {
    const value = process.env[name];
    if (!value)
      throw new SftpctlError(
        'FUNCTION_ENV_MISSING',
        `Environment variable ${name} is not set.`,
        'Redeploy the client stack.',
        { kind: 'internal' },
      );
    return value;
  };
  const settings: SweeperSettings = {
    client: need(SWEEPER_ENV.client),
    uploadBucket: need(SWEEPER_ENV.uploadBucket),
    olderThanMinutes: Number(need(SWEEPER_ENV.olderThanMinutes)),
  };
  const queueUrl = need(SWEEPER_ENV.ingressQueueUrl);
  const sqs = new SQSClient({});
  const store = guardedStore(
    new S3ObjectStore(new S3Client({})),
    'sweeper',
    { upload: settings.uploadBucket },
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
  return sweeperHandler({ store, send, log: logJson, now: () => new Date() }, settings);
}
