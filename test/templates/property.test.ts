import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LEGACY_SECURITY_POLICIES, LOG_RETENTION_DAYS, SECURITY_POLICIES } from '../../src/core/config/schema.js';
import { blockingFindings } from '../../src/templates/synthesize.js';
import { validateTemplate } from '../helpers/cfn-schema.js';
import { validateYaml } from '../helpers/config.js';
import { synth } from './fixtures.js';

const label = (max: number) =>
  fc
    .stringMatching(new RegExp(`^[a-z][a-z0-9]{0,${max - 1}}(-[a-z0-9]{1,4})?$`))
    .filter((name) => name.length <= max + 5);

const publicAddress = fc
  .tuple(
    fc.integer({ min: 11, max: 99 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 1, max: 254 }),
  )
  .map((octets) => octets.join('.'));
const publicCidr = fc.oneof(
  publicAddress,
  fc.constantFrom('203.0.113.0/24', '198.51.100.0/25', '192.0.2.64/27', '8.8.8.8/32', '1.2.3.0/24'),
);

const CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

/** Policies a config may name without a warning (legacy ones are reported by design; see structure.test.ts). */
const currentPolicies = SECURITY_POLICIES.filter((policy) => !LEGACY_SECURITY_POLICIES.has(policy));

const environment = fc.record(
  {
    vpc: fc.record({
      cidr: fc.constantFrom('10.0.0.0/16', '10.42.0.0/24', '172.20.0.0/20', '192.168.8.0/26'),
      azCount: fc.constantFrom(2, 3),
    }),
    transfer: fc
      .record({ securityPolicy: fc.constantFrom(...currentPolicies), ftps: fc.integer({ min: 0, max: 3 }) })
      .map(({ securityPolicy, ftps }) =>
        // FTPS (with its certificate) now and then: valid only where identity.mode is lambda.
        ftps === 0 ? { securityPolicy, protocols: ['SFTP', 'FTPS'], certificate: CERT } : { securityPolicy },
      ),
    logRetentionDays: fc.constantFrom(...LOG_RETENTION_DAYS),
    protected: fc.boolean(),
    identity: fc.record(
      { mode: fc.constantFrom('service-managed', 'lambda'), securityGroup: fc.constantFrom('union', 'open') },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['vpc'] },
);

const client = (envNames: string[]) =>
  fc
    .record(
      {
        allowedIps: fc.uniqueArray(publicCidr, { maxLength: 3 }),
        allowAnyIp: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
        encryptedExtensions: fc.uniqueArray(fc.constantFrom('gpg', 'pgp', 'asc', 'enc'), {
          minLength: 1,
          maxLength: 3,
        }),
        requireEncryption: fc.boolean(),
        checksum: fc.constantFrom('md5', 'sha1', 'sha256', 'sha512', 'none'),
        memory: fc.integer({ min: 128, max: 10240 }),
        users: fc.constantFrom('both', 'upload', 'download'),
        environments: fc.option(fc.subarray(envNames, { minLength: 1 }), { nil: undefined }),
        tags: fc.option(
          fc.dictionary(fc.stringMatching(/^[A-Z][a-z]{1,8}$/), fc.stringMatching(/^[a-z0-9 ]{0,12}$/), { maxKeys: 3 }),
          {
            nil: undefined,
          },
        ),
      },
      { requiredKeys: ['allowedIps', 'encryptedExtensions', 'users', 'memory'] },
    )
    .map(({ users, ...rest }) => ({
      ...rest,
      ...(users !== 'download' ? { upload: { sshKeys: [] } } : {}),
      ...(users !== 'upload' ? { download: { sshKeys: [] } } : {}),
    }));

const configArbitrary = fc
  .record({
    project: label(10),
    envNames: fc.uniqueArray(label(6), { minLength: 1, maxLength: 3 }),
    clientNames: fc.uniqueArray(label(14), { maxLength: 5 }),
    defaults: environment,
  })
  .chain(({ project, envNames, clientNames, defaults }) =>
    fc.record({
      project: fc.constant(project),
      tags: fc.constant({ Project: project }),
      defaults: fc.constant({ region: 'eu-west-2', ...defaults }),
      environments: fc
        .tuple(
          ...envNames.map(() =>
            fc.option(
              environment.map((env) => ({ ...env, vpc: undefined })),
              { nil: {} },
            ),
          ),
        )
        .map((list) => Object.fromEntries(envNames.map((name, index) => [name, stripUndefined(list[index])]))),
      clients: fc
        .tuple(...clientNames.map(() => client(envNames)))
        .map((list) => list.map((entry, index) => ({ name: clientNames[index], ...stripUndefined(entry) }))),
    }),
  );

function stripUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value ?? {})) as T;
}

describe('property: any valid config renders schema-valid, rule-clean templates', () => {
  it('holds for random configs (every environment, both formats)', async () => {
    let checked = 0;
    let lambdaEnvironments = 0;
    let ftpsEnvironments = 0;
    await fc.assert(
      fc.asyncProperty(
        configArbitrary,
        fc.constantFrom('yaml', 'json') as fc.Arbitrary<'yaml' | 'json'>,
        async (input, format) => {
          const validation = await validateYaml(stringify(input));
          fc.pre(validation.config !== undefined);
          const config = validation.config!;
          for (const env of Object.keys(config.environments)) {
            if (config.environments[env]!.identity.mode === 'lambda') lambdaEnvironments++;
            if (config.environments[env]!.transfer.protocols.includes('FTPS')) ftpsEnvironments++;
            const result = synth(config, env, { format });
            for (const stack of result.stacks) {
              expect(validateTemplate(stack.template), `${stack.name}`).toEqual([]);
              expect(parse(stack.body, { version: '1.1' })).toEqual(JSON.parse(JSON.stringify(stack.template)));
              expect(stack.resources).toBeLessThanOrEqual(500);
              expect(stack.bytes).toBeLessThan(1_000_000);
            }
            expect(
              blockingFindings(result, { strict: true }).map(
                ({ stack, finding }) => `${stack} ${finding.rule} ${finding.message}`,
              ),
            ).toEqual([]);
            expect(synth(config, env, { format }).manifestBody).toBe(result.manifestBody);
          }
          checked++;
        },
      ),
      { numRuns: 60, seed: 20261124 },
    );
    expect(checked).toBeGreaterThan(30);
    expect(lambdaEnvironments).toBeGreaterThan(10);
    expect(ftpsEnvironments).toBeGreaterThan(3);
    // 60 configs × every environment × two formats, schema-checked: ~30 s on a loaded 2-core machine.
  }, 180_000);
});
