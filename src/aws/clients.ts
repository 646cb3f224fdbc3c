import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import type { TransferClient } from '@aws-sdk/client-transfer';
import type { Environment } from '../core/config/schema.js';
import { SftpctlError } from '../core/errors.js';

/** Where AWS calls go: credentials from the standard provider chain (profile, SSO, environment, instance role). */
export interface AwsTarget {
  region: string;
  profile: string | undefined;
}

/** `--region` beats the config, which beats the environment ($AWS_REGION). */
export function awsTarget(env: Environment, flags: { region?: string; profile?: string }): AwsTarget {
  const region = flags.region ?? (env.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION);
  if (!region)
    throw new SftpctlError(
      'AWS_REGION_MISSING',
      `No region for environment ${env.name}.`,
      'Set region in the config, or pass --region.',
      { kind: 'usage' },
    );
  return { region, profile: flags.profile ?? process.env.AWS_PROFILE };
}

/** Creates SDK clients lazily: each SDK module loads only when a command first needs it. */
export class AwsClients {
  private readonly cache = new Map<string, unknown>();

  constructor(readonly target: AwsTarget) {}

  private async credentials() {
    const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
    return fromNodeProviderChain(this.target.profile ? { profile: this.target.profile } : {});
  }

  private async client<T>(
    name: string,
    create: (config: { region: string; credentials: Awaited<ReturnType<AwsClients['credentials']>> }) => Promise<T>,
  ): Promise<T> {
    if (!this.cache.has(name))
      this.cache.set(name, await create({ region: this.target.region, credentials: await this.credentials() }));
    return this.cache.get(name) as T;
  }

  sts(): Promise<STSClient> {
    return this.client('sts', async (config) => new (await import('@aws-sdk/client-sts')).STSClient(config));
  }

  secretsManager(): Promise<SecretsManagerClient> {
    return this.client(
      'secrets',
      async (config) => new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient(config),
    );
  }

  transfer(): Promise<TransferClient> {
    return this.client(
      'transfer',
      async (config) => new (await import('@aws-sdk/client-transfer')).TransferClient(config),
    );
  }

  cloudFormation(): Promise<CloudFormationClient> {
    return this.client(
      'cloudformation',
      async (config) => new (await import('@aws-sdk/client-cloudformation')).CloudFormationClient(config),
    );
  }
}

/** Before any change: refuse to touch an account other than the one the environment names. */
export async function assertAccount(clients: AwsClients, env: Environment): Promise<string> {
  const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  let account: string | undefined;
  try {
    account = (await (await clients.sts()).send(new GetCallerIdentityCommand({}))).Account;
  } catch (error) {
    throw new SftpctlError(
      'AWS_CREDENTIALS',
      `Could not identify the AWS account: ${(error as Error).message}`,
      'Sign in (aws sso login, or set AWS_PROFILE / --profile) and try again. Nothing was changed.',
      { cause: error },
    );
  }
  if (env.account && account !== env.account) {
    throw new SftpctlError(
      'AWS_ACCOUNT_MISMATCH',
      `These credentials are for account ${account}, but environment ${env.name} is account ${env.account}.`,
      'Use the profile for the right account (--profile). Nothing was changed.',
    );
  }
  return account ?? 'unknown';
}
