import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { canonicalize, serialize, sha256 } from '../../src/templates/serialize.js';
import { exampleConfig, synth } from './fixtures.js';

interface Canonical {
  Resources: { R: { Properties: { PolicyDocument: { Statement: object[] } } } };
}

describe('deterministic serialization', () => {
  it('orders keys canonically, whatever order the object was built in', () => {
    const a = {
      Resources: { B: { Properties: { Z: 1, A: 2 }, Type: 'X' }, A: { Type: 'Y' } },
      AWSTemplateFormatVersion: '2010-09-09',
      Description: 'd',
    };
    const b = {
      Description: 'd',
      AWSTemplateFormatVersion: '2010-09-09',
      Resources: { A: { Type: 'Y' }, B: { Type: 'X', Properties: { A: 2, Z: 1 } } },
    };
    for (const format of ['yaml', 'json'] as const) expect(serialize(a, format)).toBe(serialize(b, format));
    expect(Object.keys(canonicalize(a) as object)).toEqual(['AWSTemplateFormatVersion', 'Description', 'Resources']);
    expect(Object.keys((canonicalize(a) as { Resources: { B: object } }).Resources.B)).toEqual(['Type', 'Properties']);
  });

  it('puts policy statement keys in their conventional order', () => {
    const statement = { Resource: '*', Condition: {}, Action: 'a', Effect: 'Allow', Sid: 'S', Principal: 'p' };
    const canonical = canonicalize({
      Resources: { R: { Properties: { PolicyDocument: { Statement: [statement], Version: 'v' } } } },
    }) as Canonical;
    expect(Object.keys(canonical.Resources.R.Properties.PolicyDocument)).toEqual(['Version', 'Statement']);
    expect(Object.keys(canonical.Resources.R.Properties.PolicyDocument.Statement[0]!)).toEqual([
      'Sid',
      'Effect',
      'Principal',
      'Action',
      'Resource',
      'Condition',
    ]);
  });

  it('writes YAML that YAML 1.1 readers (CloudFormation) parse back to exactly the JSON template', async () => {
    const result = synth(await exampleConfig(), 'prod', { format: 'yaml' });
    const json = synth(await exampleConfig(), 'prod', { format: 'json' });
    result.stacks.forEach((stack, index) => {
      expect(parse(stack.body, { version: '1.1' })).toEqual(JSON.parse(json.stacks[index]!.body));
      expect(stack.hash).toBe(sha256(stack.body));
    });
  });

  it('quotes strings YAML 1.1 would read as booleans, numbers or dates', () => {
    const text = serialize({ a: 'yes', b: 'off', c: '2012-10-17', d: '4711', e: 'y' }, 'yaml');
    expect(parse(text, { version: '1.1' })).toEqual({ a: 'yes', b: 'off', c: '2012-10-17', d: '4711', e: 'y' });
  });

  it('round-trips any JSON-shaped value through YAML 1.1 (property)', () => {
    const key = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('yes', 'On', 'y', '<<', '-', '? x', 'a: b', 'k #c', '*', '&a', '!t', '%', '@x', '`'),
    );
    const scalar = fc.oneof(
      key,
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        scalar,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (input) => {
        const normalized = JSON.parse(JSON.stringify(input));
        expect(parse(serialize(input, 'yaml'), { version: '1.1' }) ?? {}).toEqual(normalized);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
