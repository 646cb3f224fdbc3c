import { Buffer } from 'node:buffer';
import { createHash, createPublicKey } from 'node:crypto';

/**
 * Parses one OpenSSH public key line (`type base64 [comment]`) and checks it against what
 * AWS Transfer Family accepts and what we consider strong enough. Pure: no I/O, never throws.
 */

export type SshKeyType =
  | 'ssh-ed25519'
  | 'ssh-rsa'
  | 'ecdsa-sha2-nistp256'
  | 'ecdsa-sha2-nistp384'
  | 'ecdsa-sha2-nistp521';

export interface SshPublicKey {
  type: SshKeyType;
  bits: number;
  /** 'SHA256:' + unpadded base64 of sha256(blob), as `ssh-keygen -l` prints it. */
  fingerprint: string;
  comment: string | undefined;
  /** Normalised 'type base64 [comment]'. */
  text: string;
  blob: Uint8Array;
}

export type SshKeyParse = { ok: true; key: SshPublicKey } | { ok: false; code: string; message: string; hint: string };

type Failure = Extract<SshKeyParse, { ok: false }>;

const ACCEPTED =
  'Transfer Family accepts ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa of at least 2048 bits; ' +
  'we recommend `ssh-keygen -t ed25519`.';
const NOT_A_KEY_HINT = 'Expected `type base64 [comment]`, such as the content of `~/.ssh/id_ed25519.pub`.';
const MIN_RSA_BITS = 2048;
/** Length limit of SshPublicKeyBody in the Transfer Family API. */
const MAX_TEXT_LENGTH = 2048;

const CURVES = {
  'ecdsa-sha2-nistp256': { id: 'nistp256', jwk: 'P-256', bits: 256, fieldBytes: 32 },
  'ecdsa-sha2-nistp384': { id: 'nistp384', jwk: 'P-384', bits: 384, fieldBytes: 48 },
  'ecdsa-sha2-nistp521': { id: 'nistp521', jwk: 'P-521', bits: 521, fieldBytes: 66 },
} as const;

const TYPE_TOKEN = /^[A-Za-z0-9][A-Za-z0-9.@_+-]{0,63}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const KEY_PREFIX = /^(?:ssh-|ecdsa-|sk-)/;
/** A type token followed by a key blob (always starts with AAAA: a uint32 length below 2^24). */
const EMBEDDED_KEY = /(?:^|\s)(?:ssh-|ecdsa-|sk-)[A-Za-z0-9.@_+-]*\s+AAAA[A-Za-z0-9+/]{8,}/;

export function looksLikeSshPublicKey(text: string): boolean {
  const t = text.trim();
  if (/^(?:ssh-|ecdsa-|sk-)[A-Za-z0-9.@_+-]*\s+[A-Za-z0-9+/]{8,}/.test(t)) return true;
  // Pasted PEM/OpenSSH/RFC 4716 blocks and options-prefixed lines are inline too: parsing them gives a better error
  // than "file not found".
  return t.startsWith('-----BEGIN') || t.startsWith('---- BEGIN SSH2') || EMBEDDED_KEY.test(t);
}

export function parseSshPublicKey(text: string): SshKeyParse {
  if (/PRIVATE KEY|PuTTY-User-Key-File/.test(text)) {
    return fail(
      'SSH_KEY_IS_PRIVATE',
      'This is an SSH private key, not a public key. Its content was not stored or printed.',
      'Give the public half instead: the `.pub` file next to it, or the output of `ssh-keygen -y -f <private key>`. ' +
        'Never share the private key.',
    );
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (lines.length === 0) {
    return fail(
      'SSH_KEY_MALFORMED',
      'The SSH public key is empty.',
      'Give one line such as `ssh-ed25519 AAAAC3Nz… you@host`.',
    );
  }
  if (lines[0]!.trim().startsWith('---- BEGIN SSH2 PUBLIC KEY')) {
    return fail(
      'SSH_KEY_MALFORMED',
      'This SSH public key is in RFC 4716 (SSH2/PuTTY) format; Transfer Family needs the OpenSSH one-line format.',
      'Convert it with `ssh-keygen -i -f <file>` and use the output.',
    );
  }
  if (lines.length > 1) {
    return fail(
      'SSH_KEY_MALFORMED',
      `Expected one SSH public key line but found ${lines.length} lines.`,
      'Give each key separately, one line each.',
    );
  }
  return parseLine(lines[0]!.trim());
}

function parseLine(line: string): SshKeyParse {
  const match = /^(\S+)(?:\s+(\S+))?(?:\s+(.*))?$/.exec(line);
  const [, typeToken = '', b64 = '', rest] = match ?? [];
  if (!(TYPE_TOKEN.test(typeToken) && BASE64.test(b64))) {
    if (EMBEDDED_KEY.test(line)) {
      return fail(
        'SSH_KEY_MALFORMED',
        'The SSH key line starts with authorized_keys options (such as `from="…"` or `command="…"`).',
        'Give only the key itself, `type base64 [comment]`; restrict source addresses with the client allow-list instead.',
      );
    }
    return fail('SSH_KEY_MALFORMED', 'This is not an OpenSSH public key line.', NOT_A_KEY_HINT);
  }
  const type = typeToken;
  const shown = `${type} ${b64.slice(0, 12)}…`;
  const unsupported = classifyUnsupported(type, b64);
  if (unsupported) return unsupported;
  if (type !== 'ssh-dss' && !(type === 'ssh-rsa' || type === 'ssh-ed25519' || type in CURVES)) {
    return fail('SSH_KEY_UNSUPPORTED', `SSH key type \`${type}\` is not supported.`, ACCEPTED);
  }

  const blob = Buffer.from(b64, 'base64');
  if (b64.length % 4 !== 0 || blob.toString('base64') !== b64) {
    return fail('SSH_KEY_MALFORMED', `The base64 of SSH key \`${shown}\` is damaged or truncated.`, recopy());
  }
  const decoded = decodeBlob(type, blob);
  if (typeof decoded === 'string') {
    return fail('SSH_KEY_MALFORMED', `SSH key \`${shown}\` is malformed: ${decoded}.`, recopy());
  }
  if (type === 'ssh-dss') {
    return fail(
      'SSH_KEY_WEAK',
      `SSH key \`${shown}\` is a DSA (ssh-dss) key; DSA is broken and disabled in OpenSSH.`,
      `Generate a new key with \`ssh-keygen -t ed25519\`. ${ACCEPTED}`,
    );
  }
  if (type === 'ssh-rsa' && decoded.bits < MIN_RSA_BITS) {
    return fail(
      'SSH_KEY_WEAK',
      `SSH key \`${shown}\` is an RSA key of ${decoded.bits} bits; at least ${MIN_RSA_BITS} are required.`,
      `Generate a new key with \`ssh-keygen -t ed25519\` (or \`ssh-keygen -t rsa -b 4096\`). ${ACCEPTED}`,
    );
  }

  const comment = rest?.trim() || undefined;
  const normalised = comment === undefined ? `${type} ${b64}` : `${type} ${b64} ${comment}`;
  if (normalised.length > MAX_TEXT_LENGTH) {
    return fail(
      'SSH_KEY_UNSUPPORTED',
      `SSH key \`${shown}\` is ${normalised.length} characters long; Transfer Family stores at most ${MAX_TEXT_LENGTH}.`,
      'Shorten the comment, or use a smaller key type such as ssh-ed25519.',
    );
  }
  return {
    ok: true,
    key: {
      type: type as SshKeyType,
      bits: decoded.bits,
      fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
      comment,
      text: normalised,
      blob: new Uint8Array(blob),
    },
  };
}

function classifyUnsupported(type: string, b64: string): Failure | undefined {
  if (type.endsWith('-cert-v01@openssh.com')) {
    return fail(
      'SSH_KEY_UNSUPPORTED',
      `\`${type}\` is an OpenSSH certificate, which Transfer Family does not accept.`,
      `Give the plain public key the certificate was issued for. ${ACCEPTED}`,
    );
  }
  if (type.startsWith('sk-')) {
    return fail(
      'SSH_KEY_UNSUPPORTED',
      `\`${type}\` is a FIDO security-key (sk-*) key, which Transfer Family does not accept.`,
      `Generate a key without a hardware token, such as \`ssh-keygen -t ed25519\`. ${ACCEPTED}`,
    );
  }
  if (!KEY_PREFIX.test(type)) {
    // An unfamiliar token is only a key type if the blob says so; otherwise this is not a key at all.
    const inner = new BlobReader(Buffer.from(b64, 'base64')).string();
    if (inner?.toString('latin1') !== type) {
      return fail('SSH_KEY_MALFORMED', 'This is not an OpenSSH public key line.', NOT_A_KEY_HINT);
    }
    return fail('SSH_KEY_UNSUPPORTED', `SSH key type \`${type}\` is not supported.`, ACCEPTED);
  }
  return undefined;
}

/** Returns the key size, or why the wire blob (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709) is invalid. */
function decodeBlob(type: string, blob: Buffer): { bits: number } | string {
  const reader = new BlobReader(blob);
  const inner = reader.string();
  if (inner === undefined) return 'the key data is truncated';
  if (inner.toString('latin1') !== type)
    return 'the type inside the key does not match the type at the start of the line';
  let result: { bits: number } | string;
  if (type === 'ssh-ed25519') {
    const pk = reader.string();
    result =
      pk === undefined
        ? 'the key data is truncated'
        : pk.length === 32
          ? { bits: 256 }
          : 'the ed25519 key is not 32 bytes';
  } else if (type === 'ssh-rsa') {
    result = decodeMpints(reader, 2, 1);
  } else if (type === 'ssh-dss') {
    result = decodeMpints(reader, 4, 0);
  } else {
    result = decodeEcdsa(reader, CURVES[type as keyof typeof CURVES]);
  }
  if (typeof result !== 'string' && !reader.atEnd()) return 'there is extra data after the key';
  return result;
}

/** Reads `count` positive mpints and returns the bit length of the one at `sizeIndex` (RSA: e, n; DSA: p, q, g, y). */
function decodeMpints(reader: BlobReader, count: number, sizeIndex: number): { bits: number } | string {
  let bits = 0;
  for (let i = 0; i < count; i++) {
    const mpint = reader.string();
    if (mpint === undefined) return 'the key data is truncated';
    if (mpint.length === 0 || (mpint[0]! & 0x80) !== 0) return 'a key number is empty or negative';
    if (i === sizeIndex) bits = bitLength(mpint);
  }
  return bits === 0 ? 'the key modulus is zero' : { bits };
}

function decodeEcdsa(reader: BlobReader, curve: (typeof CURVES)[keyof typeof CURVES]): { bits: number } | string {
  const curveId = reader.string();
  const point = reader.string();
  if (curveId === undefined || point === undefined) return 'the key data is truncated';
  if (curveId.toString('latin1') !== curve.id) return `the curve inside the key is not ${curve.id}`;
  if (point.length !== 1 + 2 * curve.fieldBytes || point[0] !== 0x04) return `the point does not fit curve ${curve.id}`;
  const x = point.subarray(1, 1 + curve.fieldBytes).toString('base64url');
  const y = point.subarray(1 + curve.fieldBytes).toString('base64url');
  try {
    createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x, y }, format: 'jwk' });
  } catch {
    return `the point is not on curve ${curve.id}`;
  }
  return { bits: curve.bits };
}

function bitLength(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

class BlobReader {
  private offset = 0;
  constructor(private readonly blob: Buffer) {}

  string(): Buffer | undefined {
    if (this.offset + 4 > this.blob.length) return undefined;
    const length = this.blob.readUInt32BE(this.offset);
    if (length > this.blob.length - this.offset - 4) return undefined;
    const value = this.blob.subarray(this.offset + 4, this.offset + 4 + length);
    this.offset += 4 + length;
    return value;
  }

  atEnd(): boolean {
    return this.offset === this.blob.length;
  }
}

function recopy(): string {
  return 'Copy the whole `.pub` file again (one line, nothing cut off), or regenerate it with `ssh-keygen -y -f <private key>`.';
}

function fail(code: string, message: string, hint: string): Failure {
  return { ok: false, code, message, hint };
}
