import { LineCounter, parseDocument } from 'yaml';
import { looksLikeSshPublicKey } from '../crypto/ssh-public-key.js';
import { SftpctlError } from '../errors.js';
import { parseCidr } from './cidr.js';
import { DNS_LABEL } from './naming.js';
import { CHECKSUM_CHOICES, type ClientInput, type EnvironmentInput, SECURITY_POLICIES } from './schema.js';
import { toPlainData } from './source.js';

/**
 * Imports the `parameters.yaml` of the article sftpctl grew from (one environment, CDK-era field names).
 * Everything it cannot carry over is listed in `notes` with the field it came from — nothing is dropped silently.
 */
export interface ParametersImport {
  defaults: EnvironmentInput;
  tags: Record<string, string>;
  clients: ClientInput[];
  notes: string[];
}

export const DEFAULT_VPC_CIDR = '10.42.0.0/24';

type Raw = Record<string, unknown>;

export function importParameters(text: string, file: string): ParametersImport {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, lineCounter });
  const first = document.errors[0];
  if (first) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    throw new SftpctlError(
      'PARAMETERS_YAML_INVALID',
      `${file}: ${line}:${col}: ${first.message.split('\n')[0]}`,
      'Fix the YAML syntax; nothing was written.',
    );
  }
  const plain = toPlainData({ document });
  if (!plain.ok) {
    const { line, col } = lineCounter.linePos(plain.offset);
    throw new SftpctlError(
      'PARAMETERS_YAML_INVALID',
      `${file}: ${line}:${col}: ${plain.message}`,
      'Fix the file; nothing was written.',
    );
  }
  const raw = plain.value;
  if (!isRecord(raw)) {
    throw new SftpctlError(
      'PARAMETERS_YAML_INVALID',
      `${file} is not a parameters.yaml mapping (vpc:, transfer_family:, clients:)`,
      'Check the file; nothing was written.',
    );
  }
  const notes: string[] = [];
  const note = (field: string, message: string) => notes.push(`${field}: ${message}`);
  noteUnknownKeys(raw, ['vpc', 'transfer_family', 'tag', 'tags', 'clients'], '', note);

  const defaults: EnvironmentInput = {};
  const vpc = isRecord(raw.vpc) ? raw.vpc : {};
  noteUnknownKeys(vpc, ['name', 'cidr', 'max_azs'], 'vpc.', note);
  if (vpc.name !== undefined) note('vpc.name', 'not imported; sftpctl names the VPC after the project and environment');
  const cidr = typeof vpc.cidr === 'string' ? parseCidr(vpc.cidr) : undefined;
  if (cidr?.ok && !cidr.hostBitsSet && !cidr.bareAddress) {
    defaults.vpc = { cidr: cidr.cidr.text };
  } else {
    defaults.vpc = { cidr: DEFAULT_VPC_CIDR };
    note(
      'vpc.cidr',
      `${vpc.cidr === undefined ? 'missing' : `"${String(vpc.cidr)}" is not a usable CIDR`}; used ${DEFAULT_VPC_CIDR}`,
    );
  }
  if (vpc.max_azs !== undefined) {
    const azs = Number(vpc.max_azs);
    if (azs === 2 || azs === 3) defaults.vpc.azCount = azs;
    else note('vpc.max_azs', `${String(vpc.max_azs)} is not 2 or 3; used 2`);
  }

  const transfer = isRecord(raw.transfer_family) ? raw.transfer_family : {};
  noteUnknownKeys(transfer, ['transfer_protocols', 'security_policy_name'], 'transfer_family.', note);
  const protocols = listOf(transfer.transfer_protocols)
    .flatMap((value) => String(value).split(','))
    .map((value) => value.trim().toUpperCase())
    .filter((value) => value !== '');
  const dropped = protocols.filter((protocol) => protocol !== 'SFTP');
  if (dropped.length > 0) {
    note(
      'transfer_family.transfer_protocols',
      `${dropped.join(', ')} dropped: service-managed users can only use SFTP${dropped.includes('FTPS') ? ' (for FTPS set identity.mode: lambda, transfer.protocols: [SFTP, FTPS] and transfer.certificate)' : ''}`,
    );
  }
  defaults.transfer = {};
  const policy = transfer.security_policy_name;
  if (typeof policy === 'string' && (SECURITY_POLICIES as readonly string[]).includes(policy)) {
    defaults.transfer.securityPolicy = policy;
  } else if (policy !== undefined) {
    note(
      'transfer_family.security_policy_name',
      `"${String(policy)}" is not a known policy; using the default TransferSecurityPolicy-2025-03`,
    );
  }

  const tags: Record<string, string> = {};
  for (const [index, entry] of listOf(raw.tag ?? raw.tags).entries()) {
    if (isRecord(entry) && typeof entry.tag_key === 'string' && entry.tag_value !== undefined) {
      tags[entry.tag_key] = String(entry.tag_value);
    } else {
      note(`tag[${index}]`, 'not a {tag_key, tag_value} pair; skipped');
    }
  }

  const clients = listOf(raw.clients).flatMap((entry, index) => {
    const client = importClient(entry, `clients[${index}]`, note);
    return client ? [client] : [];
  });
  return { defaults, tags, clients, notes };
}

function importClient(
  entry: unknown,
  at: string,
  note: (field: string, message: string) => void,
): ClientInput | undefined {
  if (!isRecord(entry) || typeof entry.name !== 'string') {
    note(at, 'has no name; skipped');
    return undefined;
  }
  noteUnknownKeys(
    entry,
    [
      'name',
      'whitelist_ips',
      'encrypted_file_extensions',
      'checksum',
      'memory_size',
      'upload_user',
      'download_user',
      'upload_ssh_public_key',
      'download_ssh_public_key',
    ],
    `${at}.`,
    note,
  );
  let name = entry.name;
  if (!DNS_LABEL.test(name)) {
    name = name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
    note(
      `${at}.name`,
      `"${entry.name}" renamed to "${name}" (names become bucket names: lower-case letters, digits, hyphens)`,
    );
  }
  const client: ClientInput = { name };

  client.allowedIps = listOf(entry.whitelist_ips).flatMap((item, index) => {
    const text = isRecord(item) ? item.ip : item;
    const parsed = typeof text === 'string' ? parseCidr(text) : undefined;
    if (parsed?.ok && !parsed.hostBitsSet) return [parsed.cidr.text];
    note(
      `${at}.whitelist_ips[${index}]`,
      `"${String(text)}" is not a usable IPv4 CIDR; skipped — add the partner's address with \`sftpctl client add\` or by editing allowedIps`,
    );
    return [];
  });

  const extensions = listOf(entry.encrypted_file_extensions)
    .map((item) => (isRecord(item) ? item.extension : item))
    .filter((value): value is string => typeof value === 'string' && /^\.?[A-Za-z0-9]{1,16}$/.test(value));
  if (extensions.length > 0)
    client.encryptedExtensions = extensions.map((value) => value.replace(/^\./, '').toLowerCase());

  if (entry.checksum !== undefined) {
    const checksum = String(entry.checksum).toLowerCase().replace('-', '');
    const mapped = checksum === 'no' || checksum === 'false' ? 'none' : checksum;
    if ((CHECKSUM_CHOICES as readonly string[]).includes(mapped)) client.checksum = mapped as ClientInput['checksum'];
    else note(`${at}.checksum`, `"${String(entry.checksum)}" is not md5, sha1, sha256, sha512 or no; used sha256`);
  }
  if (entry.memory_size !== undefined) {
    const memory = Number(entry.memory_size);
    if (Number.isInteger(memory) && memory >= 128 && memory <= 10240) client.memory = memory;
    else note(`${at}.memory_size`, `${String(entry.memory_size)} is not 128-10240 MB; used 512`);
  }
  for (const role of ['upload', 'download'] as const) {
    if (!isYes(entry[`${role}_user`])) continue;
    const key = entry[`${role}_ssh_public_key`];
    if (typeof key === 'string' && looksLikeSshPublicKey(key)) {
      client[role] = { sshKeys: [key.trim()] };
    } else {
      client[role] = { sshKeys: [] };
      if (key !== undefined)
        note(
          `${at}.${role}_ssh_public_key`,
          'is not an OpenSSH public key (a placeholder?); add the real key to sshKeys',
        );
    }
  }
  return client;
}

function isYes(value: unknown): boolean {
  return value === true || (typeof value === 'string' && ['yes', 'true', 'y'].includes(value.toLowerCase()));
}

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function listOf(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function noteUnknownKeys(
  raw: Raw,
  known: string[],
  prefix: string,
  note: (field: string, message: string) => void,
): void {
  for (const key of Object.keys(raw))
    if (!known.includes(key)) note(`${prefix}${key}`, 'not a parameters.yaml field sftpctl knows; skipped');
}
