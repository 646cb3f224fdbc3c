import { AwsClients, awsTarget } from '../aws/clients.js';
import { type EnvironmentStatus, gatherStatus, stackHealth, UNKNOWN } from '../deploy/status.js';
import { environmentOf, loadConfig, validateConfigFile } from '../io/config-file.js';
import type { Colors } from '../ui/colors.js';
import { renderTable } from '../ui/table.js';
import type { AwsFlags } from './aws-context.js';
import type { CommandContext } from './context.js';
import { splitList } from './options.js';

export interface StatusOptions extends AwsFlags {
  /** Only these clients (repeatable, or comma-separated); the platform stacks are always shown. */
  client?: string[];
}

/** Read-only report of one environment. Exit 0 when healthy, 1 when any problem was found. */
export async function status(options: StatusOptions, context: CommandContext): Promise<number> {
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  // Key files are read only to compare fingerprints: a missing key file (a private PGP key kept off this machine)
  // must not stop a status report, so their validation errors are not fatal here.
  const { keys } = await validateConfigFile(file);
  const envName = environmentOf(config, context.globals.env);
  const env = config.environments[envName]!;
  const clients = new AwsClients(awsTarget(env, options));
  const clientFilter = (options.client ?? []).flatMap(splitList);
  const report = await gatherStatus({
    config,
    env: envName,
    clients,
    now: new Date(),
    ...(clientFilter.length > 0 ? { clientFilter } : {}),
    ...(keys ? { keys } : {}),
  });

  const { output } = context;
  output.data(report);
  if (!output.json) printReport(report, output.colors, (line) => output.line(line));
  const c = output.json ? output.errColors : output.colors;
  if (report.problems.length === 0) {
    output.success('No problems found.');
    return 0;
  }
  output.line(`${c.red('✖')} ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:`);
  for (const problem of report.problems) output.line(`  - ${problem}`);
  return 1;
}

function printReport(report: EnvironmentStatus, c: Colors, line: (text?: string) => void): void {
  line(
    `${c.bold(`${report.project}-${report.environment}`)} in account ${report.account}, ${report.region} (${report.checkedAt.slice(0, 16).replace('T', ' ')} UTC)`,
  );
  line();

  line(c.bold('Stacks'));
  line(
    renderTable(
      ['stack', 'status', 'updated', 'protection'],
      report.stacks.map((stack) => [
        stack.orphan ? `${stack.name} ${c.yellow('(not in config)')}` : stack.name,
        stackColor(stack.status, c),
        stack.lastUpdated ? stack.lastUpdated.slice(0, 16).replace('T', ' ') : '-',
        stack.terminationProtection === null ? '-' : stack.terminationProtection ? 'on' : 'off',
      ]),
    ),
  );
  line();

  const server = report.server;
  if (server) {
    line(`${c.bold('Server')} ${server.id}  ${serverColor(server.state, c)}`);
    line(`  endpoint  ${server.endpoint ?? '-'}`);
    line(`  IPs       ${server.publicIps.join(', ') || '-'}`);
    line(
      `  policy    ${server.securityPolicy ?? '-'}${server.protocols.length > 0 ? ` (${server.protocols.join(', ')})` : ''}`,
    );
  } else {
    line(`${c.bold('Server')} ${c.red('not deployed')}`);
  }
  line();

  if (report.users.length > 0) {
    line(c.bold('Users'));
    line(
      renderTable(
        ['client', 'role', 'user', 'keys', 'key ages'],
        report.users.map((user) => {
          if (user.keys === UNKNOWN) return [user.client, user.role, user.userName, c.yellow(UNKNOWN), '-'];
          const count = `${user.keys.length}/${user.expected}`;
          return [
            user.client,
            user.role,
            user.userName,
            user.problem ? c.red(count) : c.green(count),
            user.keys
              .map((key) => `${key.ageDays === null ? '?' : `${key.ageDays}d`}${key.retiring ? ' (retiring)' : ''}`)
              .join(', ') || '-',
          ];
        }),
      ),
    );
    line();
  }

  if (report.queues.length > 0) {
    line(c.bold('Dead-letter queues'));
    line(
      renderTable(
        ['client', 'chain', 'messages'],
        report.queues.map((queue) => [queue.client, queue.chain, countColor(queue.depth, c)]),
        { align: ['left', 'left', 'right'] },
      ),
    );
    line();
  }

  if (report.functionErrors.length > 0) {
    line(c.bold('Function errors (last 24 h)'));
    line(
      renderTable(
        ['client', 'chain', 'function', 'errors'],
        report.functionErrors.map((fn) => [fn.client, fn.chain, fn.functionName, countColor(fn.errors, c)]),
        { align: ['left', 'left', 'left', 'right'] },
      ),
    );
    line();
  }
}

function stackColor(status: string, c: Colors): string {
  const health = stackHealth(status);
  return health === 'ok' ? c.green(status) : health === 'bad' ? c.red(status) : c.yellow(status);
}

function serverColor(state: string, c: Colors): string {
  if (state === 'ONLINE') return c.green(state);
  return state === 'STARTING' || state === 'STOPPING' || state === UNKNOWN ? c.yellow(state) : c.red(state);
}

function countColor(value: number | typeof UNKNOWN, c: Colors): string {
  if (value === UNKNOWN) return c.yellow(UNKNOWN);
  return value === 0 ? c.green('0') : c.red(String(value));
}
