import { egress } from '../core/pipeline/egress.js';
import type { PipelineDeps, PipelineSettings } from '../core/pipeline/types.js';
import { awsDeps } from './aws-deps.js';
import { runBatch, type SqsBatchResponse, type SqsEvent } from './run-batch.js';

/** SQS batch of export-bucket "object created" events → encrypt for the partner, with a checksum sidecar. */
export function egressHandler(deps: PipelineDeps, settings: PipelineSettings) {
  return (event: SqsEvent): Promise<SqsBatchResponse> =>
    runBatch(event, settings.buckets.export, (key) => egress(deps, settings, key), settings.client);
}

// Built on the first invocation and reused by the warm container (clients and the parsed key stay cached).
let warm: ((event: SqsEvent) => Promise<SqsBatchResponse>) | undefined;
export async function handler(event: SqsEvent): Promise<SqsBatchResponse> {
  if (!warm) {
    const { deps, settings } = await awsDeps('egress');
    warm = egressHandler(deps, settings);
  }
  return warm(event);
}
