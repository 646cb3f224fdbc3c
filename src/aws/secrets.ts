import { SftpctlError } from '../core/errors.js';
import type { AwsClients } from './clients.js';

/** Writes a new version of an existing secret (the client stack creates it). Returns the version id. */
export async function putSecretValue(clients: AwsClients, name: string, value: string): Promise<string> {
  const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  try {
    const result = await (await clients.secretsManager()).send(
      new PutSecretValueCommand({ SecretId: name, SecretString: value }),
    );
    return result.VersionId ?? '';
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new SftpctlError(
        'SECRET_NOT_DEPLOYED',
        `Secret ${name} does not exist yet.`,
        "Deploy the client's stack first (sftpctl deploy); nothing was written.",
        { cause: error },
      );
    }
    throw new SftpctlError(
      'SECRET_WRITE_FAILED',
      `Could not write secret ${name}: ${(error as Error).message}`,
      'Check your permissions (secretsmanager:PutSecretValue, kms:GenerateDataKey on the client key).',
      {
        cause: error,
      },
    );
  }
}
