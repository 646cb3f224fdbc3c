import { stackName } from '../core/config/naming.js';
import { parseSshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import { OUTPUTS } from '../templates/context.js';
import type { AwsClients } from './clients.js';

export interface ServerSshKey {
  id: string;
  fingerprint: string;
  importedAt: Date | undefined;
}

/** The Transfer server id, from the server stack's outputs. */
export async function findServerId(clients: AwsClients, project: string, env: string): Promise<string> {
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const name = stackName(project, env, 'server');
  try {
    const { Stacks } = await (await clients.cloudFormation()).send(new DescribeStacksCommand({ StackName: name }));
    const id = Stacks?.[0]?.Outputs?.find((output) => output.OutputKey === OUTPUTS.server.serverId)?.OutputValue;
    if (id) return id;
  } catch (error) {
    if (!/does not exist/.test((error as Error).message)) throw error;
  }
  throw new SftpctlError(
    'SERVER_NOT_DEPLOYED',
    `Stack ${name} has no ${OUTPUTS.server.serverId} output: the server is not deployed in this environment.`,
    'Deploy it first, or pass --server-id.',
  );
}

/** The user's SSH keys on the server, with their fingerprints. */
export async function listUserKeys(clients: AwsClients, serverId: string, userName: string): Promise<ServerSshKey[]> {
  const { DescribeUserCommand } = await import('@aws-sdk/client-transfer');
  try {
    const { User } = await (await clients.transfer()).send(
      new DescribeUserCommand({ ServerId: serverId, UserName: userName }),
    );
    return (User?.SshPublicKeys ?? []).map((key) => {
      const parsed = parseSshPublicKey(key.SshPublicKeyBody ?? '');
      return {
        id: key.SshPublicKeyId ?? '',
        fingerprint: parsed.ok ? parsed.key.fingerprint : 'unparseable',
        importedAt: key.DateImported,
      };
    });
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new SftpctlError(
        'USER_NOT_DEPLOYED',
        `User ${userName} does not exist on server ${serverId}.`,
        "Deploy the client's stack first.",
        { cause: error },
      );
    }
    throw error;
  }
}

export async function importUserKey(
  clients: AwsClients,
  serverId: string,
  userName: string,
  body: string,
): Promise<string> {
  const { ImportSshPublicKeyCommand } = await import('@aws-sdk/client-transfer');
  const result = await (await clients.transfer()).send(
    new ImportSshPublicKeyCommand({ ServerId: serverId, UserName: userName, SshPublicKeyBody: body }),
  );
  return result.SshPublicKeyId ?? '';
}

export async function deleteUserKey(
  clients: AwsClients,
  serverId: string,
  userName: string,
  keyId: string,
): Promise<void> {
  const { DeleteSshPublicKeyCommand } = await import('@aws-sdk/client-transfer');
  await (await clients.transfer()).send(
    new DeleteSshPublicKeyCommand({ ServerId: serverId, UserName: userName, SshPublicKeyId: keyId }),
  );
}
