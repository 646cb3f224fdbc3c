import { diffEnvironment } from '../deploy/diff.js';
import { type EngineOverrides, realEngineDeps } from '../deploy/engine-deps.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { renderChanges } from '../ui/change-list.js';
import { withDeployProgress } from '../ui/deploy-progress.js';
import { type AwsFlags, environmentInAws } from './aws-context.js';
import type { CommandContext } from './context.js';
import { checkRoleAccount, parseConcurrency, parseRoleArn } from './deploy.js';

export interface DiffOptions extends AwsFlags {
  client?: string[];
  roleArn?: string;
  concurrency?: string;
  exitCode?: boolean;
}

/** Prints what a deploy would change; with --exit-code, exits 2 when there are changes (for CI gates). */
export async function diff(
  options: DiffOptions,
  context: CommandContext,
  testing: EngineOverrides = {},
): Promise<number> {
  const concurrency = parseConcurrency(options.concurrency);
  const role = parseRoleArn(options.roleArn);
  const { config, keys } = await loadConfig(context.globals.config, {
    cwd: context.cwd,
    checkKeys: true,
    privateKeysElsewhere: true,
  });
  const envName = environmentOf(config, context.globals.env);
  const { clients, account } = await environmentInAws(config, options, context, testing.aws);
  checkRoleAccount(role, account);
  const deps = { ...realEngineDeps(clients), ...role, ...testing.deps };
  const { output } = context;
  const c = output.json ? output.errColors : output.colors;
  output.info(
    `Comparing ${c.bold(`${config.project}/${envName}`)} with account ${account} in ${clients.target.region}`,
  );
  const diffs = await withDeployProgress(
    output,
    c,
    'Change sets created so far may remain (nothing was executed); they can be deleted, and the next diff makes new ones.',
    (progress) =>
      diffEnvironment({
        config,
        env: envName,
        ...(options.client ? { clients: options.client } : {}),
        concurrency,
        deps,
        progress,
        ...(keys ? { keys } : {}),
      }),
  );
  for (const entry of diffs) {
    if (entry.state === 'unchanged') output.line(`${c.bold(entry.stack)}: no changes`);
    else if (entry.state === 'blocked')
      output.line(`${c.bold(entry.stack)}: ${c.red('cannot compare')}: ${entry.note}`);
    else if (entry.state === 'changed' && entry.changes.length === 0 && !entry.note)
      output.line(`${c.bold(entry.stack)}: ${entry.identity ? 'user table only' : 'SSH keys only'}`);
    else {
      for (const line of renderChanges(entry.stack, entry.state === 'new' ? 'create' : 'update', entry.changes, c))
        output.line(line);
      if (entry.note) output.line(`  ${c.dim(entry.note)}`);
    }
    for (const user of entry.keys ?? []) {
      for (const fingerprint of user.import)
        output.line(`  ${c.green('+ SSH key')} ${fingerprint} on ${user.userName}`);
      for (const fingerprint of user.delete) output.line(`  ${c.red('- SSH key')} ${fingerprint} on ${user.userName}`);
      if (user.keptBecauseConfigIsEmpty)
        output.line(`  ${c.yellow('! SSH keys')} of ${user.userName} kept: the config lists none for it`);
    }
    for (const user of entry.identity ?? []) {
      const sign =
        user.action === 'add' ? c.green('+ user') : user.action === 'delete' ? c.red('- user') : c.yellow('~ user');
      output.line(`  ${sign} ${user.userName} in the user table`);
      for (const fingerprint of user.addKeys) output.line(`    ${c.green('+ SSH key')} ${fingerprint}`);
      for (const fingerprint of user.removeKeys) output.line(`    ${c.red('- SSH key')} ${fingerprint}`);
      for (const fingerprint of user.expiryChanged) output.line(`    ${c.yellow('~ SSH key')} ${fingerprint} expiry`);
      if (user.keptBecauseConfigIsEmpty)
        output.line(`    ${c.yellow('! SSH keys')} kept: the config lists none for it`);
    }
  }
  const changed = diffs.filter((entry) => entry.state === 'new' || entry.state === 'changed');
  const blocked = diffs.filter((entry) => entry.state === 'blocked');
  output.line();
  output.line(
    changed.length === 0
      ? `No changes in ${diffs.length} stack${diffs.length === 1 ? '' : 's'}.`
      : `${changed.length} of ${diffs.length} stacks would change. Nothing was changed; sftpctl deploy applies them.`,
  );
  output.data(diffs);
  if (blocked.length > 0) return 1;
  return options.exitCode && changed.length > 0 ? 2 : 0;
}
