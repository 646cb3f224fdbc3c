import { AwsClients, type AwsTarget, assertAccount, awsTarget } from '../aws/clients.js';
import { setWaitReporter } from '../aws/waits.js';
import { requireClient } from '../core/config/resolve.js';
import type { Client, Config, Environment } from '../core/config/schema.js';
import { environmentOf } from '../io/config-file.js';
import type { CommandContext } from './context.js';

export interface AwsFlags {
  region?: string;
  profile?: string;
}

/**
 * For commands acting on a whole environment (deploy, diff, destroy): its config, and clients for the right, verified
 * account. Names were checked before the command started (commands/preflight.ts); these checks stay as a backstop.
 */
export async function environmentInAws(
  config: Config,
  flags: AwsFlags,
  context: CommandContext,
  overrides?: AwsTarget['overrides'],
): Promise<{ env: Environment; clients: AwsClients; account: string }> {
  const env = config.environments[environmentOf(config, context.globals.env)]!;
  const clients = new AwsClients({ ...awsTarget(env, flags), ...(overrides ? { overrides } : {}) });
  const account = await assertAccount(clients, env);
  // Deploy, diff and destroy show their own live progress from here on: a second spinner would draw over it.
  setWaitReporter(undefined);
  return { env, clients, account };
}

/** For commands that change AWS: the environment, the client in it, and clients for the right, verified account. */
export async function clientInAws(
  config: Config,
  clientName: string,
  flags: AwsFlags,
  context: CommandContext,
): Promise<{ env: Environment; client: Client; clients: AwsClients; account: string }> {
  const envName = environmentOf(config, context.globals.env);
  const env = config.environments[envName]!;
  const client = requireClient(config, clientName, envName);
  const clients = new AwsClients(awsTarget(env, flags));
  const account = await assertAccount(clients, env);
  return { env, client, clients, account };
}
