import { identityTableName, passwordSecretName, type UserRole } from '../core/config/naming.js';
import { SftpctlError } from '../core/errors.js';
import { userRoleOutput } from '../templates/client.js';
import type { AwsClients } from './clients.js';
import { DynamoIdentityStore } from './identity-store.js';

/**
 * Client stack outputs naming each user's IAM role (lambda identity mode: the table carries the ARN Transfer assumes).
 * A stack without them (rendered before they existed) is asked for the role's physical name instead.
 */
export const ROLE_ARN_OUTPUTS: Record<UserRole, string> = {
  upload: userRoleOutput('upload'),
  download: userRoleOutput('download'),
};
const ROLE_LOGICAL_IDS: Record<UserRole, string> = { upload: 'UploadUserRole', download: 'DownloadUserRole' };

/** The user table of an environment, with the CLI's clients. */
export async function openIdentityTable(
  clients: AwsClients,
  project: string,
  env: string,
): Promise<DynamoIdentityStore> {
  return new DynamoIdentityStore(
    await clients.dynamoDb(),
    await clients.secretsManager(),
    identityTableName(project, env),
    { passwordSecretPrefix: passwordSecretName(project, env, '') },
  );
}

/** A missing table, said as what to do; anything else as it came. */
export function identityTableError(error: unknown, table: string, env: string): unknown {
  if ((error as Error).name !== 'ResourceNotFoundException') return error;
  return new SftpctlError(
    'IDENTITY_TABLE_MISSING',
    `The user table ${table} of environment ${env} does not exist (identity mode lambda).`,
    'Deploy the environment (sftpctl deploy) to create it; nothing was changed in it.',
    { cause: error },
  );
}

/** The ARNs of a client stack's user roles: from its outputs, else from its role resources' physical names. */
export async function userRoleArns(
  clients: AwsClients,
  stack: string,
  outputs: Readonly<Record<string, string>> | undefined,
): Promise<Partial<Record<UserRole, string>>> {
  const read = (key: string) => outputs?.[key];
  const arns: Partial<Record<UserRole, string>> = {};
  for (const role of ['upload', 'download'] as const) {
    const value = read(ROLE_ARN_OUTPUTS[role]);
    if (value) arns[role] = value;
  }
  if (arns.upload && arns.download) return arns;
  const { DescribeStackResourcesCommand } = await import('@aws-sdk/client-cloudformation');
  const { StackResources } = await (await clients.cloudFormation()).send(
    new DescribeStackResourcesCommand({ StackName: stack }),
  );
  for (const role of ['upload', 'download'] as const) {
    if (arns[role]) continue;
    const resource = StackResources?.find((entry) => entry.LogicalResourceId === ROLE_LOGICAL_IDS[role]);
    const account = /^arn:[^:]+:cloudformation:[^:]*:(\d{12}):/.exec(resource?.StackId ?? '')?.[1];
    if (resource?.PhysicalResourceId && account)
      arns[role] = `arn:${partitionOf(clients.target.region)}:iam::${account}:role/${resource.PhysicalResourceId}`;
  }
  return arns;
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
