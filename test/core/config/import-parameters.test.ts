import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { importParameters } from '../../../src/core/config/import-parameters.js';
import { SftpctlError } from '../../../src/core/errors.js';

describe("importParameters (the article's parameters.yaml)", () => {
  it('maps the article example and lists every placeholder it could not use', async () => {
    const text = await readFile(new URL('../../../examples/parameters.yaml', import.meta.url), 'utf8');
    const result = importParameters(text, 'parameters.yaml');
    expect(result.defaults).toEqual({ vpc: { cidr: '10.42.0.0/24', azCount: 2 }, transfer: {} });
    expect(result.tags).toEqual({ Name: 'AWS Serverless Transfer Family S3 Project', Developer: 'Stanley Zhang' });
    expect(result.clients).toEqual([
      {
        name: 'sftp-client-1',
        allowedIps: [],
        encryptedExtensions: ['gpg', 'pgp'],
        checksum: 'md5',
        memory: 512,
        upload: { sshKeys: [] },
        download: { sshKeys: [] },
      },
      {
        name: 'sftp-client-2',
        allowedIps: [],
        encryptedExtensions: ['gpg', 'pgp', 'asc'],
        checksum: 'md5',
        memory: 1024,
        upload: { sshKeys: [] },
        download: { sshKeys: [] },
      },
    ]);
    expect(result.notes).toHaveLength(3 + 2 * 3);
  });

  it('carries over real values: CIDRs, policy, protocols, yes/no users, checksum "no", odd names', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHN0dWIga2V5IGZvciBpbXBvcnQgdGVzdHMgb25seSEhISE= partner';
    const result = importParameters(
      `vpc:
  cidr: 10.9.0.0/24
  max_azs: 3
transfer_family:
  transfer_protocols: "SFTP,FTPS"
  security_policy_name: TransferSecurityPolicy-2024-01
clients:
  - name: Partner_One
    whitelist_ips: [{ ip: 203.0.113.0/24 }, { ip: 198.51.100.9/24 }]
    checksum: "no"
    upload_user: "yes"
    download_user: "no"
    upload_ssh_public_key: "${key}"
    color: blue
`,
      'p.yaml',
    );
    expect(result.defaults).toEqual({
      vpc: { cidr: '10.9.0.0/24', azCount: 3 },
      transfer: { securityPolicy: 'TransferSecurityPolicy-2024-01' },
    });
    expect(result.clients).toEqual([
      { name: 'partner-one', allowedIps: ['203.0.113.0/24'], checksum: 'none', upload: { sshKeys: [key] } },
    ]);
    expect(result.notes).toEqual([
      'transfer_family.transfer_protocols: FTPS dropped: service-managed users can only use SFTP (for FTPS set identity.mode: lambda, transfer.protocols: [SFTP, FTPS] and transfer.certificate)',
      'clients[0].color: not a parameters.yaml field sftpctl knows; skipped',
      'clients[0].name: "Partner_One" renamed to "partner-one" (names become bucket names: lower-case letters, digits, hyphens)',
      expect.stringMatching(/^clients\[0\].whitelist_ips\[1\]: "198.51.100.9\/24" is not a usable IPv4 CIDR/),
    ]);
  });

  it('refuses YAML it cannot parse, with the position', () => {
    expect(() => importParameters('vpc: [\n', 'p.yaml')).toThrow(SftpctlError);
    expect(() => importParameters('vpc: [\n', 'p.yaml')).toThrow(/p.yaml: \d+:\d+/);
    expect(() => importParameters('- a\n- b\n', 'p.yaml')).toThrow(/not a parameters.yaml mapping/);
  });
});
