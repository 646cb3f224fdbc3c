import type { Resource, Template } from './cfn.js';
import { targetOf } from './security-rules.js';

/**
 * Moving a deployed environment between identity modes. `IdentityProviderType` is a create-only property of
 * AWS::Transfer::Server (its resource schema lists it in `createOnlyProperties`), so CloudFormation replaces the
 * server, and a replacement creates the new server before it deletes the old one. The new server would ask for the
 * same Elastic IPs (the network stack's, which partners allow-list) while the old endpoint still holds them, and
 * Transfer refuses an allocation that is associated elsewhere: the update would fail and roll back.
 *
 * So a mode change is deployed in two phases of the server stack: first the deployed template without its server
 * (`withoutServer`: the old server goes, its endpoint releases the Elastic IPs, which stay allocated in the network
 * stack), then the new template (the new server takes the same Elastic IPs). The network stack does not change. The
 * host name (`<server id>.server.transfer…`) and the SFTP host key are the server's own and change with it.
 */

/** The logical id of the Transfer server in the server stack. */
export const SERVER_LOGICAL_ID = 'Server';

export interface ServerReplacement {
  from: string;
  to: string;
}

/**
 * What a person reads in `diff` when the server stack would replace its server; `to` is the identity provider type
 * of the new server.
 */
export function serverReplacementNote(to?: string): string {
  const why = to
    ? `its identity provider becomes ${to}, which Transfer cannot change in place`
    : 'a property Transfer cannot change in place changes';
  return (
    `the server is replaced (${why}); its Elastic IPs are kept (network stack), but the host key and the host name ` +
    '(<server id>.server.transfer…) are new: partners must accept the new host key fingerprint, and those who connect ' +
    'by host name need the new one. deploy removes the old server first, then creates the new one (two phases): ' +
    'logins are refused in between.'
  );
}

/** The server's `IdentityProviderType` in a template (SERVICE_MANAGED when unset, as in Transfer). */
export function identityProviderTypeOf(template: Pick<Template, 'Resources'> | undefined): string | undefined {
  const server = template?.Resources?.[SERVER_LOGICAL_ID];
  if (server?.Type !== 'AWS::Transfer::Server') return undefined;
  const type = server.Properties?.IdentityProviderType;
  return typeof type === 'string' ? type : 'SERVICE_MANAGED';
}

/**
 * The replacement deploying `next` over the `deployed` server stack template would cause, or undefined when the
 * server can be updated in place (or there is no deployed server yet).
 */
export function serverReplacement(
  deployed: Pick<Template, 'Resources'> | undefined,
  next: Pick<Template, 'Resources'>,
): ServerReplacement | undefined {
  const from = identityProviderTypeOf(deployed);
  const to = identityProviderTypeOf(next);
  if (from === undefined || to === undefined || from === to) return undefined;
  return { from, to };
}

/**
 * Phase one of a server replacement: `template` (the deployed one) without its server and without everything that
 * refers to it, directly or through another removed resource (the identity function's invoke permission, the
 * outputs naming the server). Parameters stay, so the stack's parameter values still apply.
 */
export function withoutServer(template: Template): Template {
  const removed = new Set<string>([SERVER_LOGICAL_ID]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (removed.has(logicalId) || !refersTo(resource, removed)) continue;
      removed.add(logicalId);
      grew = true;
    }
  }
  const resources = Object.fromEntries(
    Object.entries(template.Resources).filter(([logicalId]) => !removed.has(logicalId)),
  );
  const outputs = Object.fromEntries(
    Object.entries(template.Outputs ?? {}).filter(([, output]) => !refersTo(output.Value, removed)),
  );
  const phaseOne: Template = {
    ...template,
    Description: `${template.Description} (server removed: first phase of its replacement)`,
    Resources: resources,
  };
  if (Object.keys(outputs).length > 0) phaseOne.Outputs = outputs;
  else delete phaseOne.Outputs;
  return phaseOne;
}

/** True when `value` references (Ref, Fn::GetAtt, ${X} in Fn::Sub, DependsOn) any of `ids`. */
function refersTo(value: unknown, ids: ReadonlySet<string>): boolean {
  if (Array.isArray(value)) return value.some((item) => refersTo(item, ids));
  if (value === null || typeof value !== 'object') return false;
  const target = targetOf(value);
  if (target !== undefined && ids.has(target.split('.')[0]!)) return true;
  const o = value as Record<string, unknown>;
  const sub = o['Fn::Sub'];
  const text = Array.isArray(sub) ? sub[0] : sub;
  if (typeof text === 'string') {
    for (const [, name] of text.matchAll(/\$\{([^}!][^}]*)\}/g)) if (ids.has(name!.split('.')[0]!)) return true;
  }
  const dependsOn = (o as Partial<Resource>).DependsOn;
  if (Array.isArray(dependsOn) && dependsOn.some((id) => ids.has(id))) return true;
  return Object.values(o).some((item) => refersTo(item, ids));
}
