import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { closestMatch } from '../core/config/problems.js';
import { SftpctlError } from '../core/errors.js';

/** A named profile as the AWS CLI reads it: ~/.aws/config (`[profile x]`, `[default]`) and ~/.aws/credentials (`[x]`). */
export type ProfileSettings = Record<string, string>;

export interface SharedProfiles {
  configFile: string;
  credentialsFile: string;
  profiles: Map<string, ProfileSettings>;
}

/** The shared config files, where the AWS CLI looks for them (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE). */
export function sharedFilePaths(env: NodeJS.ProcessEnv = process.env): { configFile: string; credentialsFile: string } {
  const home = env.HOME || env.USERPROFILE || homedir();
  return {
    configFile: env.AWS_CONFIG_FILE || join(home, '.aws', 'config'),
    credentialsFile: env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'),
  };
}

export async function readSharedProfiles(env: NodeJS.ProcessEnv = process.env): Promise<SharedProfiles> {
  const { configFile, credentialsFile } = sharedFilePaths(env);
  const profiles = new Map<string, ProfileSettings>();
  const merge = (name: string, settings: ProfileSettings) =>
    profiles.set(name, { ...(profiles.get(name) ?? {}), ...settings });
  for (const [section, settings] of parseIni(await readOptional(configFile))) {
    if (section === 'default') merge('default', settings);
    else if (section.startsWith('profile ')) merge(section.slice('profile '.length).trim(), settings);
  }
  for (const [section, settings] of parseIni(await readOptional(credentialsFile))) merge(section, settings);
  return { configFile, credentialsFile, profiles };
}

/**
 * Checks a profile named by --profile or AWS_PROFILE before any call: a mistyped name is refused naming the profiles
 * that exist, as the AWS CLI does. Returns the profile's settings.
 */
export async function requireProfile(name: string, source: string): Promise<ProfileSettings> {
  const shared = await readSharedProfiles();
  const settings = shared.profiles.get(name);
  if (settings) return settings;
  const known = [...shared.profiles.keys()].sort();
  const guess = closestMatch(name, known);
  throw new SftpctlError(
    'AWS_PROFILE_UNKNOWN',
    `The AWS profile "${name}" (from ${source}) is not in ${shared.configFile} or ${shared.credentialsFile}.`,
    known.length === 0
      ? 'No profiles are configured there: run `aws configure` (or `aws configure sso`), or set AWS_CONFIG_FILE. Nothing was changed.'
      : `${guess ? `Did you mean ${guess}? ` : ''}Profiles there: ${known.join(', ')}. Nothing was changed.`,
    { kind: 'usage' },
  );
}

/** Signs in through IAM Identity Center: the AWS CLI's `aws sso login` fetches the token the SDK then uses. */
export function isSsoProfile(settings: ProfileSettings | undefined): boolean {
  return Boolean(settings && (settings.sso_session || settings.sso_start_url));
}

async function readOptional(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return '';
    }
    throw new SftpctlError(
      'AWS_CONFIG_UNREADABLE',
      `Cannot read the AWS config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      'Check that it is a readable file (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE name it).',
    );
  }
}

/** Sections of an INI file (`[name]` then `key = value`; `#`/`;` comments; indented lines continue a value). */
export function parseIni(text: string): Map<string, ProfileSettings> {
  const sections = new Map<string, ProfileSettings>();
  let current: ProfileSettings | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = (header[1] ?? '').trim().replace(/\s+/g, ' ');
      current = sections.get(name) ?? {};
      sections.set(name, current);
      continue;
    }
    if (!current || /^\s/.test(raw)) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    current[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return sections;
}
