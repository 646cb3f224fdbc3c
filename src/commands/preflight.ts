import { closestMatch } from '../core/config/problems.js';
import { clientEnvironments } from '../core/config/resolve.js';
import { UsageError } from '../core/errors.js';
import { readConfigFile, validateConfigFile } from '../io/config-file.js';
import type { GlobalOptions } from './context.js';

/** The names a command was given that must exist in the config. */
export interface NameChecks {
  /** Client names (an argument, or --client values), each a client of the config. */
  clients?: readonly string[];
  /** The clients must also exist in the environment acted on (when it is known: --env, or the only one). */
  inEnvironment?: boolean;
}

/**
 * The one place names are checked, before any command runs (so before any AWS call or sign-in): `--env` must name an
 * environment of the config in every command that reads one, and client names must name its clients. A config that
 * does not validate is left to the command, which reports every problem in it.
 */
export async function checkNames(globals: GlobalOptions, checks: NameChecks, cwd: string): Promise<void> {
  const file = await readConfigFile(globals.config, cwd);
  const { config } = await validateConfigFile(file, { checkKeys: false });
  if (!config) return;
  const environments = Object.keys(config.environments);
  if (globals.env !== undefined && !environments.includes(globals.env)) {
    const guess = closestMatch(globals.env, environments);
    throw new UsageError(
      'ENV_UNKNOWN',
      `--env: there is no environment "${globals.env}" in ${file.displayPath}.`,
      `${guess ? `Did you mean --env ${guess}? ` : ''}Its environments: ${environments.join(', ')}. Nothing was changed.`,
    );
  }
  const envName = globals.env ?? (environments.length === 1 ? environments[0] : undefined);
  const known = config.clients.map((client) => client.name);
  for (const name of checks.clients ?? []) {
    const client = config.clients.find((entry) => entry.name === name);
    if (!client) {
      const guess = closestMatch(name, known);
      throw new UsageError(
        'CLIENT_NOT_FOUND',
        `There is no client "${name}" in ${file.displayPath}.`,
        known.length === 0
          ? 'The config has no clients yet: add one with `sftpctl client add <name>`. Nothing was changed.'
          : `${guess ? `Did you mean ${guess}? ` : ''}Clients: ${known.join(', ')}. Nothing was changed.`,
      );
    }
    const its = clientEnvironments(config, client);
    if (checks.inEnvironment && envName !== undefined && !its.includes(envName)) {
      throw new UsageError(
        'CLIENT_NOT_IN_ENV',
        `Client "${name}" does not exist in environment ${envName}.`,
        `Its environments: ${its.join(', ')} (choose one with --env). Nothing was changed.`,
      );
    }
  }
}
