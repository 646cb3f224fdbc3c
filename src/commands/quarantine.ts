import { dirname, join, resolve } from 'node:path';
import { clientStackName } from '../core/config/naming.js';
import { requireClient } from '../core/config/resolve.js';
import { SftpctlError } from '../core/errors.js';
import { quarantineRecordKey } from '../core/pipeline/names.js';
import { listQuarantine, readRecord, releaseQuarantined } from '../core/pipeline/quarantine.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { LEGACY_QUARANTINE_PREFIX } from '../core/pipeline/types.js';
import type { ObjectStore } from '../core/ports.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { FsObjectStore } from '../local/fs-object-store.js';
import { renderTable } from '../ui/table.js';
import { clientInAws } from './aws-context.js';
import type { CommandContext } from './context.js';
import { localEnvironment } from './local-up.js';

export interface QuarantineOptions {
  data?: string;
  all?: boolean;
  /** Read the deployed buckets in AWS (through the S3 ObjectStore) instead of the local platform's folders. */
  aws?: boolean;
  region?: string;
  profile?: string;
}

/**
 * `sftpctl quarantine list|show|release CLIENT [KEY]` over the local platform's buckets (`--data`), or, with `--aws`,
 * over the deployed buckets through the S3 ObjectStore (the same core code either way).
 */
export async function quarantineCommand(
  action: 'list' | 'show' | 'release' | 'redrive',
  clientName: string,
  key: string | undefined,
  options: QuarantineOptions,
  context: CommandContext,
): Promise<number> {
  const { file, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const env = options.aws ? environmentOf(config, context.globals.env) : localEnvironment(config, context.globals.env);
  const client = requireClient(config, clientName, env);
  let store: ObjectStore;
  if (action === 'redrive' && options.aws) return redriveInAws(config, clientName, options, context);
  if (action === 'redrive') {
    const dataDir = resolve(context.cwd, options.data ?? join(dirname(file.path), '.sftpctl', 'local', env));
    const { redriveDeadLetters } = await import('../local/dead-letter.js');
    const results = await redriveDeadLetters(
      new FsObjectStore(join(dataDir, 'buckets')),
      pipelineSettingsFor(config, env, client),
      dataDir,
    );
    context.output.data(results);
    if (results.length === 0) context.output.success(`No dead letters for ${clientName}.`);
    for (const result of results) {
      if (result.redriven) context.output.success(`Redriven ${result.kind} ${result.key}.`);
      else context.output.warn(`${result.kind} ${result.key}: ${result.reason}; record removed.`);
    }
    return 0;
  }
  if (options.aws) {
    const { clients } = await clientInAws(config, clientName, options, context);
    const { S3ObjectStore } = await import('../aws/s3-object-store.js');
    store = new S3ObjectStore(await clients.s3());
  } else {
    const dataDir = resolve(context.cwd, options.data ?? join(dirname(file.path), '.sftpctl', 'local', env));
    store = new FsObjectStore(join(dataDir, 'buckets'));
  }
  const settings = pipelineSettingsFor(config, env, client);
  const deps = { store };
  const { output } = context;

  if (action === 'list') {
    const records = await listQuarantine(deps, settings);
    output.data(records);
    if (records.length === 0) output.success(`Nothing quarantined for ${clientName}.`);
    else
      output.line(
        renderTable(
          ['at', 'key', 'code', 'still the current upload'],
          records.map((record) => [
            record.at,
            record.key,
            record.reason.code,
            record.current ? 'yes' : 'no (replaced)',
          ]),
        ),
      );
    return 0;
  }
  const keys = action === 'release' && options.all ? (await listQuarantine(deps, settings)).map((r) => r.key) : [];
  if (keys.length === 0) {
    if (!key)
      throw new SftpctlError(
        'QUARANTINE_KEY_MISSING',
        `Say which upload: sftpctl quarantine ${action} ${clientName} KEY${action === 'release' ? ' (or --all)' : ''}.`,
        `List them with \`sftpctl quarantine list ${clientName}\`.`,
      );
    keys.push(key);
  }
  if (action === 'show') {
    const record = await readRecord(deps, settings, quarantineRecordKey(keys[0]!)).catch(() =>
      readRecord(deps, settings, `${LEGACY_QUARANTINE_PREFIX}${keys[0]}.json`),
    );
    output.data(record);
    output.line(`${record.key} (${record.size ?? '?'} bytes, etag ${record.etag ?? '?'}) quarantined ${record.at}`);
    output.line(`  ${record.reason.code}: ${record.reason.message}`);
    if (record.reason.hint) output.line(`  ${record.reason.hint}`);
    return 0;
  }
  const results = [];
  for (const entry of keys) results.push(await releaseQuarantined(deps, settings, entry));
  output.data(results);
  for (const result of results) {
    if (result.released)
      output.success(
        `Released ${result.key}: ${options.aws ? 'the next sweep' : 'a running `sftpctl local up`'} processes it again.`,
      );
    else output.warn(`${result.key} not released: ${result.reason}.`);
  }
  return results.every((result) => result.released) ? 0 : 1;
}

/** `quarantine redrive CLIENT --aws`: the client's dead letters back onto its queues, counted per queue. */
async function redriveInAws(
  config: Parameters<typeof clientInAws>[0],
  clientName: string,
  options: QuarantineOptions,
  context: CommandContext,
): Promise<number> {
  const { clients } = await clientInAws(config, clientName, options, context);
  const env = environmentOf(config, context.globals.env);
  const stack = clientStackName(config.project, env, clientName);
  const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const described = await (await clients.cloudFormation())
    .send(new DescribeStacksCommand({ StackName: stack }))
    .catch((error: Error) => {
      throw new SftpctlError(
        'STACK_NOT_DEPLOYED',
        `Could not read stack ${stack}: ${error.message}`,
        `Deploy the client first: sftpctl deploy --env ${env} --client ${clientName}.`,
        { cause: error },
      );
    });
  const outputs = Object.fromEntries(
    (described.Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
  );
  const { queuePairs, redriveDeadLetters } = await import('../aws/dead-letter-redrive.js');
  const pairs = queuePairs(outputs);
  if (pairs.length === 0)
    throw new SftpctlError(
      'NO_QUEUES',
      `Stack ${stack} has no queue outputs: ${clientName} has no ingress or egress in ${env}.`,
      'Nothing to redrive.',
    );
  const results = await redriveDeadLetters(await clients.sqs(), pairs);
  const { output } = context;
  output.data(results);
  for (const result of results) {
    if (result.method === 'empty') output.success(`${result.chain}: no dead letters.`);
    else if (result.method === 'in-progress')
      output.warn(`${result.chain}: a move task is already running (${result.messages} to go); not started again.`);
    else if (result.method === 'move-task')
      output.success(
        `${result.chain}: moving ${result.messages} dead letter(s) back (SQS task ${result.taskHandle ?? '?'}).`,
      );
    else {
      output.success(`${result.chain}: ${result.messages} dead letter(s) sent back to the queue.`);
      if (result.failed) output.warn(`${result.chain}: ${result.failed} could not be sent; run redrive again.`);
    }
  }
  return results.some((result) => result.failed) ? 1 : 0;
}
