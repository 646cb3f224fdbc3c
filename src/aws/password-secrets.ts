import { SftpctlError } from '../core/errors.js';
import type { AwsClients } from './clients.js';

/**
 * An FTPS user's password hash in Secrets Manager (`{"hash": "scrypt$…"}`), encrypted with the client's KMS key:
 * created on first use, a new version after. Returns whether it was created.
 */
export async function writePasswordSecret(
  clients: AwsClients,
  secret: { name: string; kmsKeyId: string; description: string; tags: Record<string, string> },
  hash: string,
): Promise<{ created: boolean }> {
  const { CreateSecretCommand, PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const manager = await clients.secretsManager();
  const value = JSON.stringify({ hash });
  try {
    await manager.send(
      new CreateSecretCommand({
        Name: secret.name,
        Description: secret.description,
        KmsKeyId: secret.kmsKeyId,
        SecretString: value,
        Tags: Object.entries(secret.tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return { created: true };
  } catch (error) {
    if ((error as Error).name !== 'ResourceExistsException') throw writeError(error, secret.name);
  }
  try {
    await manager.send(new PutSecretValueCommand({ SecretId: secret.name, SecretString: value }));
    return { created: false };
  } catch (error) {
    throw writeError(error, secret.name);
  }
}

/** Deletes the secret at once (a hash has nothing to recover); false when there was none. */
export async function deletePasswordSecret(clients: AwsClients, name: string): Promise<boolean> {
  const { DeleteSecretCommand } = await import('@aws-sdk/client-secrets-manager');
  try {
    await (await clients.secretsManager()).send(
      new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

function writeError(error: unknown, name: string): SftpctlError {
  return new SftpctlError(
    'SECRET_WRITE_FAILED',
    `Could not write secret ${name}: ${(error as Error).message}`,
    "Check your permissions (secretsmanager:CreateSecret, PutSecretValue, TagResource; kms:GenerateDataKey and kms:Decrypt on the environment key). The user's password is unchanged.",
    { cause: error },
  );
}
