import type { Capability, Change, CloudFormationClient, Parameter, Tag } from '@aws-sdk/client-cloudformation';
import { SftpctlError } from '../core/errors.js';
import type { EngineDeps } from './engine-deps.js';

/** A template as CloudFormation takes it: inline up to 51,200 bytes, else from the assets bucket. */
export type TemplateSource = { body: string } | { url: string };

export interface StackChange {
  action: 'Add' | 'Modify' | 'Remove' | 'Import' | 'Dynamic';
  logicalId: string;
  physicalId?: string;
  type: string;
  /** Modify only: whether CloudFormation replaces the resource (a new physical resource; data may be lost). */
  replacement?: 'True' | 'False' | 'Conditional';
  scope: string[];
}

export interface ChangeSetRequest {
  stackName: string;
  type: 'CREATE' | 'UPDATE';
  template: TemplateSource & { resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  parameters: Record<string, string>;
  tags: Record<string, string>;
  description: string;
}

export interface CreatedChangeSet {
  stackName: string;
  stackId: string;
  /** The change set's ARN. */
  id: string;
  type: 'CREATE' | 'UPDATE';
  changes: StackChange[];
  /**
   * False when CloudFormation found nothing to change (the change set is then already deleted). True even with no
   * resource changes: outputs, parameters or tags alone still change the stack and must be executed.
   */
  executable: boolean;
}

/** CloudFormation's reasons for a change set with nothing in it. */
const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

/**
 * Creates a change set, waits until CloudFormation has computed it, and returns its changes. A change set with no
 * changes is deleted again and comes back with `changes: []`. A change set that fails for any other reason is
 * deleted and raised with CloudFormation's reason.
 */
export async function createChangeSet(request: ChangeSetRequest, deps: EngineDeps): Promise<CreatedChangeSet> {
  const cfn = await deps.clients.cloudFormation();
  const { CreateChangeSetCommand } = await import('@aws-sdk/client-cloudformation');
  const name = `sftpctl-${deps.now().toISOString().replace(/[-:.]/g, '')}`;
  let created: { Id?: string; StackId?: string };
  try {
    created = await cfn.send(
      new CreateChangeSetCommand({
        StackName: request.stackName,
        ChangeSetName: name,
        ChangeSetType: request.type,
        ...('body' in request.template
          ? { TemplateBody: request.template.body }
          : { TemplateURL: request.template.url }),
        Parameters: Object.entries(request.parameters).map(
          ([ParameterKey, ParameterValue]): Parameter => ({ ParameterKey, ParameterValue }),
        ),
        Tags: Object.entries(request.tags).map(([Key, Value]): Tag => ({ Key, Value })),
        Capabilities: requiredCapabilities(request.template),
        ...(deps.roleArn ? { RoleARN: deps.roleArn } : {}),
        Description: request.description,
      }),
    );
  } catch (error) {
    throw new SftpctlError(
      'CHANGE_SET_REFUSED',
      `CloudFormation refused a change set for ${request.stackName}: ${(error as Error).message}`,
      'Nothing was changed. If the template or a parameter is named, run sftpctl synth and check it.',
      { cause: error },
    );
  }
  const id = created.Id ?? name;
  const stackId = created.StackId ?? request.stackName;
  const settled = await waitForChangeSet(cfn, id, request.stackName, deps);
  if (settled.status === 'FAILED') {
    await deleteChangeSet(cfn, id, deps).catch(() => {});
    if (NO_CHANGES.test(settled.reason))
      return { stackName: request.stackName, stackId, id, type: request.type, changes: [], executable: false };
    throw new SftpctlError(
      'CHANGE_SET_FAILED',
      `The change set for ${request.stackName} failed: ${settled.reason}`,
      'Nothing was changed. Fix the cause and deploy again.',
    );
  }
  return { stackName: request.stackName, stackId, id, type: request.type, changes: settled.changes, executable: true };
}

async function waitForChangeSet(
  cfn: CloudFormationClient,
  id: string,
  stackName: string,
  deps: EngineDeps,
): Promise<{ status: 'CREATE_COMPLETE'; changes: StackChange[] } | { status: 'FAILED'; reason: string }> {
  const { DescribeChangeSetCommand } = await import('@aws-sdk/client-cloudformation');
  for (;;) {
    const first = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackName }));
    if (first.Status === 'FAILED') return { status: 'FAILED', reason: first.StatusReason ?? 'no reason given' };
    if (first.Status === 'CREATE_COMPLETE') {
      const changes: Change[] = [...(first.Changes ?? [])];
      let token = first.NextToken;
      while (token) {
        const page = await cfn.send(
          new DescribeChangeSetCommand({ ChangeSetName: id, StackName: stackName, NextToken: token }),
        );
        changes.push(...(page.Changes ?? []));
        token = page.NextToken;
      }
      return { status: 'CREATE_COMPLETE', changes: changes.flatMap(toStackChange) };
    }
    await deps.sleep(Math.min(deps.pollMs, 2000));
  }
}

function toStackChange(change: Change): StackChange[] {
  const resource = change.ResourceChange;
  if (!resource) return [];
  return [
    {
      action: (resource.Action ?? 'Modify') as StackChange['action'],
      logicalId: resource.LogicalResourceId ?? '?',
      ...(resource.PhysicalResourceId ? { physicalId: resource.PhysicalResourceId } : {}),
      type: resource.ResourceType ?? '?',
      ...(resource.Action === 'Modify' && resource.Replacement
        ? { replacement: resource.Replacement as 'True' | 'False' | 'Conditional' }
        : {}),
      scope: resource.Scope ?? [],
    },
  ];
}

export async function deleteChangeSet(cfn: CloudFormationClient, id: string, _deps?: EngineDeps): Promise<void> {
  const { DeleteChangeSetCommand } = await import('@aws-sdk/client-cloudformation');
  await cfn.send(new DeleteChangeSetCommand({ ChangeSetName: id }));
}

/**
 * Removes a change set that will not be executed, and the empty stack its CREATE change set made (`stackWasAbsent`:
 * never a REVIEW_IN_PROGRESS stack someone else's deploy may be waiting on). A change set already gone is fine.
 */
export async function discardChangeSet(
  changeSet: CreatedChangeSet,
  deps: EngineDeps,
  options: { stackWasAbsent: boolean },
): Promise<void> {
  const cfn = await deps.clients.cloudFormation();
  if (changeSet.executable)
    await deleteChangeSet(cfn, changeSet.id).catch((error: unknown) => {
      if (!/ChangeSetNotFound|does not exist/.test(`${(error as Error).name} ${(error as Error).message}`)) throw error;
    });
  if (changeSet.type === 'CREATE' && options.stackWasAbsent) {
    const { DeleteStackCommand } = await import('@aws-sdk/client-cloudformation');
    await cfn.send(new DeleteStackCommand({ StackName: changeSet.stackId }));
  }
}

export function countChanges(changes: readonly StackChange[]): Record<'add' | 'modify' | 'remove' | 'replace', number> {
  return {
    add: changes.filter((change) => change.action === 'Add').length,
    modify: changes.filter((change) => change.action === 'Modify').length,
    remove: changes.filter((change) => change.action === 'Remove').length,
    replace: changes.filter((change) => change.replacement === 'True').length,
  };
}

const IAM_NAME_PROPERTIES: Record<string, string> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
};

/**
 * The capabilities a template needs, and no more: CAPABILITY_IAM for IAM resources, CAPABILITY_NAMED_IAM only when
 * one carries an explicit name, so CloudFormation's guard on named IAM resources stays on where it is not needed.
 * Without the template's resources at hand (never the case in sftpctl), both.
 */
export function requiredCapabilities(template: ChangeSetRequest['template']): Capability[] {
  if (!template.resources) return ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'];
  const resources = Object.values(template.resources);
  if (
    resources.some(
      (resource) =>
        IAM_NAME_PROPERTIES[resource.Type] && resource.Properties?.[IAM_NAME_PROPERTIES[resource.Type]!] !== undefined,
    )
  )
    return ['CAPABILITY_NAMED_IAM'];
  if (resources.some((resource) => resource.Type.startsWith('AWS::IAM::'))) return ['CAPABILITY_IAM'];
  return [];
}
