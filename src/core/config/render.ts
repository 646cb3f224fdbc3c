import { Document, isMap, isPair, isScalar, type Node } from 'yaml';
import { YAML_OUTPUT } from './edit.js';
import type { ConfigInput } from './schema.js';

/** Comments `init` writes above each field, so the file documents itself. */
const FIELD_COMMENTS: Record<string, string> = {
  project: ' Prefix of every stack, bucket, secret and function name (lower-case letters, digits, hyphens).',
  tags: ' Tags put on every resource.',
  defaults: ' Settings every environment inherits unless it sets its own.',
  'defaults.region': ' AWS region code.',
  'defaults.vpc':
    ' The VPC holds only the SFTP endpoint: one public subnet and one Elastic IP per AZ (azCount 2 or 3).',
  'defaults.transfer':
    ' SFTP is the only protocol service-managed users support. Policy names: see the AWS Transfer Family docs.',
  'defaults.logRetentionDays': ' CloudWatch Logs retention for the server and the functions.',
  environments:
    ' One entry per environment. account (12 digits, quoted) makes deploy refuse any other account;\n protected: true adds termination protection and makes destroy refuse.',
  clients:
    ' Partners ("clients"). Add with `sftpctl client add NAME`; each gets its own KMS key, buckets and functions.',
};

const CLIENT_TEMPLATE_COMMENT = [
  ' Example:',
  ' - name: acme-bank',
  '   allowedIps: [203.0.113.0/24]           # partner egress addresses (IPv4 CIDRs)',
  '   encryptedExtensions: [gpg, pgp]        # first one is used for files sent to the partner',
  '   checksum: sha256                       # md5 | sha1 | sha256 | sha512 | none',
  '   memory: 512                            # MB for the ingress/egress functions',
  '   upload: { sshKeys: [keys/acme-bank/upload.pub] }',
  '   download: { sshKeys: [keys/acme-bank/download.pub] }',
  '   pgp:',
  '     ingressPublicKey: keys/acme-bank/ingress.pub.asc     # handed to the partner',
  '     ingressPrivateKey: keys/acme-bank/ingress.key.asc    # never commit it',
  "     partnerPublicKey: keys/acme-bank/partner.pub.asc     # the partner's key, for exports",
].join('\n');

/** Renders a new, commented `sftpctl.yaml`. */
export function renderConfig(input: ConfigInput, header: string[] = []): string {
  const document = new Document(input);
  document.commentBefore = [
    ' sftpctl project configuration — `sftpctl config validate` checks it; the README documents every field.',
    ...header.map((line) => ` ${line}`),
  ].join('\n');
  for (const [path, comment] of Object.entries(FIELD_COMMENTS)) commentKey(document, path.split('.'), comment);
  const clients = input.clients ?? [];
  if (clients.length === 0) commentKey(document, ['clients'], `${FIELD_COMMENTS.clients}\n${CLIENT_TEMPLATE_COMMENT}`);
  return document.toString(YAML_OUTPUT);
}

function commentKey(document: Document, path: string[], comment: string): void {
  let map: unknown = document.contents;
  for (const [index, segment] of path.entries()) {
    if (!isMap(map)) return;
    const pair = map.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === segment);
    if (!pair || !isPair(pair)) return;
    if (index === path.length - 1) {
      (pair.key as Node).commentBefore = comment;
      return;
    }
    map = pair.value;
  }
}
