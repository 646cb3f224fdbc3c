import { createReadStream } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { clientsInEnvironment } from '../core/config/resolve.js';
import { SftpctlError, UsageError } from '../core/errors.js';
import { pipelineSettingsFor } from '../core/pipeline/settings.js';
import { loadConfig } from '../io/config-file.js';
import { exists } from '../io/files.js';
import { FsObjectStore } from '../local/fs-object-store.js';
import type { CommandContext } from './context.js';
import { localEnvironment } from './local-up.js';

export interface LocalExportOptions {
  data?: string;
  as?: string;
}

/** Places a file in a client's local export folder, atomically; a running `local up` encrypts it for the partner. */
export async function localExport(
  clientName: string,
  file: string,
  options: LocalExportOptions,
  context: CommandContext,
): Promise<number> {
  const { file: configFile, config } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const env = localEnvironment(config, context.globals.env);
  const client = clientsInEnvironment(config, env).find((entry) => entry.name === clientName);
  if (!client)
    throw new SftpctlError(
      'CLIENT_NOT_FOUND',
      `There is no client "${clientName}" in environment ${env}.`,
      `Clients: ${clientsInEnvironment(config, env)
        .map((entry) => entry.name)
        .join(', ')}.`,
    );
  if (client.download == null)
    throw new SftpctlError(
      'CLIENT_NO_DOWNLOAD_USER',
      `Client ${clientName} has no download user, so nothing is exported to it.`,
      'Add a download user to the client first.',
    );
  const source = resolve(context.cwd, file);
  if (!(await exists(source))) throw new UsageError('FILE_NOT_FOUND', `${file} does not exist.`, 'Check the path.');
  const dataDir = resolve(context.cwd, options.data ?? join(dirname(configFile.path), '.sftpctl', 'local', env));
  const settings = pipelineSettingsFor(config, env, client);
  const key = options.as ?? basename(source);
  const store = new FsObjectStore(join(dataDir, 'buckets'));
  await store.put(settings.buckets.export, key, createReadStream(source));
  const download = join(dataDir, 'buckets', settings.buckets.download);
  context.output.data({
    client: clientName,
    environment: env,
    bucket: settings.buckets.export,
    key,
    willAppearIn: download,
  });
  context.output.success(`Exported ${file} as ${settings.buckets.export}/${key}.`);
  context.output.line(
    `  A running \`sftpctl local up\` encrypts it to ${relative(context.cwd, join(download, `${key}.${settings.encryptedExtensions[0]}`))} (+ checksum sidecar).`,
  );
  return 0;
}
