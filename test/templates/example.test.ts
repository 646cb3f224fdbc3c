import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/core/config/schema.js';
import { blockingFindings } from '../../src/templates/synthesize.js';
import { validateTemplate } from '../helpers/cfn-schema.js';
import { exampleConfig, synth, unsuppressed } from './fixtures.js';

let config: Config;
const ENVS = ['dev', 'test', 'prod'] as const;

describe('the example config (examples/sftpctl.yaml)', async () => {
  config = await exampleConfig();

  it.each(ENVS)('%s: every template is valid against the CloudFormation resource schemas', (env) => {
    for (const format of ['yaml', 'json'] as const) {
      const result = synth(config, env, { format });
      for (const stack of result.stacks) expect(validateTemplate(stack.template), `${stack.name}`).toEqual([]);
    }
  });

  it.each(ENVS)('%s: renders with zero unsuppressed findings, strict or not', (env) => {
    const result = synth(config, env, { format: 'yaml' });
    expect(unsuppressed(result)).toEqual([]);
    expect(blockingFindings(result, { strict: true })).toEqual([]);
  });
});
