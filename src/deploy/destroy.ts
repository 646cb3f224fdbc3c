import { bucketHasObjects, deleteEmptyBucket, emptyBucket } from '../aws/bucket-contents.js';
import type { Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import { type SynthStack, synthesize } from '../templates/synthesize.js';
import type { DeployProgress } from '../ui/deploy-progress.js';
import { selectStacks } from './deploy.js';
import { type EngineDeps, mapLimit } from './engine-deps.js';
import { type DeployedStack, deleteAndWait, describeStack } from './stack-ops.js';
import { blockedStackError, stackCondition } from './stack-status.js';

export interface DestroyResult {
  stack: string;
  kind: SynthStack['kind'];
  client?: string;
  action: 'deleted' | 'absent' | 'failed' | 'skipped';
  status?: string;
  failure?: { resource?: string; type?: string; status?: string; reason: string };
  /** Buckets emptied before the delete, with how many object versions went. */
  emptied: { bucket: string; versions: number }[];
  /** Buckets the stack retained and destroy then deleted because they were empty. */
  deletedBuckets: string[];
  /** Resources kept on purpose (DeletionPolicy: Retain): KMS keys, secrets, log groups, non-empty buckets. */
  retained: { logicalId: string; type: string; physicalId: string }[];
  seconds?: number;
}

interface StackTarget {
  stack: SynthStack;
  deployed: DeployedStack;
  buckets: { logicalId: string; name: string; hasObjects: boolean }[];
  retained: { logicalId: string; type: string; physicalId: string }[];
}

/** The assets bucket only ever holds what sftpctl put there (function bundles, templates): always safe to empty. */
const SFTPCTL_OWNED_BUCKETS = new Set(['AssetsBucket']);

/**
 * Deletes an environment's stacks (or named clients') in reverse deploy order. Checks everything before changing
 * anything: protected environments and stacks with termination protection are refused, busy stacks too, and buckets
 * holding data unless `emptyBuckets` (then every version and delete marker goes first). Buckets, keys and secrets
 * are retained by their templates; destroy deletes the retained buckets that are empty afterwards (nothing is lost,
 * and a later deploy can create them again) and reports everything else it kept.
 */
export async function destroyEnvironment(request: {
  config: Config;
  env: string;
  clients?: string[];
  emptyBuckets: boolean;
  concurrency: number;
  deps: EngineDeps;
  progress: DeployProgress;
}): Promise<DestroyResult[]> {
  const { deps, progress } = request;
  const environment = request.config.environments[request.env]!;
  const synth = synthesize(request.config, request.env, { format: 'yaml' });
  const selected = selectStacks(synth.stacks, request.clients, request.env);
  if (environment.protected) {
    throw new SftpctlError(
      'DESTROY_PROTECTED',
      `Environment ${request.env} is protected: its stacks have termination protection.`,
      `To really destroy it, set protected: false for ${request.env} in the config, run sftpctl deploy (which lifts the protection), then destroy.`,
    );
  }

  progress.status('preflight', 'checking stacks and buckets');
  const targets = new Map<string, StackTarget>();
  const results = new Map<string, DestroyResult>();
  await mapLimit(selected, request.concurrency, async (stack) => {
    const deployed = await describeStack(stack.name, deps);
    if (!deployed) {
      results.set(stack.name, { ...identity(stack), action: 'absent', emptied: [], deletedBuckets: [], retained: [] });
      return;
    }
    targets.set(stack.name, { stack, deployed, ...(await inspectResources(stack, deployed, deps)) });
  });
  progress.finish('preflight');

  const protectedStacks = [...targets.values()].filter((target) => target.deployed.terminationProtection);
  if (protectedStacks.length > 0) {
    throw new SftpctlError(
      'DESTROY_PROTECTED',
      `Termination protection is on for ${protectedStacks.map((target) => target.stack.name).join(', ')}.`,
      'If the environment is no longer protected in the config, run sftpctl deploy to lift it, then destroy. Nothing was changed.',
    );
  }
  for (const target of targets.values()) {
    const condition = stackCondition(target.deployed.status);
    if (condition === 'busy')
      throw blockedStackError(target.stack.name, target.deployed.status, target.deployed.reason);
  }
  const holding = [...targets.values()].flatMap((target) =>
    target.buckets
      .filter((bucket) => bucket.hasObjects && !SFTPCTL_OWNED_BUCKETS.has(bucket.logicalId))
      .map((bucket) => `${bucket.name} (${target.stack.name})`),
  );
  if (holding.length > 0 && !request.emptyBuckets) {
    throw new SftpctlError(
      'BUCKETS_NOT_EMPTY',
      `${holding.length} bucket${holding.length === 1 ? ' holds' : 's hold'} data: ${holding.join(', ')}.`,
      'Copy out what must be kept, then run again with --empty-buckets (deletes every object version). Nothing was changed.',
    );
  }

  const failedOrSkipped = new Set<string>();
  for (const wave of [...synth.deployOrder].reverse()) {
    const stacks = wave.flatMap((name) => (targets.has(name) ? [targets.get(name)!] : []));
    await mapLimit(stacks, request.concurrency, async (target) => {
      const dependents = synth.stacks.filter((stack) => stack.dependsOn.includes(target.stack.name));
      const blocker = dependents.find((stack) => failedOrSkipped.has(stack.name));
      if (blocker) {
        failedOrSkipped.add(target.stack.name);
        results.set(target.stack.name, {
          ...identity(target.stack),
          action: 'skipped',
          failure: { reason: `${blocker.name} was not deleted` },
          emptied: [],
          deletedBuckets: [],
          retained: [],
        });
        return;
      }
      const result = await destroyStack(target, request.emptyBuckets, deps, progress);
      if (result.action === 'failed') failedOrSkipped.add(target.stack.name);
      results.set(target.stack.name, result);
    });
  }
  return selected.flatMap((stack) => results.get(stack.name) ?? []);
}

async function inspectResources(stack: SynthStack, deployed: DeployedStack, deps: EngineDeps) {
  const cfn = await deps.clients.cloudFormation();
  const { DescribeStackResourcesCommand } = await import('@aws-sdk/client-cloudformation');
  const resources =
    (await cfn.send(new DescribeStackResourcesCommand({ StackName: deployed.stackId }))).StackResources ?? [];
  const live = resources.filter(
    (resource) => resource.PhysicalResourceId && !resource.ResourceStatus?.startsWith('DELETE_'),
  );
  const s3 = await deps.clients.s3();
  const buckets = await Promise.all(
    live
      .filter((resource) => resource.ResourceType === 'AWS::S3::Bucket')
      .map(async (resource) => ({
        logicalId: resource.LogicalResourceId!,
        name: resource.PhysicalResourceId!,
        hasObjects: await bucketHasObjects(s3, resource.PhysicalResourceId!),
      })),
  );
  const retained = live
    .filter((resource) => stack.template.Resources[resource.LogicalResourceId ?? '']?.DeletionPolicy === 'Retain')
    .map((resource) => ({
      logicalId: resource.LogicalResourceId!,
      type: resource.ResourceType!,
      physicalId: resource.PhysicalResourceId!,
    }));
  return { buckets, retained };
}

async function destroyStack(
  target: StackTarget,
  emptyBuckets: boolean,
  deps: EngineDeps,
  progress: DeployProgress,
): Promise<DestroyResult> {
  const started = deps.now().getTime();
  const result: DestroyResult = {
    ...identity(target.stack),
    action: 'deleted',
    emptied: [],
    deletedBuckets: [],
    retained: [],
  };
  const s3 = await deps.clients.s3();
  try {
    for (const bucket of target.buckets) {
      if (!bucket.hasObjects || !(emptyBuckets || SFTPCTL_OWNED_BUCKETS.has(bucket.logicalId))) continue;
      progress.status(target.stack.name, `emptying ${bucket.name}`);
      result.emptied.push({ bucket: bucket.name, versions: await emptyBucket(s3, bucket.name) });
    }
    const deletion = await deleteAndWait(
      target.stack.name,
      target.deployed.stackId,
      Object.keys(target.stack.template.Resources).length,
      deps,
      progress,
    );
    result.status = deletion.status;
    if (!deletion.ok) {
      result.action = 'failed';
      result.failure = {
        reason: deletion.firstFailure?.reason ?? deletion.reason ?? `ended ${deletion.status}`,
        ...(deletion.firstFailure
          ? {
              resource: deletion.firstFailure.logicalId,
              type: deletion.firstFailure.type,
              status: deletion.firstFailure.status,
            }
          : {}),
      };
    }
    for (const resource of target.retained) {
      if (
        result.action === 'deleted' &&
        resource.type === 'AWS::S3::Bucket' &&
        (await deleteEmptyBucket(s3, resource.physicalId))
      )
        result.deletedBuckets.push(resource.physicalId);
      else result.retained.push(resource);
    }
  } catch (error) {
    progress.finish(target.stack.name);
    result.action = 'failed';
    result.failure = { reason: (error as Error).message };
  }
  result.seconds = Math.round((deps.now().getTime() - started) / 1000);
  return result;
}

function identity(stack: SynthStack): Pick<DestroyResult, 'stack' | 'kind' | 'client'> {
  return { stack: stack.name, kind: stack.kind, ...(stack.client ? { client: stack.client } : {}) };
}
