import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3ObjectStore } from '../aws/s3-object-store.js';
import { SecretsManagerKeyStore } from '../aws/secrets-key-store.js';
import { FUNCTION_OBJECT_STORE_USES } from '../core/permissions.js';
import { settingsFromEnvironment } from '../core/pipeline/function-env.js';
import type { PipelineDeps } from '../core/pipeline/types.js';
import { guardedStore } from './guarded-store.js';
import { logJson } from './run-batch.js';

/**
 * The function's real dependencies, from its environment: S3 (guarded by the operations its role was derived from),
 * Secrets Manager, JSON logs on stdout.
 */
export async function awsDeps(role: 'ingress' | 'egress') {
  const settings = settingsFromEnvironment(process.env, role);
  const deps: PipelineDeps = {
    store: guardedStore(new S3ObjectStore(new S3Client({})), role, settings.buckets, FUNCTION_OBJECT_STORE_USES[role]),
    keys: new SecretsManagerKeyStore(new SecretsManagerClient({}), () => ({
      ingress: settings.secretArns.ingress,
      partner: settings.secretArns.partner,
    })),
    log: logJson,
    clock: { now: () => new Date() },
  };
  return { deps, settings };
}

/** The part of Lambda's context object the handlers read. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/** Time left to finish cleanly: a file still decrypting this long before the end fails (and is retried) instead. */
const DEADLINE_MARGIN_MS = 20_000;

/** The invocation's deadline (ms since the epoch), or undefined outside Lambda. */
export function deadlineOf(context: LambdaContext | undefined): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return undefined;
  return Date.now() + Math.max(1_000, remaining - DEADLINE_MARGIN_MS);
}
