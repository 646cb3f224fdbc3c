import { SftpctlError } from '../core/errors.js';
import { destroyEnvironment } from '../deploy/destroy.js';
import { type EngineOverrides, realEngineDeps } from '../deploy/engine-deps.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { withDeployProgress } from '../ui/deploy-progress.js';
import { renderStackResults } from '../ui/deploy-summary.js';
import { type AwsFlags, environmentInAws } from './aws-context.js';
import type { CommandContext } from './context.js';
import { checkRoleAccount, parseConcurrency, parseRoleArn, requireConfirmation } from './deploy.js';

export interface DestroyOptions extends AwsFlags {
  client?: string[];
  roleArn?: string;
  emptyBuckets?: boolean;
  concurrency?: string;
}

/** Tears an environment (or named clients) down, after the environment's name is typed back (or --yes). */
export async function destroy(
  options: DestroyOptions,
  context: CommandContext,
  testing: EngineOverrides = {},
): Promise<number> {
  const concurrency = parseConcurrency(options.concurrency);
  const role = parseRoleArn(options.roleArn);
  const { config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const envName = environmentOf(config, context.globals.env);
  requireConfirmation(context, 'A destroy');
  const { clients, account } = await environmentInAws(config, options, context, testing.aws);
  checkRoleAccount(role, account);
  const { output } = context;
  const c = output.json ? output.errColors : output.colors;
  const scope = options.client?.length
    ? `client${options.client.length === 1 ? '' : 's'} ${options.client.join(', ')} of `
    : '';
  if (!context.globals.yes) {
    output.line(
      `This deletes the stacks of ${scope}${c.bold(`${config.project}/${envName}`)} in account ${account} (${clients.target.region}).${options.emptyBuckets ? c.red(' Every object version in their buckets is deleted first.') : ''}`,
    );
    const typed = await context.prompter.input({
      name: 'environment',
      message: `Type the environment name (${envName}) to confirm:`,
    });
    if (typed.trim() !== envName) {
      throw new SftpctlError(
        'DESTROY_NOT_CONFIRMED',
        `"${typed.trim()}" is not ${envName}; nothing was deleted.`,
        'Run it again and type the name exactly.',
      );
    }
  }
  const deps = { ...realEngineDeps(clients), ...role, ...testing.deps };
  const results = await withDeployProgress(
    output,
    c,
    'Stack deletions already started continue in CloudFormation; sftpctl status shows where they are, and running sftpctl destroy again finishes the rest.',
    (progress) =>
      destroyEnvironment({
        config,
        env: envName,
        ...(options.client ? { clients: options.client } : {}),
        emptyBuckets: Boolean(options.emptyBuckets),
        concurrency,
        deps,
        progress,
      }),
  );
  for (const result of results) {
    for (const emptied of result.emptied)
      output.line(`${result.stack}: emptied ${emptied.bucket} (${emptied.versions} versions)`);
    for (const bucket of result.deletedBuckets) output.line(`${result.stack}: deleted empty bucket ${bucket}`);
    for (const kept of result.retained) output.line(c.dim(`${result.stack}: kept ${kept.type} ${kept.physicalId}`));
  }
  output.line();
  for (const line of renderStackResults(results, c)) output.line(line);
  if (results.some((result) => result.retained.length > 0))
    output.line(
      c.dim(
        'Kept resources hold keys and logs on purpose (DeletionPolicy: Retain); delete them by hand once nothing needs them.',
      ),
    );
  output.data(results);
  return results.some((result) => result.action === 'failed' || result.action === 'skipped') ? 1 : 0;
}
