import { describe, expect, it } from 'vitest';
import { exampleConfig, synth } from './fixtures.js';

/**
 * Golden files: every template and manifest the example config renders. A change to a renderer shows up as a diff
 * of these files in review; `npx vitest run test/templates/golden.test.ts -u` rewrites them.
 */
describe('golden templates of examples/sftpctl.yaml', async () => {
  const config = await exampleConfig();

  for (const env of ['dev', 'test', 'prod'] as const) {
    it(`${env} (yaml)`, async () => {
      const result = synth(config, env, { format: 'yaml' });
      for (const stack of result.stacks) {
        await expect(stack.body).toMatchFileSnapshot(`__snapshots__/golden/${env}/${stack.fileName}.golden`);
      }
      await expect(result.manifestBody).toMatchFileSnapshot(`__snapshots__/golden/${env}/manifest.json.golden`);
    });
  }

  it('dev (json)', async () => {
    const result = synth(config, 'dev', { format: 'json' });
    for (const stack of result.stacks) {
      await expect(stack.body).toMatchFileSnapshot(`__snapshots__/golden/dev-json/${stack.fileName}.golden`);
    }
  });

  it('renders byte-identical output for the same config, every time', async () => {
    const again = await exampleConfig();
    for (const format of ['yaml', 'json'] as const) {
      const first = synth(config, 'prod', { format });
      const second = synth(again, 'prod', { format });
      expect(second.manifestBody).toBe(first.manifestBody);
      expect(second.stacks.map((stack) => stack.body)).toEqual(first.stacks.map((stack) => stack.body));
    }
  });
});
