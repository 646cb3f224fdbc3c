import type { KeyFacts } from '../core/config/key-checks.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';
import type { UserTableChange } from '../core/identity/table-plan.js';
import { OUTPUTS } from '../templates/context.js';
import { identityProviderTypeOf, SERVER_LOGICAL_ID, serverReplacementNote } from '../templates/server-migration.js';
import { type SynthStack, synthesize } from '../templates/synthesize.js';
import type { DeployProgress } from '../ui/deploy-progress.js';
import { planClientKeys } from '../workflows/ssh-key-reconcile.js';
import { configuredKeys } from '../workflows/ssh-rotation.js';
import { type FunctionArtifacts, loadFunctionBundles } from './artifacts.js';
import { countChanges, createChangeSet, discardChangeSet, type StackChange } from './change-set.js';
import { loadUpstreamOutputs, refuseBlockingFindings, selectStacks, templateSource } from './deploy.js';
import { type EngineDeps, mapLimit } from './engine-deps.js';
import { attachTableChanges } from './identity-diff.js';
import { usesIdentityTable } from './identity-table.js';
import { resolveParameters, type StackOutputs, upstreamReady } from './parameters.js';
import { describeStack } from './stack-ops.js';
import { stackCondition } from './stack-status.js';

export interface StackDiff {
  stack: string;
  kind: SynthStack['kind'];
  client?: string;
  /** new: would be created; changed / unchanged: from a change set; blocked: CloudFormation cannot change it now. */
  state: 'new' | 'changed' | 'unchanged' | 'blocked';
  changes: StackChange[];
  counts: ReturnType<typeof countChanges>;
  /** How the changes were found: a change set, or the template alone (when upstream stacks do not exist yet). */
  source: 'change-set' | 'template' | 'none';
  note?: string;
  /** Client stacks: what the deploy's key reconcile would do to each Transfer user's SSH keys. */
  keys?: { userName: string; import: string[]; delete: string[]; keptBecauseConfigIsEmpty: boolean }[];
  /** Lambda identity mode: what the deploy would change in the user table for this stack's users. */
  identity?: UserTableChange[];
}

/**
 * What a deploy would change, stack by stack, from real change sets that are deleted again (with the empty stack a
 * CREATE change set leaves). A stack whose upstream stacks are not deployed cannot have a change set (its
 * parameters do not exist yet); its template's resources are listed as additions instead.
 */
export async function diffEnvironment(request: {
  config: Config;
  env: string;
  clients?: string[];
  concurrency: number;
  deps: EngineDeps;
  progress: DeployProgress;
  bundleDir?: string;
  /** The config's keys (loadConfig with checkKeys): client stacks then show their key changes too. */
  keys?: KeyFacts;
}): Promise<StackDiff[]> {
  const { deps, progress } = request;
  const synth = synthesize(request.config, request.env, { format: 'yaml' });
  refuseBlockingFindings(synth);
  const selected = selectStacks(synth.stacks, request.clients, request.env);
  const artifacts: FunctionArtifacts | undefined = selected.some((stack) =>
    Object.values(stack.parameters).some((source) => source.from === 'artifact'),
  )
    ? await loadFunctionBundles(request.bundleDir)
    : undefined;
  const outputs: StackOutputs = new Map();
  const diffs = new Map<string, StackDiff>();
  const uploads: { key: string; uploaded: boolean }[] = [];
  const assetsBucket = () => outputs.get(synth.stacks[0]!.name)?.AssetsBucketName;

  for (const wave of synth.deployOrder) {
    const stacks = wave.flatMap((name) => selected.filter((stack) => stack.name === name));
    if (stacks.length === 0) continue;
    await loadUpstreamOutputs(stacks, synth.stacks[0]!.name, outputs, deps);
    await mapLimit(stacks, request.concurrency, async (stack) => {
      const identity = { stack: stack.name, kind: stack.kind, ...(stack.client ? { client: stack.client } : {}) };
      const current = await describeStack(stack.name, deps);
      if (current && /_COMPLETE$/.test(current.status) && !current.status.startsWith('ROLLBACK'))
        outputs.set(stack.name, current.outputs);
      const condition = stackCondition(current?.status);
      const blocked = (note: string) =>
        diffs.set(stack.name, {
          ...identity,
          state: 'blocked',
          changes: [],
          counts: countChanges([]),
          source: 'none',
          note,
        });
      if (condition === 'busy' || condition === 'stuck') {
        blocked(`${current!.status}: a deploy would refuse it until it settles or is repaired`);
        return;
      }
      const fresh = condition !== 'ready';
      const fromTemplate = (note: string) => {
        const changes = templateAdditions(stack);
        diffs.set(stack.name, {
          ...identity,
          state: 'new',
          changes,
          counts: countChanges(changes),
          source: 'template',
          note,
        });
      };
      if (condition === 'failed-create') {
        // CloudFormation takes no change set for it: a deploy deletes it and creates it again.
        fromTemplate('ROLLBACK_COMPLETE after a failed create: a deploy deletes it and creates it again');
        return;
      }
      if (!upstreamReady(stack.parameters, outputs) || (stack.needsUpload && !assetsBucket())) {
        fromTemplate('upstream stacks are not deployed yet: listed from the template');
        return;
      }
      progress.status(stack.name, 'computing changes');
      try {
        const changeSet = await createChangeSet(
          {
            stackName: stack.name,
            type: fresh ? 'CREATE' : 'UPDATE',
            template: await templateSource(stack, assetsBucket(), synth.manifest.region, deps, uploads),
            parameters: resolveParameters(stack.name, stack.parameters, outputs, artifacts),
            tags: stack.tags,
            description: `sftpctl diff ${request.config.project} ${request.env}`,
          },
          deps,
        );
        await discardChangeSet(changeSet, deps, { stackWasAbsent: condition === 'absent' });
        const replacement = serverReplacementNoteFor(stack, changeSet.changes);
        diffs.set(stack.name, {
          ...identity,
          state: fresh ? 'new' : changeSet.executable ? 'changed' : 'unchanged',
          changes: changeSet.changes,
          counts: countChanges(changeSet.changes),
          source: 'change-set',
          ...(changeSet.executable && changeSet.changes.length === 0
            ? { note: 'no resource changes: outputs, parameters or tags only' }
            : replacement
              ? { note: replacement }
              : {}),
        });
      } catch (error) {
        if (!(error instanceof SftpctlError)) throw error;
        blocked(error.message);
      } finally {
        progress.finish(stack.name);
      }
    });
  }
  if (request.keys && usesIdentityTable(request.config, request.env)) {
    await attachTableChanges(
      { ...request, keys: request.keys, clients: deps.clients, whole: !request.clients?.length },
      [...diffs.values()],
    );
  } else if (request.keys) {
    const serverId = outputs.get(synth.stacks[2]!.name)?.[OUTPUTS.server.serverId];
    await mapLimit([...diffs.values()], request.concurrency, async (entry) => {
      if (entry.kind !== 'client' || entry.state === 'blocked') return;
      const client = request.config.clients.find((candidate) => candidate.name === entry.client)!;
      const input = { config: request.config, keys: request.keys!, client, clients: deps.clients };
      let plans: NonNullable<StackDiff['keys']>;
      try {
        plans =
          entry.state === 'new' || !serverId
            ? newUserKeys(input)
            : (await planClientKeys({ ...input, serverId, missingUserIsNew: true })).map((plan) => ({
                userName: plan.userName,
                import: plan.toImport.map((key) => key.fingerprint),
                delete: plan.toDelete.map((key) => key.fingerprint),
                keptBecauseConfigIsEmpty: plan.keptBecauseConfigIsEmpty,
              }));
      } catch (error) {
        // The key comparison is extra information: without it (no transfer:DescribeUser), the stack's diff stands.
        entry.note = [entry.note, `SSH key changes unknown: ${(error as Error).message}`].filter(Boolean).join('; ');
        return;
      }
      entry.keys = plans;
      if (entry.state === 'unchanged' && plans.some((plan) => plan.import.length + plan.delete.length > 0))
        entry.state = 'changed';
    });
  }
  return selected.flatMap((stack) => diffs.get(stack.name) ?? []);
}

/** A user that does not exist yet gets every key its config lists. */
function newUserKeys(input: Pick<Parameters<typeof planClientKeys>[0], 'config' | 'keys' | 'client'>) {
  return (['upload', 'download'] as const).flatMap((role) => {
    const userName = userNameOf(input.client, role);
    if (!userName) return [];
    const fingerprints = configuredKeys(input, role).map(({ key }) => key.fingerprint);
    return [{ userName, import: fingerprints, delete: [], keptBecauseConfigIsEmpty: false }];
  });
}

/**
 * The note for a server stack whose change set replaces the Transfer server (an identity mode change: the server's
 * IdentityProviderType is create-only), or undefined.
 */
export function serverReplacementNoteFor(stack: SynthStack, changes: readonly StackChange[]): string | undefined {
  if (stack.kind !== 'server') return undefined;
  const server = changes.find((change) => change.logicalId === SERVER_LOGICAL_ID && change.action === 'Modify');
  if (server?.replacement !== 'True') return undefined;
  return serverReplacementNote(identityProviderTypeOf(stack.template));
}

function templateAdditions(stack: SynthStack): StackChange[] {
  return Object.entries(stack.template.Resources).map(([logicalId, resource]) => ({
    action: 'Add',
    logicalId,
    type: resource.Type,
    scope: [],
  }));
}
