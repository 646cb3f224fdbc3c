import { isIP } from 'node:net';
import { cidrContains, type Ipv4Cidr, parseCidr, parseIpv4 } from '../config/cidr.js';
import { verifyPassword } from './password.js';
import type { IdentityKey, IdentityRecord } from './record.js';

export type LoginProtocol = 'SFTP' | 'FTPS' | 'FTP';

export interface LoginRequest {
  userName: string;
  /** As the server saw it; IPv4-mapped IPv6 is read as IPv4. */
  sourceIp: string;
  protocol: LoginProtocol;
  /** FTPS only (Transfer sends an empty string for SFTP key logins). */
  password?: string;
}

export interface LoginContext {
  now: Date;
  /** Loopback addresses pass the allow-list (the local platform's default); never on AWS. */
  allowLoopback?: boolean;
  /** The user's stored password hash, fetched by the caller from the secret the record names. */
  passwordHash?: string;
}

export type RefusalReason =
  | 'unknown-user'
  | 'disabled'
  | 'ip-not-allowed'
  | 'no-valid-key'
  | 'password-not-allowed'
  | 'bad-password'
  | 'protocol-not-allowed';

export type LoginDecision =
  | { allowed: true; record: IdentityRecord; keys: IdentityKey[] }
  | { allowed: false; reason: RefusalReason };

/** Stands in for an unknown user, so that refusing one costs what refusing a known one does. */
const NOBODY: IdentityRecord = {
  userName: '',
  client: '',
  role: 'upload',
  enabled: false,
  homeDirectoryMappings: [],
  sshKeys: [{ publicKey: 'ssh-ed25519 AAAA' }],
  allowedCidrs: ['192.0.2.0/24'],
  allowAnyIp: false,
};

/**
 * The one identity decision, for the local server and the AWS identity function alike: who may log in, from where,
 * with what. Every check runs for every request (an FTPS password is always derived, a user or not), and the first
 * failing one names the refusal, which the caller logs and never tells the client.
 */
export async function decideLogin(
  found: IdentityRecord | undefined,
  request: LoginRequest,
  context: LoginContext,
): Promise<LoginDecision> {
  const record = found ?? NOBODY;
  const ipAllowed = addressAllowed(request.sourceIp, record, Boolean(context.allowLoopback));
  const keys = record.sshKeys.filter((key) => !key.expiresAt || Date.parse(key.expiresAt) > context.now.getTime());
  const password = request.password ?? '';
  const passwordOk =
    request.protocol === 'FTPS' ? await verifyPassword(found ? context.passwordHash : undefined, password) : false;

  const reason: RefusalReason | undefined = !found
    ? 'unknown-user'
    : !record.enabled
      ? 'disabled'
      : !ipAllowed
        ? 'ip-not-allowed'
        : request.protocol === 'FTP'
          ? 'protocol-not-allowed'
          : request.protocol === 'SFTP'
            ? password !== ''
              ? 'password-not-allowed'
              : keys.length === 0
                ? 'no-valid-key'
                : undefined
            : !record.passwordSecret || !passwordOk
              ? 'bad-password'
              : undefined;
  if (reason) return { allowed: false, reason };
  return { allowed: true, record, keys: request.protocol === 'SFTP' ? keys : [] };
}

/** IPv4 inside one of the record's CIDRs (or any, with allowAnyIp); loopback only when the caller allows it. */
export function addressAllowed(sourceIp: string, record: IdentityRecord, allowLoopback: boolean): boolean {
  const ip = normalizeAddress(sourceIp);
  if (record.allowAnyIp && isIP(ip) === 4) return true;
  return addressInCidrs(ip, cidrsOf(record), allowLoopback);
}

/**
 * The one source-address rule, for the local server and the identity function: an IPv4 address (IPv4-mapped IPv6
 * read as IPv4) inside one of `cidrs`, or a loopback address when loopback is allowed.
 */
export function addressInCidrs(address: string, cidrs: readonly Ipv4Cidr[], allowLoopback: boolean): boolean {
  const ip = normalizeAddress(address);
  if (allowLoopback && isLoopback(ip)) return true;
  if (isIP(ip) !== 4) return false;
  const value = parseIpv4(ip);
  return value !== undefined && cidrs.some((cidr) => cidrContains(cidr, value));
}

export function isLoopback(ip: string): boolean {
  if (ip === '::1') return true;
  const value = parseIpv4(ip);
  return value !== undefined && value >>> 24 === 127;
}

/** `::ffff:192.0.2.1` → `192.0.2.1`; everything else lower-cased as it is. */
export function normalizeAddress(address: string | undefined): string {
  const text = (address ?? '').trim().toLowerCase();
  return /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)?.[1] ?? text;
}

const parsedCidrs = new WeakMap<IdentityRecord, Ipv4Cidr[]>();

function cidrsOf(record: IdentityRecord): Ipv4Cidr[] {
  let cidrs = parsedCidrs.get(record);
  if (!cidrs) {
    cidrs = record.allowedCidrs.flatMap((text) => {
      const parsed = parseCidr(text);
      return parsed.ok ? [parsed.cidr] : [];
    });
    parsedCidrs.set(record, cidrs);
  }
  return cidrs;
}
