import { readFileSync } from 'node:fs';
import type { Config } from '../../src/core/config/schema.js';
import { type SynthOptions, type SynthResult, synthesize } from '../../src/templates/synthesize.js';
import { validateTemplate } from '../helpers/cfn-schema.js';
import { validateYaml } from '../helpers/config.js';

/**
 * `synthesize`, plus the check every rendered template in these tests gets: valid against the CloudFormation
 * resource schemas (@aws-cdk/aws-service-spec). Throws with every schema issue otherwise.
 */
export function synth(config: Config, env: string, options: SynthOptions): SynthResult {
  const result = synthesize(config, env, options);
  const issues = result.stacks.flatMap((stack) =>
    validateTemplate(stack.template).map((issue) => `${stack.name} ${issue.path}: ${issue.message}`),
  );
  if (issues.length > 0) throw new Error(`rendered templates are not schema-valid:\n${issues.join('\n')}`);
  return result;
}

export const EXAMPLE_PATH = 'examples/sftpctl.yaml';

/** A config from YAML text; fails the test with every problem when it is invalid. */
export async function configFrom(text: string): Promise<Config> {
  const result = await validateYaml(text);
  if (!result.config) {
    throw new Error(
      `config is invalid:\n${result.errors.map((error) => `  ${error.code}: ${error.message}`).join('\n')}`,
    );
  }
  return result.config;
}

export async function exampleConfig(): Promise<Config> {
  return configFrom(readFileSync(EXAMPLE_PATH, 'utf8'));
}

/** The findings nobody suppressed, as compact strings for readable assertion diffs. */
export function unsuppressed(result: SynthResult): string[] {
  return result.stacks.flatMap((stack) =>
    stack.findings
      .filter((finding) => finding.suppressed === undefined)
      .map((finding) => `${stack.name} ${finding.resource ?? '-'} ${finding.rule}: ${finding.message}`),
  );
}

/** A deep copy, so tests can break a rendered template without touching the original. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
