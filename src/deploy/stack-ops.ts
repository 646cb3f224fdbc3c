import { SftpctlError } from '../core/errors.js';
import type { DeployProgress } from '../ui/deploy-progress.js';
import { type ChangeSetRequest, type CreatedChangeSet, createChangeSet } from './change-set.js';
import { type EngineDeps, operationToken } from './engine-deps.js';
import {
  blockedStackError,
  isStackMissing,
  type StackCondition,
  SUCCESS_STATUS,
  stackCondition,
} from './stack-status.js';
import { type OperationResult, watchOperation } from './stack-watch.js';

export interface DeployedStack {
  stackId: string;
  status: string;
  reason?: string;
  outputs: Record<string, string>;
  /** The values the stack's parameters have now. */
  parameters: Record<string, string>;
  terminationProtection: boolean;
}

/** The stack as CloudFormation has it now, or undefined when there is none. */
export async function describeStack(name: string, deps: EngineDeps): Promise<DeployedStack | undefined> {
  const cfn = await deps.clients.cloudFormation();
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  try {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
    if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return undefined;
    return {
      stackId: stack.StackId ?? name,
      status: stack.StackStatus ?? 'UNKNOWN',
      ...(stack.StackStatusReason ? { reason: stack.StackStatusReason } : {}),
      outputs: Object.fromEntries(
        (stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
      ),
      parameters: Object.fromEntries(
        (stack.Parameters ?? []).map((parameter) => [parameter.ParameterKey ?? '', parameter.ParameterValue ?? '']),
      ),
      terminationProtection: stack.EnableTerminationProtection === true,
    };
  } catch (error) {
    if (isStackMissing(error)) return undefined;
    throw error;
  }
}

export type StackPlan =
  | { kind: 'unchanged'; stackName: string; current: DeployedStack }
  | { kind: 'change'; stackName: string; changeSet: CreatedChangeSet; recreated: boolean; stackWasAbsent: boolean };

/**
 * Prepares one stack's change: finds its state, deletes a stack a failed create left in ROLLBACK_COMPLETE (only
 * once `confirmRecreate` agrees), and creates the change set. Refuses stacks that are busy or stuck, with guidance.
 */
export async function planStack(
  request: Omit<ChangeSetRequest, 'type'>,
  deps: EngineDeps,
  hooks: { confirmRecreate(stack: string, reason: string | undefined): Promise<boolean>; progress: DeployProgress },
): Promise<StackPlan> {
  const current = await describeStack(request.stackName, deps);
  const condition: StackCondition = stackCondition(current?.status);
  let recreated = false;
  if (condition === 'busy' || condition === 'stuck') {
    throw blockedStackError(request.stackName, current!.status, current!.reason);
  }
  if (condition === 'failed-create') {
    if (!(await hooks.confirmRecreate(request.stackName, current!.reason))) {
      throw new SftpctlError(
        'STACK_NEEDS_RECREATE',
        `Stack ${request.stackName} is ROLLBACK_COMPLETE: its first create failed, and it can only be deleted and created again.`,
        'Run the deploy again and agree to recreate it (or pass --yes).',
      );
    }
    const deletion = await deleteAndWait(request.stackName, current!.stackId, 0, deps, hooks.progress);
    if (!deletion.ok) {
      throw new SftpctlError(
        'STACK_DELETE_FAILED',
        `Could not delete ${request.stackName} to create it again: it ended ${deletion.status}${deletion.firstFailure ? ` (${deletion.firstFailure.logicalId}: ${deletion.firstFailure.reason})` : ''}.`,
        `Remove what blocks the delete, or delete it yourself: aws cloudformation delete-stack --stack-name ${request.stackName}`,
      );
    }
    recreated = true;
  }
  hooks.progress.status(request.stackName, 'computing changes');
  const type = condition === 'ready' ? 'UPDATE' : 'CREATE';
  const changeSet = await createChangeSet({ ...request, type }, deps);
  if (!changeSet.executable && current) return { kind: 'unchanged', stackName: request.stackName, current };
  return { kind: 'change', stackName: request.stackName, changeSet, recreated, stackWasAbsent: !current || recreated };
}

/** Executes a change set and follows it to the end. */
export async function executeChangeSet(
  changeSet: CreatedChangeSet,
  deps: EngineDeps,
  progress: DeployProgress,
): Promise<OperationResult & { ok: boolean }> {
  const cfn = await deps.clients.cloudFormation();
  const { ExecuteChangeSetCommand } = await import('@aws-sdk/client-cloudformation');
  const token = operationToken('deploy', deps.now());
  const verb = changeSet.type === 'CREATE' ? 'create' : 'update';
  const total = changeSet.changes.length;
  await cfn.send(
    new ExecuteChangeSetCommand({
      ChangeSetName: changeSet.id,
      StackName: changeSet.stackName,
      ClientRequestToken: token,
      // A failed operation deletes what it created, Retain or not: named buckets and secrets a failed create kept
      // would make every later create fail with "already exists". Existing resources stay retained.
      RetainExceptOnCreate: true,
    }),
  );
  progress.start(changeSet.stackName, verb, total);
  const result = await watchOperation(
    {
      stackId: changeSet.stackId,
      stackName: changeSet.stackName,
      token,
      total,
      onProgress: (update) => progress.update(changeSet.stackName, verb, update),
    },
    deps,
  );
  progress.finish(changeSet.stackName);
  return { ...result, ok: result.status === SUCCESS_STATUS[verb] };
}

/** Deletes a stack and follows the delete to the end. */
export async function deleteAndWait(
  stackName: string,
  stackId: string,
  total: number,
  deps: EngineDeps,
  progress: DeployProgress,
): Promise<OperationResult & { ok: boolean }> {
  const cfn = await deps.clients.cloudFormation();
  const { DeleteStackCommand } = await import('@aws-sdk/client-cloudformation');
  const token = operationToken('delete', deps.now());
  await cfn.send(
    new DeleteStackCommand({
      StackName: stackId,
      ClientRequestToken: token,
      ...(deps.roleArn ? { RoleARN: deps.roleArn } : {}),
    }),
  );
  progress.start(stackName, 'delete', total);
  const result = await watchOperation(
    { stackId, stackName, token, total, onProgress: (update) => progress.update(stackName, 'delete', update) },
    deps,
  );
  progress.finish(stackName);
  return { ...result, ok: result.status === 'DELETE_COMPLETE' };
}

/** Sets termination protection to what the environment asks for (on for `protected`), when it differs. */
export async function syncTerminationProtection(
  stackName: string,
  wanted: boolean,
  current: boolean,
  deps: EngineDeps,
): Promise<boolean> {
  if (wanted === current) return false;
  const cfn = await deps.clients.cloudFormation();
  const { UpdateTerminationProtectionCommand } = await import('@aws-sdk/client-cloudformation');
  await cfn.send(new UpdateTerminationProtectionCommand({ StackName: stackName, EnableTerminationProtection: wanted }));
  return true;
}
