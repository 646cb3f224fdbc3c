import { dirname, relative, resolve } from 'node:path';
import type { KeyFacts } from '../core/config/key-checks.js';
import { formatProblemWithHint, type Problem } from '../core/config/problems.js';
import type { Config } from '../core/config/schema.js';
import { type ValidationResult, validateConfigText } from '../core/config/validate.js';
import { ConfigError, isSftpctlError, SftpctlError } from '../core/errors.js';
import { describeFileSystemFault } from '../core/faults.js';
import { fileReaderAt, readTextIfExists } from './files.js';

export const DEFAULT_CONFIG_FILE = 'sftpctl.yaml';

export interface ConfigFile {
  /** Absolute path. */
  path: string;
  /** As shown to people: relative to the working folder when inside it. */
  displayPath: string;
  text: string;
}

export function configPathFrom(flag: string | undefined, cwd = process.cwd()): { path: string; displayPath: string } {
  const path = resolve(cwd, flag ?? DEFAULT_CONFIG_FILE);
  const rel = relative(cwd, path);
  return { path, displayPath: rel.startsWith('..') || rel === '' ? path : rel };
}

export async function readConfigFile(flag: string | undefined, cwd = process.cwd()): Promise<ConfigFile> {
  const { path, displayPath } = configPathFrom(flag, cwd);
  let text: string | undefined;
  try {
    text = await readTextIfExists(path);
  } catch (error) {
    const fault = isSftpctlError(error) ? error : describeFileSystemFault(error);
    throw new SftpctlError(
      'CONFIG_UNREADABLE',
      `Cannot read the config ${displayPath}: ${fault?.message ?? (error as Error).message}`,
      `${fault?.hint ?? ''} Check the --config path (or SFTPCTL_CONFIG).`.trim(),
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new SftpctlError(
      'CONFIG_NOT_FOUND',
      `No config file at ${displayPath}.`,
      flag
        ? 'Check the --config path (or SFTPCTL_CONFIG).'
        : 'Run `sftpctl init` to create one, or pass --config <file>. Nothing was changed.',
    );
  }
  return { path, displayPath, text };
}

export async function validateConfigFile(
  file: ConfigFile,
  options: { checkKeys?: boolean; privateKeysElsewhere?: boolean } = {},
): Promise<ValidationResult> {
  return validateConfigText(file.text, file.displayPath, {
    ...(options.checkKeys === false ? {} : { files: fileReaderAt(dirname(file.path)) }),
    ...(options.privateKeysElsewhere ? { privateKeysElsewhere: true } : {}),
  });
}

/** Reads and validates; throws a ConfigError listing every error when the config cannot be used. */
export async function loadConfig(
  flag: string | undefined,
  options: { checkKeys?: boolean; cwd?: string; privateKeysElsewhere?: boolean } = {},
): Promise<{ file: ConfigFile; config: Config; warnings: Problem[]; keys: KeyFacts | undefined }> {
  const file = await readConfigFile(flag, options.cwd);
  const result = await validateConfigFile(file, options);
  if (!result.config) {
    throw new ConfigError(
      `${file.displayPath} has ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}.`,
      result.errors.map(formatProblemWithHint),
    );
  }
  return { file, config: result.config, warnings: result.warnings, keys: result.keys };
}

export function environmentOf(config: Config, requested: string | undefined): string {
  const names = Object.keys(config.environments);
  if (requested === undefined) {
    if (names.length === 1) return names[0] as string;
    throw new SftpctlError(
      'ENV_REQUIRED',
      `This config has ${names.length} environments (${names.join(', ')}).`,
      'Choose one with --env <name>.',
      {
        kind: 'usage',
      },
    );
  }
  if (!names.includes(requested)) {
    throw new SftpctlError(
      'ENV_UNKNOWN',
      `Environment "${requested}" is not in the config.`,
      `Known environments: ${names.join(', ')}.`,
      {
        kind: 'usage',
      },
    );
  }
  return requested;
}
