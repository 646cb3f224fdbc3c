import { afterEach, describe, expect, it } from 'vitest';
import { awsTarget } from '../../src/aws/clients.js';
import type { Environment } from '../../src/core/config/schema.js';

const env = (region: string) => ({ name: 'dev', region }) as Environment;
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('awsTarget', () => {
  it('takes --region over the config, and the config over $AWS_REGION', () => {
    process.env.AWS_REGION = 'us-east-1';
    expect(awsTarget(env('eu-west-2'), { region: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
    expect(awsTarget(env('eu-west-2'), {}).region).toBe('eu-west-2');
    expect(awsTarget(env(''), {}).region).toBe('us-east-1');
  });

  it('takes --profile over $AWS_PROFILE', () => {
    process.env.AWS_PROFILE = 'ops';
    expect(awsTarget(env('eu-west-2'), { profile: 'prod-admin' }).profile).toBe('prod-admin');
    expect(awsTarget(env('eu-west-2'), {}).profile).toBe('ops');
  });

  it('fails as a usage error naming --region when there is no region at all', () => {
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    expect(() => awsTarget(env(''), {})).toThrow(expect.objectContaining({ code: 'AWS_REGION_MISSING' }));
  });
});
