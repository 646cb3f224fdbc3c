import { dirname, join, relative, resolve } from 'node:path';
import { clientsInEnvironment } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { UsageError } from '../core/errors.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { type LocalLog, startLocalPlatform } from '../local/platform.js';
import { parseQuota } from '../local/sftp/quota.js';
import type { Colors } from '../ui/colors.js';
import { renderTable } from '../ui/table.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

export interface LocalUpOptions {
  host: string;
  port: string;
  data?: string;
  allowLoopback: boolean;
  quota?: string;
  compatibleAlgorithms?: boolean;
}

/** Runs the platform locally until SIGINT/SIGTERM, then stops accepting, lets in-flight work finish, and exits. */
export async function localUp(options: LocalUpOptions, context: CommandContext): Promise<number> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(
      'INVALID_FLAG',
      `--port: "${options.port}" is not a port.`,
      'Give a number from 1 to 65535 (0 picks a free one).',
    );
  const quotaBytes = options.quota === undefined ? undefined : parseQuota(options.quota);
  if (options.quota !== undefined && quotaBytes === undefined)
    throw new UsageError(
      'INVALID_FLAG',
      `--quota: "${options.quota}" is not a size.`,
      'Give a size such as 500G, 2T or 1048576 (bytes), at least 4K.',
    );
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd });
  const env = localEnvironment(config, context.globals.env);
  const configDir = dirname(file.path);
  const dataDir = resolve(context.cwd, options.data ?? join(configDir, '.sftpctl', 'local', env));
  const { output } = context;
  const log = eventPrinter(context);

  // Listen for signals before anything starts: one that arrives during start-up stops the platform once it is up,
  // instead of killing the process half-way.
  const stopRequested = new Promise<string>((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveStop(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const platform = await startLocalPlatform({
    config,
    configDir,
    env,
    host: options.host,
    port,
    dataDir,
    allowLoopback: options.allowLoopback,
    sftpQuotaBytes: quotaBytes,
    sftpAlgorithmPolicy: options.compatibleAlgorithms ? 'compatible' : 'strict',
    log,
    passphrase: (path) => readPassphrase(context, `for ${path}`, { confirm: false }),
  });
  const shown = (path: string) => relative(context.cwd, path) || '.';
  const c = output.colors;
  log({
    event: 'ready',
    host: platform.host,
    port: platform.port,
    hostKeyFingerprint: platform.hostKeyFingerprint,
    dataDir,
    users: platform.users,
    generated: platform.generated,
  });
  if (process.stdout.isTTY && !output.json) {
    output.line(
      `${c.green('✔')} sftpctl local platform (${config.project}, environment ${env}) on ${c.bold(`sftp://${platform.host}:${platform.port}`)}`,
    );
    output.line(
      `  host key ${platform.hostKeyFingerprint}   data ${shown(dataDir)}   loopback ${options.allowLoopback ? 'allowed' : 'subject to the allow-lists'}`,
    );
    output.line();
    output.line(
      renderTable(
        ['user', 'client', 'sees as /', 'may'],
        platform.users.map((user) => [
          user.userName,
          user.client,
          shown(user.home),
          user.role === 'upload' ? 'list read write delete rename mkdir' : 'list read',
        ]),
      ),
    );
    if (platform.generated.length > 0) {
      output.line();
      output.line('Generated for local use (not in the config, never used in AWS):');
      for (const key of platform.generated)
        output.line(
          `  ${key.client} ${key.user ?? ''} ${key.what}: ${shown(key.privateKey)} ${c.dim(key.fingerprint)}`,
        );
    }
    printDemo(output, config, env, platform, shown, c);
    output.line(c.dim('Ctrl+C stops it; in-flight uploads are finished or cleanly abandoned.'));
  }

  const signal = await stopRequested;
  log({ event: 'stopping', signal });
  await platform.stop();
  return 0;
}

/** Local mode runs one environment: --env, or the first one the config lists. */
export function localEnvironment(config: Config, requested: string | undefined): string {
  return requested === undefined ? (Object.keys(config.environments)[0] ?? '') : environmentOf(config, requested);
}

function printDemo(
  output: CommandContext['output'],
  config: Config,
  env: string,
  platform: Awaited<ReturnType<typeof startLocalPlatform>>,
  shown: (path: string) => string,
  c: Colors,
) {
  const client = clientsInEnvironment(config, env).find((entry) => entry.upload != null);
  const user = platform.users.find((entry) => entry.client === client?.name && entry.role === 'upload');
  if (!client || !user) return;
  const ingress =
    platform.generated.find((key) => key.client === client.name && key.what === 'ingress PGP pair')?.publicKey ??
    client.pgp.ingressPublicKey;
  const sshKey = platform.generated.find((key) => key.user === user.userName)?.privateKey;
  const raw = join(platform.bucketsDir, pipelineSettingsFor(config, env, client).buckets.raw);
  output.line();
  output.line(c.bold('Try it (encrypt with gpg, upload with sftp, read the decrypted file):'));
  output.line(
    `  echo "hello partner" > hello.txt && gpg --batch --yes --trust-model always --recipient-file ${shown(ingress ?? '<ingress public key>')} -o hello.txt.gpg -e hello.txt`,
  );
  output.line(
    `  echo "put hello.txt.gpg" | sftp -b - -P ${platform.port} -i ${sshKey ? shown(sshKey) : '<your key>'} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${user.userName}@${platform.host}`,
  );
  output.line(`  cat ${shown(join(raw, 'hello.txt'))}`);
  output.line();
}

/** Events as one JSON line each (no TTY, or --json), or as readable coloured lines on a terminal. */
function eventPrinter(context: CommandContext): LocalLog {
  const structured = context.globals.json || !process.stdout.isTTY;
  const c = context.output.colors;
  return (event) => {
    if (structured) {
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      return;
    }
    const { event: name, ...rest } = event;
    if (name === 'ready' || name === 'server-started') return; // the banner shows these on a terminal
    const bad = /failed|refused|quarantined|dead-letter|banned/.test(name);
    const good = /completed|processed|egress-done|auth-ok|verified/.test(name);
    const label = bad ? c.red(name) : good ? c.green(name) : c.cyan(name);
    const details = Object.entries(rest)
      .map(([key, value]) => `${c.dim(`${key}=`)}${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    process.stdout.write(`${c.dim(new Date().toISOString().slice(11, 19))} ${label} ${details}\n`);
  };
}
