import { summarizeClient } from '../core/config/summary.js';
import { readConfigFile, validateConfigFile } from '../io/config-file.js';
import { printProblems, problemJson } from '../ui/problems.js';
import { renderTable } from '../ui/table.js';
import type { CommandContext } from './context.js';

export interface ConfigValidateOptions {
  keys: boolean;
  /** Warnings fail the check too (exit 1), for CI. */
  strict?: boolean;
}

export async function configValidate(
  options: ConfigValidateOptions,
  { globals, output }: CommandContext,
): Promise<number> {
  const file = await readConfigFile(globals.config);
  const result = await validateConfigFile(file, { checkKeys: options.keys });
  const problems = [...result.errors, ...result.warnings];
  printProblems(output, problems);

  if (!result.config) {
    output.data({
      valid: false,
      file: file.displayPath,
      errors: result.errors.map(problemJson),
      warnings: result.warnings.map(problemJson),
    });
    output.line();
    output.line(
      `${file.displayPath}: ${count(result.errors.length, 'error')}, ${count(result.warnings.length, 'warning')}. Nothing was changed.`,
    );
    return 1;
  }

  const config = result.config;
  if (options.strict && result.warnings.length > 0) {
    output.data({
      valid: false,
      strict: true,
      file: file.displayPath,
      errors: [],
      warnings: result.warnings.map(problemJson),
    });
    output.line();
    output.line(
      `${file.displayPath}: ${count(result.warnings.length, 'warning')}, which --strict counts as failures. Nothing was changed.`,
    );
    return 1;
  }
  const clients = config.clients.map((client) => summarizeClient(config, client));
  output.data({
    valid: true,
    file: file.displayPath,
    warnings: result.warnings.map(problemJson),
    project: config.project,
    environments: config.environments,
    clients,
  });
  if (problems.length > 0) output.line();
  const c = output.colors;
  output.line(
    `${c.green('✔')} ${c.bold(file.displayPath)} is valid${result.warnings.length > 0 ? ` (${count(result.warnings.length, 'warning')})` : ''} — project ${c.bold(config.project)}`,
  );
  output.line();
  output.line(
    renderTable(
      ['environment', 'region', 'account', 'vpc', 'AZs', 'security policy', 'protected'],
      Object.values(config.environments).map((env) => [
        env.name,
        env.region,
        env.account ?? '-',
        env.vpc.cidr,
        String(env.vpc.azCount),
        env.transfer.securityPolicy,
        env.protected ? 'yes' : 'no',
      ]),
      { width: output.width },
    ),
  );
  output.line();
  if (clients.length === 0) {
    output.line('No clients yet: add one with `sftpctl client add <name>`.');
    return 0;
  }
  output.line(
    renderTable(
      ['client', 'environments', 'users', 'allowed IPs', 'checksum', 'ingress key', 'partner key'],
      clients.map((client) => [
        client.name,
        client.environments.join(','),
        [client.users.upload, client.users.download].filter(Boolean).join(', '),
        client.allowAnyIp ? 'any' : String(client.allowedIps.length),
        client.checksum,
        client.pgp.ingressPublicKey ? 'yes' : c.yellow('missing'),
        client.pgp.partnerPublicKey ? 'yes' : client.users.download ? c.yellow('missing') : '-',
      ]),
      { width: output.width },
    ),
  );
  return 0;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
