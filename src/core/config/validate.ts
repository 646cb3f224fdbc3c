import type { z } from 'zod';
import type { FileReader } from '../ports.js';
import { checkConfigKeys, type KeyFacts } from './key-checks.js';
import { closestMatch, type Problem, ProblemList } from './problems.js';
import { resolveConfig } from './resolve.js';
import { checkConfigRules, checkSharedKeys } from './rules.js';
import { type Config, configSchema } from './schema.js';
import { type FieldPath, parseYamlSource, toPlainData, type YamlSource } from './source.js';

export interface ValidationOptions {
  /** Reads key files named by the config; omit to skip key checks (e.g. for a quick structural check). */
  files?: FileReader;
  now?: Date;
  /** See KeyCheckOptions.privateKeysElsewhere. */
  privateKeysElsewhere?: boolean;
}

export interface ValidationResult {
  /** Present when there are no errors. */
  config: Config | undefined;
  errors: Problem[];
  warnings: Problem[];
  source: YamlSource;
  keys: KeyFacts | undefined;
}

/** Validates config text completely: every problem, each with file:line:col, never a throw for bad input. */
export async function validateConfigText(
  text: string,
  file: string,
  options: ValidationOptions = {},
): Promise<ValidationResult> {
  const source = parseYamlSource(text, file);
  const problems = new ProblemList(source);
  const done = (config?: Config, keys?: KeyFacts): ValidationResult => ({
    config: problems.errors.length === 0 ? config : undefined,
    errors: problems.errors,
    warnings: problems.warnings,
    source,
    keys,
  });

  if (source.syntaxErrors.length > 0) {
    for (const error of source.syntaxErrors) {
      problems.items.push({
        severity: 'error',
        code: 'YAML_SYNTAX',
        path: [],
        message: error.message,
        location: error.location,
      });
    }
    return done();
  }
  const plain = toPlainData(source);
  if (!plain.ok) {
    problems.items.push({
      severity: 'error',
      code: 'YAML_ALIAS_LIMIT',
      path: [],
      message: plain.message,
      location: source.position(plain.offset),
    });
    return done();
  }
  const raw = plain.value;
  if (raw === null || raw === undefined) {
    problems.error(
      'CONFIG_EMPTY',
      [],
      'the file is empty',
      'Run `sftpctl init` to create a config, or copy examples/sftpctl.yaml.',
    );
    return done();
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.error('CONFIG_NOT_A_MAPPING', [], 'the file must be a YAML mapping (project:, environments:, clients:)');
    return done();
  }

  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportSchemaIssue(issue, problems);
    return done();
  }
  const config = resolveConfig(parsed.data, problems);
  checkConfigRules(parsed.data, config, problems);
  const keys = options.files
    ? await checkConfigKeys(config, problems, {
        files: options.files,
        now: options.now ?? new Date(),
        ...(options.privateKeysElsewhere ? { privateKeysElsewhere: true } : {}),
      })
    : undefined;
  if (keys) checkSharedKeys(config, keys, problems);
  return done(config, keys);
}

function reportSchemaIssue(issue: z.core.$ZodIssue, problems: ProblemList): void {
  const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
  const field = String(path[path.length - 1] ?? 'value');
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) {
        const known = knownKeysAt(issue);
        const guess = closestMatch(key, known);
        problems.error(
          'CONFIG_UNKNOWN_FIELD',
          [...path, key],
          `unknown field "${key}"`,
          guess ? `Did you mean "${guess}"?` : known.length > 0 ? `Known fields here: ${known.join(', ')}.` : undefined,
          'key',
        );
      }
      return;
    case 'invalid_type': {
      if (issue.input === undefined) {
        problems.error('CONFIG_FIELD_MISSING', path, `${field} is required`, undefined, 'key');
      } else {
        problems.error(
          'CONFIG_WRONG_TYPE',
          path,
          `${field} must be ${article(issue.expected)}, not ${describe(issue.input)}`,
        );
      }
      return;
    }
    case 'invalid_value': {
      const options = issue.values.map(String);
      const guess = typeof issue.input === 'string' ? closestMatch(issue.input, options) : undefined;
      problems.error(
        'CONFIG_INVALID_VALUE',
        path,
        `${field} is ${describe(issue.input)}; it must be one of: ${options.join(', ')}`,
        guess ? `Did you mean ${guess}?` : undefined,
      );
      return;
    }
    case 'invalid_key':
      problems.error(
        'CONFIG_INVALID_NAME',
        path,
        issue.issues[0]?.message ?? `"${field}" is not a valid name`,
        undefined,
        'key',
      );
      return;
    default:
      problems.error('CONFIG_INVALID_VALUE', path, issue.message);
  }
}

function knownKeysAt(issue: z.core.$ZodIssueUnrecognizedKeys): string[] {
  const shapes: Record<string, readonly string[]> = {
    '': ['project', 'tags', 'defaults', 'environments', 'clients'],
  };
  const path = issue.path.filter((segment) => typeof segment !== 'number').map(String);
  const last = path[path.length - 1] ?? '';
  if (path.length === 0) return [...(shapes[''] ?? [])];
  if (last === 'vpc') return ['cidr', 'azCount'];
  if (last === 'transfer') return ['protocols', 'securityPolicy'];
  if (last === 'pgp') return ['ingressPublicKey', 'ingressPrivateKey', 'partnerPublicKey', 'retiring'];
  if (last === 'upload' || last === 'download') return ['userName', 'sshKeys', 'rotation'];
  if (last === 'rotation') return ['since', 'until', 'retiring'];
  if (last === 'retiring') return ['since', 'until', 'publicKey', 'privateKey'];
  if (last === 'clients') {
    return [
      'name',
      'allowedIps',
      'allowAnyIp',
      'encryptedExtensions',
      'requireEncryption',
      'checksum',
      'memory',
      'upload',
      'download',
      'pgp',
      'environments',
      'tags',
    ];
  }
  return ['account', 'region', 'vpc', 'transfer', 'logRetentionDays', 'protected', 'securityGroupRuleLimit'];
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value} ${String(value)}`;
}

export type { FieldPath };
