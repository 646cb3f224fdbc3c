import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { addClientToDocument, removeClientFromDocument, YAML_OUTPUT } from '../../../src/core/config/edit.js';
import { renderConfig } from '../../../src/core/config/render.js';
import {
  CHECKSUM_CHOICES,
  type ClientInput,
  type ConfigInput,
  LOG_RETENTION_DAYS,
} from '../../../src/core/config/schema.js';
import { validateConfigText } from '../../../src/core/config/validate.js';

const label = (max: number) =>
  fc
    .stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/)
    .filter((name) => name.length <= max && !name.includes('--'));
const octet = fc.integer({ min: 0, max: 255 });
/** Mostly valid public CIDRs, sometimes with host bits set so the validator has something to refuse. */
const partnerCidr = fc
  .tuple(fc.integer({ min: 11, max: 223 }), octet, octet, octet, fc.integer({ min: 8, max: 32 }))
  .map(([a, b, c, d, prefix]) => `${a}.${b}.${c}.${d}/${prefix}`);
const vpcCidr = fc.tuple(octet, fc.constantFrom(0, 64, 128)).map(([b, c]) => `10.${b}.${c}.0/26`);
const tagText = fc.string({ minLength: 0, maxLength: 40, unit: 'grapheme' });
const tags = fc.dictionary(
  fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((key) => !key.toLowerCase().startsWith('aws:') && key !== '__proto__'),
  tagText,
  { maxKeys: 4 },
);
const user = fc.option(fc.record({ sshKeys: fc.constant([] as string[]) }, { requiredKeys: ['sshKeys'] }), {
  nil: undefined,
});

const client = (envs: string[]): fc.Arbitrary<ClientInput> =>
  fc.record(
    {
      name: label(12),
      allowedIps: fc.array(partnerCidr, { maxLength: 3 }),
      encryptedExtensions: fc.array(fc.stringMatching(/^[a-z0-9]{1,5}$/), { minLength: 1, maxLength: 3 }),
      checksum: fc.constantFrom(...CHECKSUM_CHOICES),
      memory: fc.integer({ min: 128, max: 10240 }),
      requireEncryption: fc.boolean(),
      upload: user,
      download: user,
      environments: fc.option(fc.subarray(envs, { minLength: 1 }), { nil: undefined }),
      tags: fc.option(tags, { nil: undefined }),
    },
    { requiredKeys: ['name', 'allowedIps', 'upload'] },
  );

const config: fc.Arbitrary<ConfigInput> = fc
  .uniqueArray(fc.constantFrom('dev', 'test', 'prod', 'qa', 'dr'), { minLength: 1, maxLength: 3 })
  .chain((envs) =>
    fc.record({
      project: label(10),
      tags,
      defaults: fc.record({
        region: fc.constantFrom('eu-west-2', 'us-east-1', 'ap-southeast-2'),
        vpc: fc.record({ cidr: vpcCidr, azCount: fc.constantFrom(2, 3) }),
        logRetentionDays: fc.constantFrom(...LOG_RETENTION_DAYS),
      }),
      environments: fc.record(
        Object.fromEntries(
          envs.map((env) => [
            env,
            fc.record(
              {
                protected: fc.boolean(),
                account: fc.stringMatching(/^\d{12}$/),
                logRetentionDays: fc.constantFrom(...LOG_RETENTION_DAYS),
              },
              { requiredKeys: [] },
            ),
          ]),
        ),
      ),
      clients: fc.array(client(envs), { maxLength: 4 }),
    }),
  );

describe('every config the validator accepts survives a write/read round trip', () => {
  it('render → validate → rewrite → validate gives the same config, and so does building it with client add', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(config, async (input) => {
        const text = renderConfig(input);
        const first = await validateConfigText(text, 'a.yaml');
        if (!first.config) return;
        accepted++;

        const rewritten = parseDocument(text).toString(YAML_OUTPUT);
        const second = await validateConfigText(rewritten, 'b.yaml');
        expect(second.errors).toEqual([]);
        expect(second.config).toEqual(first.config);

        const document = parseDocument(renderConfig({ ...input, clients: [] }));
        for (const entry of input.clients ?? []) addClientToDocument(document, entry);
        const third = await validateConfigText(document.toString(YAML_OUTPUT), 'c.yaml');
        expect(third.config).toEqual(first.config);

        const last = input.clients?.at(-1);
        if (last) {
          removeClientFromDocument(document, last.name);
          const fourth = await validateConfigText(document.toString(YAML_OUTPUT), 'd.yaml');
          expect(fourth.config?.clients).toEqual(first.config.clients.slice(0, -1));
        }
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});
