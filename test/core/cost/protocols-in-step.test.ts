import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../../src/templates/synthesize.js';
import { runCli, withTempDir } from '../../helpers/cli.js';
import { validateYaml } from '../../helpers/config.js';

const CERT = 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';

const config = (environment: string) => `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod:
${environment}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: {}
`;

const ENVIRONMENTS: [string, string][] = [
  ['service-managed, SFTP', '    protected: false'],
  ['lambda, SFTP', '    identity: { mode: lambda }'],
  [
    'lambda, SFTP + FTPS',
    `    identity: { mode: lambda }\n    transfer: { protocols: [SFTP, FTPS], certificate: ${CERT} }`,
  ],
  ['lambda, FTPS only', `    identity: { mode: lambda }\n    transfer: { protocols: [FTPS], certificate: ${CERT} }`],
];

describe('cost prices exactly the endpoint protocols the server template enables', () => {
  it.each(ENVIRONMENTS)('%s', async (_name, environment) => {
    const text = config(environment);
    const { config: parsed, errors } = await validateYaml(text);
    expect(errors).toEqual([]);
    const server = synthesize(parsed!, 'prod', { format: 'json' }).stacks.find((stack) => stack.kind === 'server')!;
    const protocols = (server.template.Resources.Server!.Properties!.Protocols as string[]).map((p) => p.toLowerCase());

    const result = await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), text);
      return runCli(['cost', '--env', 'prod', '--upload-gb-day', '1', '--storage-gb', '10', '--json'], { cwd: dir });
    });
    expect(result.code, result.stderr).toBe(0);
    const items: { id: string }[] = JSON.parse(result.stdout).items;
    const endpoints = items.map((item) => item.id).filter((id) => id.startsWith('transfer-endpoint-'));
    expect(endpoints.sort()).toEqual(protocols.map((protocol) => `transfer-endpoint-${protocol}`).sort());
  });
});
