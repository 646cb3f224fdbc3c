import { ingest } from '../core/pipeline/ingest.js';
import type { PipelineDeps, PipelineSettings } from '../core/pipeline/types.js';
import { awsDeps, deadlineOf, type LambdaContext } from './aws-deps.js';
import { runBatch, type SqsBatchResponse, type SqsEvent } from './run-batch.js';

/** SQS batch of Transfer "upload completed" events → decrypt and verify into the raw bucket. */
export function ingressHandler(deps: PipelineDeps, settings: PipelineSettings) {
  return (event: SqsEvent): Promise<SqsBatchResponse> =>
    runBatch(event, settings.buckets.upload, (key) => ingest(deps, settings, key), settings.client);
}

// Built on the first invocation and reused by the warm container (clients and parsed keys stay cached).
let warm: ((event: SqsEvent) => Promise<SqsBatchResponse>) | undefined;
let invocationDeadline: number | undefined;
export async function handler(event: SqsEvent, context?: LambdaContext): Promise<SqsBatchResponse> {
  invocationDeadline = deadlineOf(context);
  if (!warm) {
    const { deps, settings } = await awsDeps('ingress');
    warm = ingressHandler({ ...deps, deadline: () => invocationDeadline }, settings);
  }
  return warm(event);
}

/** The sweeper ships in the ingress bundle: one artifact, one SDK, the same parsing of what it re-queues. */
export { sweep } from './sweeper.js';
