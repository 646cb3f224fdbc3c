import { describeKnownFault } from '../aws/errors.js';
import type { KeyFacts } from '../core/config/key-checks.js';
import { identityTableName } from '../core/config/naming.js';
import type { Config } from '../core/config/schema.js';
import { CancelledError, SftpctlError } from '../core/errors.js';
import type { UserTableChange } from '../core/identity/table-plan.js';
import { OUTPUTS } from '../templates/context.js';
import { blockingFindings, type SynthStack, synthesize } from '../templates/synthesize.js';
import { renderChanges } from '../ui/change-list.js';
import type { Colors } from '../ui/colors.js';
import type { DeployProgress } from '../ui/deploy-progress.js';
import { type KeyReconcileResult, reconcileClientKeys } from '../workflows/ssh-key-reconcile.js';
import {
  type FunctionArtifacts,
  loadFunctionBundles,
  templateKey,
  templateUrl,
  uploadFunctionBundles,
  uploadOnce,
} from './artifacts.js';
import {
  type ChangeSetRequest,
  type CreatedChangeSet,
  countChanges,
  discardChangeSet,
  type StackChange,
} from './change-set.js';
import { type EngineDeps, mapLimit } from './engine-deps.js';
import { syncIdentityTable, usesIdentityTable } from './identity-table.js';
import { resolveParameters, type StackOutputs } from './parameters.js';
import { removeReplacedServerFirst } from './server-replacement.js';
import { describeStack, executeChangeSet, planStack, type StackPlan, syncTerminationProtection } from './stack-ops.js';

export type StackAction = 'created' | 'updated' | 'unchanged' | 'failed' | 'skipped' | 'cancelled';

/** One stack's outcome; `--json` prints one of these per stack. */
export interface StackResult {
  stack: string;
  kind: SynthStack['kind'];
  client?: string;
  action: StackAction;
  /** CloudFormation's final status. */
  status?: string;
  changes?: ReturnType<typeof countChanges>;
  /** Why it failed: the first failing resource and CloudFormation's reason, or the error that stopped it. */
  failure?: { resource?: string; type?: string; status?: string; reason: string; code?: string; hint?: string };
  recreated?: boolean;
  terminationProtection?: boolean;
  keys?: KeyReconcileResult;
  /** Lambda identity mode: what this deploy changed in the user table for this stack's users. */
  identity?: { table: string; users: UserTableChange[] };
  seconds?: number;
}

export interface DeployRequest {
  config: Config;
  env: string;
  keys: KeyFacts;
  /** Only these clients' stacks (the environment's stacks must already be deployed). */
  clients?: string[];
  concurrency: number;
  deps: EngineDeps;
  progress: DeployProgress;
  colors: Colors;
  /** Asks a yes/no question; answers yes without asking under --yes. */
  confirm(message: string): Promise<boolean>;
  /** Folder of the function bundles (default: dist/lambda). */
  bundleDir?: string;
  /** Logical ids (or `stack/logicalId`) whose replacement the operator accepts (--allow-replacement). */
  allowReplacement?: string[];
}

/**
 * Resources whose replacement changes what partners or data depend on: the server's id and host name (and its users
 * with it), the Elastic IPs partners allow-list, buckets (a new, empty one), keys (old data needs the old key),
 * secrets (their values), Transfer users (their keys). A deploy replaces them only when named in --allow-replacement.
 */
export const GUARDED_REPLACEMENTS = new Set([
  'AWS::Transfer::Server',
  'AWS::Transfer::User',
  'AWS::EC2::EIP',
  'AWS::S3::Bucket',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
]);

/** The guarded replacements of a change set the operator did not allow. */
export function refusedReplacements(stack: string, changes: readonly StackChange[], allowed: readonly string[]) {
  return changes.filter(
    (change) =>
      change.action === 'Modify' &&
      (change.replacement === 'True' || change.replacement === 'Conditional') &&
      GUARDED_REPLACEMENTS.has(change.type) &&
      !allowed.includes(change.logicalId) &&
      !allowed.includes(`${stack}/${change.logicalId}`),
  );
}

export interface DeployOutcome {
  results: StackResult[];
  uploads: { key: string; uploaded: boolean }[];
}

/** The stacks a deploy or destroy acts on: all of the environment, or the named clients' only. */
export function selectStacks(stacks: readonly SynthStack[], clients: readonly string[] | undefined, env: string) {
  if (!clients || clients.length === 0) return [...stacks];
  const known = stacks.filter((stack) => stack.kind === 'client').map((stack) => stack.client!);
  const unknown = clients.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new SftpctlError(
      'CLIENT_NOT_IN_ENV',
      `--client ${unknown.join(', ')}: not a client of environment ${env}.`,
      `Clients of ${env}: ${known.join(', ') || 'none'}.`,
      { kind: 'usage' },
    );
  }
  return stacks.filter((stack) => stack.kind === 'client' && clients.includes(stack.client!));
}

/**
 * Deploys an environment wave by wave (assets → network → server → clients in parallel): per stack a change set,
 * shown and confirmed before it runs, then followed to the end. A failed stack stops the stacks that need its
 * outputs; the others of its wave finish. Client stacks end with their users' SSH keys reconciled to the config.
 */
export async function deployEnvironment(request: DeployRequest): Promise<DeployOutcome> {
  const { config, env, deps, progress } = request;
  const synth = synthesize(config, env, { format: 'yaml' });
  refuseBlockingFindings(synth);
  const selected = selectStacks(synth.stacks, request.clients, env);
  const byName = new Map(synth.stacks.map((stack) => [stack.name, stack]));
  const takesArtifact = (stack: SynthStack) =>
    Object.values(stack.parameters).some((source) => source.from === 'artifact');
  const needsArtifacts = selected.some(takesArtifact);
  // Fail on missing or corrupt bundles before anything in AWS changes.
  const bundles = needsArtifacts ? await loadFunctionBundles(request.bundleDir) : undefined;

  const outputs: StackOutputs = new Map();
  const results = new Map<string, StackResult>();
  const uploads: DeployOutcome['uploads'] = [];
  let artifacts: FunctionArtifacts | undefined;
  let cancelled = false;
  // One question at a time, with the spinner paused: planning runs stacks in parallel, and each may need to ask.
  let asking = Promise.resolve();
  const ask = (message: string): Promise<boolean> => {
    const answer = asking.then(async () => {
      progress.pause();
      try {
        return await request.confirm(message);
      } finally {
        progress.resume();
      }
    });
    asking = answer.then(
      () => undefined,
      () => undefined,
    );
    return answer;
  };

  for (const wave of synth.deployOrder) {
    const stacks = wave.map((name) => byName.get(name)!).filter((stack) => selected.includes(stack));
    if (stacks.length === 0) continue;
    const ready: SynthStack[] = [];
    for (const stack of stacks) {
      const blocker = stack.dependsOn.find((dep) => {
        const result = results.get(dep);
        return result && (result.action === 'failed' || result.action === 'skipped' || result.action === 'cancelled');
      });
      if (cancelled || blocker) {
        results.set(stack.name, {
          ...identity(stack),
          action: cancelled ? 'cancelled' : 'skipped',
          ...(blocker ? { failure: { reason: `${blocker} did not deploy` } } : {}),
        });
      } else ready.push(stack);
    }
    if (ready.length === 0) continue;
    try {
      await loadUpstreamOutputs(ready, synth.stacks[0]!.name, outputs, deps);
      const assetsBucket = () => outputs.get(synth.stacks[0]!.name)?.[OUTPUTS.assets.assetsBucket];
      if (bundles && !artifacts && ready.some(takesArtifact)) {
        const bucket = assetsBucket();
        if (!bucket) throw new Error('the assets stack has no bucket output');
        progress.status('functions', `uploading function bundles to ${bucket}`);
        const uploaded = await uploadFunctionBundles(await deps.clients.s3(), bucket, bundles);
        uploads.push(...uploaded);
        progress.finish('functions');
        for (const upload of uploaded)
          progress.line(request.colors.dim(`${upload.uploaded ? 'uploaded' : 'already uploaded'}: ${upload.key}`));
        artifacts = bundles;
      }

      const planned = await mapLimit(ready, request.concurrency, async (stack) => {
        const started = deps.now().getTime();
        try {
          const removal = await removeReplacedServerFirst(stack, {
            allowReplacement: request.allowReplacement ?? [],
            tags: stack.tags,
            deps,
            progress,
            confirm: ask,
          });
          if (removal === 'declined') {
            cancelled = true;
            progress.finish(stack.name);
            results.set(stack.name, { ...identity(stack), action: 'cancelled' });
            return undefined;
          }
          const template = await templateSource(stack, assetsBucket(), synth.manifest.region, deps, uploads);
          const plan = await planStack(
            {
              stackName: stack.name,
              template,
              parameters: resolveParameters(stack.name, stack.parameters, outputs, artifacts),
              tags: stack.tags,
              description: `sftpctl ${config.project} ${env} ${stack.kind}${stack.client ? ` ${stack.client}` : ''}`,
            },
            deps,
            {
              progress,
              confirmRecreate: (name, reason) =>
                ask(
                  `${name} is ROLLBACK_COMPLETE after a failed create${reason ? ` (${reason})` : ''}. Delete it and create it again?`,
                ),
            },
          );
          progress.finish(stack.name);
          return { stack, plan, started };
        } catch (error) {
          progress.finish(stack.name);
          // Ctrl+C at a question ends the whole deploy, not just this stack.
          if ((error as Error).name === 'ExitPromptError') throw error;
          results.set(stack.name, { ...identity(stack), action: 'failed', failure: failureOf(error) });
          return undefined;
        }
      });
      const plans: NonNullable<(typeof planned)[number]>[] = [];
      for (const entry of planned) {
        if (!entry) continue;
        const refused =
          entry.plan.kind === 'change'
            ? refusedReplacements(entry.stack.name, entry.plan.changeSet.changes, request.allowReplacement ?? [])
            : [];
        if (refused.length === 0 || entry.plan.kind !== 'change') {
          plans.push(entry);
          continue;
        }
        for (const line of renderChanges(entry.stack.name, 'update', entry.plan.changeSet.changes, request.colors))
          progress.line(line);
        await discardQuietly(entry.plan.changeSet, deps, entry.plan.stackWasAbsent, progress);
        const names = refused.map((change) => `${change.logicalId} (${change.type})`).join(', ');
        progress.line(`${request.colors.red('✖')} ${entry.stack.name}: refused, it would replace ${names}`);
        results.set(entry.stack.name, {
          ...identity(entry.stack),
          action: 'failed',
          changes: countChanges(entry.plan.changeSet.changes),
          failure: {
            code: 'REPLACEMENT_REFUSED',
            reason: `this change would replace ${names}: a new physical resource, with what depends on the old one lost or changed.`,
            hint: `If that is intended, deploy again with ${refused.map((change) => `--allow-replacement ${entry.stack.name}/${change.logicalId}`).join(' ')}. Nothing was changed in this stack.`,
          },
        });
      }

      const changing = plans.filter((entry) => entry.plan.kind === 'change');
      for (const { stack, plan } of plans) {
        if (plan.kind === 'unchanged') progress.line(`${request.colors.bold(stack.name)}: no changes`);
        else
          for (const line of renderChanges(
            stack.name,
            plan.changeSet.type === 'CREATE' ? 'create' : 'update',
            plan.changeSet.changes,
            request.colors,
          ))
            progress.line(line);
      }
      if (changing.length > 0) {
        const agreed = await ask(
          changing.length === 1
            ? `Deploy these changes to ${changing[0]!.stack.name}?`
            : `Deploy these changes to ${changing.length} stacks?`,
        );
        if (!agreed) {
          cancelled = true;
          for (const { stack, plan } of plans) {
            if (plan.kind === 'change') await discardQuietly(plan.changeSet, deps, plan.stackWasAbsent, progress);
            // Declined means nothing more happens in this wave: no key reconcile or protection change either.
            results.set(stack.name, {
              ...identity(stack),
              action: plan.kind === 'change' ? 'cancelled' : 'unchanged',
              ...(plan.kind === 'unchanged' ? { status: plan.current.status } : {}),
            });
          }
        }
      }

      await mapLimit(plans, request.concurrency, async ({ stack, plan, started }) => {
        if (results.has(stack.name)) return;
        results.set(stack.name, await finishStack(stack, plan, started, request, outputs, synth.stacks[2]!.name));
      });
    } catch (error) {
      // Whatever stopped this wave (an upload refused, AWS unreachable), the record of what happened so far stays:
      // its stacks are failed with the reason, the waves after it skipped.
      // A bug (not an AWS answer, not a known condition) stays a bug: exit 3 and a report, not a stack failure.
      if ((error as Error).name === 'ExitPromptError')
        throw new CancelledError(
          'Deploy cancelled at a confirmation (Ctrl+C): the waves before the question are deployed; the change sets of this wave were not executed.',
          'sftpctl status shows where each stack stands; sftpctl deploy again picks up from there.',
        );
      if (!describeKnownFault(error)) throw error;
      for (const stack of ready)
        if (!results.has(stack.name))
          results.set(stack.name, { ...identity(stack), action: 'failed', failure: failureOf(error) });
    }
  }
  if (usesIdentityTable(config, env) && !cancelled) await reconcileUserTable(request, synth.stacks, results, outputs);
  return { results: synth.stacks.flatMap((stack) => results.get(stack.name) ?? []), uploads };
}

/**
 * Lambda identity mode: once the stacks are done, the user table is made to hold the users of every client whose
 * stack is deployed (keys, CIDRs, role ARNs), in one pass. A client whose stack failed keeps its items as they were;
 * a client no longer in the config loses its users (a whole-environment deploy only). A failed write fails the
 * client stacks it was for: their partners' logins still follow the old items.
 */
async function reconcileUserTable(
  request: DeployRequest,
  stacks: readonly SynthStack[],
  results: Map<string, StackResult>,
  outputs: StackOutputs,
): Promise<void> {
  const clientResults = stacks
    .filter((stack) => stack.kind === 'client' && results.has(stack.name))
    .map((stack) => ({ stack, result: results.get(stack.name)! }));
  const ok = new Set<StackAction>(['created', 'updated', 'unchanged']);
  const deployed = new Map(
    clientResults
      .filter(({ result }) => ok.has(result.action))
      .map(({ stack }) => [stack.client!, { stack: stack.name, outputs: outputs.get(stack.name) }]),
  );
  const notDeployed = new Set(
    clientResults.filter(({ result }) => !ok.has(result.action)).map(({ stack }) => stack.client!),
  );
  const whole = !request.clients || request.clients.length === 0;
  if (deployed.size === 0 && !whole) return;
  const table = identityTableName(request.config.project, request.env);
  request.progress.status('identity', `writing users to ${table}`);
  try {
    const changes = await syncIdentityTable({
      config: request.config,
      env: request.env,
      keys: request.keys,
      clients: request.deps.clients,
      deployed,
      inScope: whole
        ? (_user, client) => !(client && notDeployed.has(client))
        : (_user, client) => client !== undefined && deployed.has(client),
    });
    request.progress.finish('identity');
    const platform = stacks.find(
      (stack) => stack.kind !== 'client' && results.has(stack.name) && stack.name.endsWith('-server'),
    );
    for (const change of changes) {
      request.progress.line(`${table}: ${change.action} ${change.userName}${describeKeyChange(change)}`);
      const owner =
        clientResults.find(({ stack }) => stack.client === change.client)?.result ??
        (platform ? results.get(platform.name) : undefined);
      if (!owner) continue;
      owner.identity ??= { table, users: [] };
      owner.identity.users.push(change);
    }
    for (const client of deployed.keys()) {
      const result = clientResults.find(({ stack }) => stack.client === client)!.result;
      result.identity ??= { table, users: [] };
    }
  } catch (error) {
    request.progress.finish('identity');
    const failure = failureOf(error);
    for (const client of deployed.keys()) {
      const entry = clientResults.find(({ stack }) => stack.client === client)!;
      results.set(entry.stack.name, {
        ...entry.result,
        action: 'failed',
        failure: { ...failure, reason: `the user table was not updated: ${failure.reason}` },
      });
    }
  }
}

function describeKeyChange(change: UserTableChange): string {
  const parts = [
    ...change.addKeys.map((fingerprint) => `+${fingerprint}`),
    ...change.removeKeys.map((fingerprint) => `-${fingerprint}`),
    ...change.expiryChanged.map((fingerprint) => `${fingerprint} expiry`),
  ];
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

async function finishStack(
  stack: SynthStack,
  plan: StackPlan,
  started: number,
  request: DeployRequest,
  outputs: StackOutputs,
  serverStack: string,
): Promise<StackResult> {
  const { deps } = request;
  const seconds = () => Math.round((deps.now().getTime() - started) / 1000);
  let result: StackResult;
  if (plan.kind === 'change') {
    const execution = await executeChangeSet(plan.changeSet, deps, request.progress).catch((error: unknown) => ({
      ok: false as const,
      status: 'UNKNOWN',
      events: [],
      error,
    }));
    const changes = countChanges(plan.changeSet.changes);
    if (!execution.ok) {
      const failure =
        'error' in execution
          ? failureOf(execution.error)
          : {
              reason: execution.firstFailure?.reason ?? execution.reason ?? `ended ${execution.status}`,
              ...(execution.firstFailure
                ? {
                    resource: execution.firstFailure.logicalId,
                    type: execution.firstFailure.type,
                    status: execution.firstFailure.status,
                  }
                : {}),
            };
      return { ...identity(stack), action: 'failed', status: execution.status, changes, failure, seconds: seconds() };
    }
    result = {
      ...identity(stack),
      action: plan.changeSet.type === 'CREATE' ? 'created' : 'updated',
      status: execution.status,
      changes,
      ...(plan.recreated ? { recreated: true } : {}),
    };
  } else {
    result = { ...identity(stack), action: 'unchanged', status: plan.current.status };
  }

  try {
    const deployed = await describeStack(stack.name, deps);
    if (deployed) {
      outputs.set(stack.name, deployed.outputs);
      await syncTerminationProtection(stack.name, stack.terminationProtection, deployed.terminationProtection, deps);
      result.terminationProtection = stack.terminationProtection;
    }
    if (stack.kind === 'client') {
      const serverId = outputs.get(serverStack)?.[OUTPUTS.server.serverId];
      const client = request.config.clients.find((entry) => entry.name === stack.client)!;
      // In lambda identity mode there are no Transfer users: the user table is written once all stacks are done.
      if (serverId && !usesIdentityTable(request.config, request.env)) {
        result.keys = await reconcileClientKeys({
          config: request.config,
          keys: request.keys,
          client,
          clients: deps.clients,
          serverId,
          now: deps.now(),
        });
        for (const step of result.keys.steps)
          request.progress.line(`${stack.name}: ${step.action} SSH key ${step.fingerprint} on ${step.userName}`);
      }
    }
  } catch (error) {
    return { ...result, action: 'failed', failure: failureOf(error), seconds: seconds() };
  }
  return { ...result, seconds: seconds() };
}

function identity(stack: SynthStack): Pick<StackResult, 'stack' | 'kind' | 'client'> {
  return { stack: stack.name, kind: stack.kind, ...(stack.client ? { client: stack.client } : {}) };
}

function failureOf(error: unknown): NonNullable<StackResult['failure']> {
  const known = describeKnownFault(error);
  if (known) return { reason: known.message, code: known.code, ...(known.hint ? { hint: known.hint } : {}) };
  return { reason: error instanceof Error ? error.message : String(error) };
}

export function refuseBlockingFindings(synth: ReturnType<typeof synthesize>): void {
  const blocking = blockingFindings(synth, { strict: false });
  if (blocking.length === 0) return;
  const first = blocking[0]!;
  throw new SftpctlError(
    'TEMPLATE_LIMIT',
    `${blocking.length} template problem${blocking.length === 1 ? '' : 's'} would make CloudFormation refuse the deploy; first: ${first.stack} ${first.finding.message}`,
    'Run sftpctl synth to see them all, and fix the config. Nothing was changed.',
  );
}

/** Outputs of the stacks `stacks` take parameters from, for upstream stacks this run did not deploy. */
export async function loadUpstreamOutputs(
  stacks: readonly SynthStack[],
  assetsStack: string,
  outputs: StackOutputs,
  deps: EngineDeps,
) {
  // The assets stack too: its bucket takes function bundles and large templates.
  const wanted = stacks.some((stack) => stack.name !== assetsStack) ? [assetsStack] : [];
  const upstream = [...new Set([...wanted, ...stacks.flatMap((stack) => stack.dependsOn)])].filter(
    (name) => !outputs.has(name),
  );
  await mapLimit(upstream, 4, async (name) => {
    const deployed = await describeStack(name, deps);
    if (deployed && /_COMPLETE$/.test(deployed.status) && !deployed.status.startsWith('ROLLBACK'))
      outputs.set(name, deployed.outputs);
  });
}

/** Inline body up to 51,200 bytes; larger templates go to the assets bucket by content hash. */
export async function templateSource(
  stack: SynthStack,
  assetsBucket: string | undefined,
  region: string,
  deps: EngineDeps,
  uploads: DeployOutcome['uploads'],
): Promise<ChangeSetRequest['template']> {
  const resources = stack.template.Resources;
  if (!stack.needsUpload) return { body: stack.body, resources };
  if (!assetsBucket) throw new Error(`${stack.name} needs the assets bucket for its template`);
  const key = templateKey(stack.name, stack.hash, 'yaml');
  uploads.push(await uploadOnce(await deps.clients.s3(), assetsBucket, key, Buffer.from(stack.body), 'text/yaml'));
  return { url: templateUrl(assetsBucket, region, key), resources };
}

/** Deletes a change set that will not run; a failure to tidy up is reported, and changes nothing else's outcome. */
async function discardQuietly(
  changeSet: CreatedChangeSet,
  deps: EngineDeps,
  stackWasAbsent: boolean,
  progress: DeployProgress,
): Promise<void> {
  try {
    await discardChangeSet(changeSet, deps, { stackWasAbsent });
  } catch (error) {
    progress.line(`${changeSet.stackName}: could not delete change set ${changeSet.id}: ${(error as Error).message}`);
  }
}
