import { SftpctlError } from '../core/errors.js';
import type { Template } from '../templates/cfn.js';
import { serialize } from '../templates/serialize.js';
import { SERVER_LOGICAL_ID, serverReplacement, withoutServer } from '../templates/server-migration.js';
import type { SynthStack } from '../templates/synthesize.js';
import type { DeployProgress } from '../ui/deploy-progress.js';
import type { EngineDeps } from './engine-deps.js';
import { describeStack, executeChangeSet, planStack } from './stack-ops.js';

export type ServerRemoval = 'none' | 'removed' | 'declined';

/**
 * Phase one of an identity-mode change (src/templates/server-migration.ts): when the server stack would replace its
 * Transfer server and the operator allowed that replacement (`--allow-replacement <stack>/Server`), the deployed
 * template without its server is deployed first, with the parameter values the stack has now, so that the old
 * endpoint releases the Elastic IPs before the new server asks for them. The normal plan that follows then creates
 * the new server instead of replacing it. Without the allowance nothing happens here: the plan shows the replacement
 * and the deploy refuses it with the flag to add.
 */
export async function removeReplacedServerFirst(
  stack: SynthStack,
  request: {
    allowReplacement: readonly string[];
    tags: Record<string, string>;
    deps: EngineDeps;
    progress: DeployProgress;
    confirm(message: string): Promise<boolean>;
  },
): Promise<ServerRemoval> {
  if (stack.kind !== 'server' || !request.allowReplacement.includes(`${stack.name}/${SERVER_LOGICAL_ID}`))
    return 'none';
  const { deps, progress } = request;
  const current = await describeStack(stack.name, deps);
  if (!current || !/_COMPLETE$/.test(current.status) || /ROLLBACK_COMPLETE$/.test(current.status)) return 'none';
  const deployed = await deployedTemplate(current.stackId, deps);
  const replacement = serverReplacement(deployed, stack.template as Template);
  if (!deployed || !replacement) return 'none';

  const agreed = await request.confirm(
    `${stack.name}: the server's identity provider changes from ${replacement.from} to ${replacement.to}, which ` +
      'Transfer cannot do in place. Phase 1 of 2: delete the current server (its Elastic IPs stay) so the new one ' +
      'can take them? Logins are refused until phase 2 has created the new server.',
  );
  if (!agreed) return 'declined';
  const plan = await planStack(
    {
      stackName: stack.name,
      template: { body: serialize(withoutServer(deployed), 'json') },
      parameters: current.parameters,
      tags: request.tags,
      description: `${stack.name}: server removed (phase 1 of its replacement)`,
    },
    deps,
    { progress, confirmRecreate: async () => false },
  );
  if (plan.kind === 'unchanged') return 'removed';
  const execution = await executeChangeSet(plan.changeSet, deps, progress);
  progress.finish(stack.name);
  if (!execution.ok) {
    throw new SftpctlError(
      'SERVER_REMOVAL_FAILED',
      `${stack.name}: phase 1 of the server replacement (removing the ${replacement.from} server) ended ${execution.status}` +
        `${execution.firstFailure?.reason ? `: ${execution.firstFailure.reason}` : ''}.`,
      'The old server is still in place (CloudFormation rolled back). Fix the cause shown, then deploy again with the same --allow-replacement.',
    );
  }
  progress.line(
    `${stack.name}: phase 1 of 2 done: the ${replacement.from} server is deleted; creating the ${replacement.to} one`,
  );
  return 'removed';
}

async function deployedTemplate(stackId: string, deps: EngineDeps): Promise<Template | undefined> {
  const cfn = await deps.clients.cloudFormation();
  const { GetTemplateCommand } = await import('@aws-sdk/client-cloudformation');
  const { TemplateBody } = await cfn.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Original' }));
  if (!TemplateBody) return undefined;
  const { parse } = await import('yaml');
  return parse(TemplateBody) as Template;
}
