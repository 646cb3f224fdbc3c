import { bucketHasObjects, deleteEmptyBucket, emptyBucket } from '../aws/bucket-contents.js';
import { clientStackName } from '../core/config/naming.js';
import type { Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import { STACK_TAG_KEYS, type SynthStack, synthesize } from '../templates/synthesize.js';
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
  /** Live resources: the progress denominator of the delete. */
  resourceCount: number;
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
  // Client stacks of clients removed from the config: still in AWS, still using the server and the network.
  const orphans = await orphanClientStacks(request.config.project, request.env, synth.stacks, deps);
  const prefixLength = clientStackName(request.config.project, request.env, '').length;
  const orphanNames = new Map(orphans.map((name) => [name.slice(prefixLength), name]));
  const wantedOrphans = (request.clients ?? []).filter((name) => orphanNames.has(name));
  const knownClients = request.clients?.filter((name) => !orphanNames.has(name));
  const selected: SynthStack[] = [
    ...(request.clients?.length && knownClients?.length === 0
      ? []
      : selectStacks(synth.stacks, knownClients, request.env)),
    ...wantedOrphans.map((client) => orphanStack(orphanNames.get(client)!, client)),
  ];
  if (!request.clients?.length && orphans.length > 0) {
    throw new SftpctlError(
      'ORPHAN_CLIENT_STACKS',
      `Stacks of clients no longer in the config still exist: ${orphans.join(', ')}. They use the server and the network.`,
      `Destroy them first: sftpctl destroy ${[...orphanNames.keys()].map((name) => `--client ${name}`).join(' ')} (works for clients removed from the config). Nothing was changed.`,
    );
  }
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
    targets.set(stack.name, { stack, deployed, ...(await inspectResources(deployed, deps)) });
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
  for (const wave of [wantedOrphans.map((client) => orphanNames.get(client)!), ...[...synth.deployOrder].reverse()]) {
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

async function inspectResources(deployed: DeployedStack, deps: EngineDeps) {
  const cfn = await deps.clients.cloudFormation();
  const { DescribeStackResourcesCommand } = await import('@aws-sdk/client-cloudformation');
  const resources =
    (await cfn.send(new DescribeStackResourcesCommand({ StackName: deployed.stackId }))).StackResources ?? [];
  const live = resources.filter(
    (resource) => resource.PhysicalResourceId && !resource.ResourceStatus?.startsWith('DELETE_'),
  );
  // What is retained is what the deployed template says, not the local one (which may not be deployed yet).
  const deployedTemplate = await deployedResources(deployed.stackId, deps);
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
    .filter((resource) =>
      ['Retain', 'RetainExceptOnCreate'].includes(
        deployedTemplate[resource.LogicalResourceId ?? '']?.DeletionPolicy ?? '',
      ),
    )
    .map((resource) => ({
      logicalId: resource.LogicalResourceId!,
      type: resource.ResourceType!,
      physicalId: resource.PhysicalResourceId!,
    }));
  return { buckets, retained, resourceCount: live.length };
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
      target.resourceCount,
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

/** Every status but DELETE_COMPLETE: ListStacks then skips the region's deleted stacks of the last 90 days. */
const LIVE_STATUSES = [
  'CREATE_IN_PROGRESS',
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'REVIEW_IN_PROGRESS',
  'IMPORT_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
] as const;

/**
 * Live client stacks of this environment whose client the config no longer has: named like ours and tagged as
 * sftpctl's for this project and environment (a stranger's stack with a similar name is not ours to delete).
 */
async function orphanClientStacks(
  project: string,
  env: string,
  stacks: readonly SynthStack[],
  deps: EngineDeps,
): Promise<string[]> {
  const cfn = await deps.clients.cloudFormation();
  const { DescribeStacksCommand, ListStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const prefix = clientStackName(project, env, '');
  const known = new Set(stacks.map((stack) => stack.name));
  const candidates = new Set<string>();
  let token: string | undefined;
  do {
    const page = await cfn.send(
      new ListStacksCommand({ StackStatusFilter: [...LIVE_STATUSES], ...(token ? { NextToken: token } : {}) }),
    );
    for (const summary of page.StackSummaries ?? []) {
      const name = summary.StackName ?? '';
      if (name.startsWith(prefix) && !known.has(name)) candidates.add(name);
    }
    token = page.NextToken;
  } while (token);
  const ours = await mapLimit([...candidates], 4, async (name) => {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
    const tags = Object.fromEntries((stack?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    return tags[STACK_TAG_KEYS.project] === project && tags[STACK_TAG_KEYS.environment] === env ? [name] : [];
  });
  return ours.flat().sort();
}

/** A client stack the config no longer describes: destroy needs only its name (its template comes from AWS). */
function orphanStack(name: string, client: string): SynthStack {
  return { name, kind: 'client', client, template: { Resources: {} }, dependsOn: [] } as unknown as SynthStack;
}

/** The resources of the template CloudFormation holds for the stack. */
async function deployedResources(
  stackId: string,
  deps: EngineDeps,
): Promise<Record<string, { Type?: string; DeletionPolicy?: string }>> {
  const cfn = await deps.clients.cloudFormation();
  const { GetTemplateCommand } = await import('@aws-sdk/client-cloudformation');
  const { TemplateBody } = await cfn.send(new GetTemplateCommand({ StackName: stackId }));
  if (!TemplateBody) return {};
  const { parse } = await import('yaml');
  return (parse(TemplateBody) as { Resources?: Record<string, { DeletionPolicy?: string }> }).Resources ?? {};
}
