import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import ssh2 from 'ssh2';
import { cidrContains, type Ipv4Cidr, parseIpv4 } from '../../core/config/cidr.js';
import { TRANSFER_USER_NAME } from '../../core/config/naming.js';
import { isAcceptedUserSignature } from './algorithms.js';

/** The address as the allow-lists see it: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) becomes plain IPv4. */
export function normalizeAddress(address: string | undefined): string {
  const text = (address ?? '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  return mapped ? mapped[1]! : text;
}

export function isLoopback(ip: string): boolean {
  if (ip === '::1') return true;
  const value = parseIpv4(ip);
  return value !== undefined && value >>> 24 === 127;
}

/** True when `ip` (normalised) is inside one of `cidrs`, or is a loopback address and loopback is allowed. */
export function addressAllowed(ip: string, cidrs: readonly Ipv4Cidr[], allowLoopback: boolean): boolean {
  if (allowLoopback && isLoopback(ip)) return true;
  if (isIP(ip) !== 4) return false;
  const value = parseIpv4(ip);
  return value !== undefined && cidrs.some((cidr) => cidrContains(cidr, value));
}

/** Transfer Family's rule for user names: 3 to 100 characters of `[\w@.-]`, not starting with `@.-`, never root. */
export function isValidUserName(name: string): boolean {
  return TRANSFER_USER_NAME.test(name) && name !== 'root';
}

export interface AcceptedKey {
  type: string;
  blob: Buffer;
  fingerprint: string;
}

export interface PublicKeyRequest {
  algo: string;
  data: Buffer;
  hashAlgo: string | undefined;
  signature: Buffer | undefined;
  blob: Buffer | undefined;
}

export type PublicKeyDecision =
  | { outcome: 'login'; key: AcceptedKey }
  | { outcome: 'key-acceptable'; key: AcceptedKey }
  | { outcome: 'reject'; reason: RejectReason };

export type RejectReason =
  | 'invalid-user-name'
  | 'unknown-user'
  | 'ip-not-allowed'
  | 'key-not-accepted'
  | 'weak-signature-algorithm'
  | 'bad-signature';

/**
 * Decides one `publickey` request. Without a signature it is a probe ("would you accept this key?"): the answer is
 * yes only for one of the user's keys, and it never logs anyone in. With a signature, the signature is verified over
 * the session data ssh2 hands over (`blob`) — for every request, whether or not the user or key is known, so unknown
 * users, foreign keys and bad signatures cost the same and fail the same way (the client only ever learns "no").
 */
export function decidePublicKey(
  request: PublicKeyRequest,
  user: { keys: readonly AcceptedKey[] } | undefined,
  context: { validName: boolean; ipAllowed: boolean },
): PublicKeyDecision {
  const key = user?.keys.find(
    (candidate) => sameBytes(candidate.blob, request.data) && candidate.type === request.algo,
  );
  const algorithmOk = isAcceptedUserSignature(request.algo, request.hashAlgo);
  let signatureOk = false;
  if (request.signature && request.blob) {
    try {
      const presented = ssh2.utils.parseKey(request.data);
      signatureOk =
        !(presented instanceof Error) && presented.verify(request.blob, request.signature, request.hashAlgo) === true;
    } catch {
      signatureOk = false;
    }
  }
  const reason: RejectReason | undefined = !context.validName
    ? 'invalid-user-name'
    : !user
      ? 'unknown-user'
      : !context.ipAllowed
        ? 'ip-not-allowed'
        : !key
          ? 'key-not-accepted'
          : !algorithmOk
            ? 'weak-signature-algorithm'
            : request.signature && !signatureOk
              ? 'bad-signature'
              : undefined;
  if (reason !== undefined || !key) return { outcome: 'reject', reason: reason ?? 'key-not-accepted' };
  return request.signature ? { outcome: 'login', key } : { outcome: 'key-acceptable', key };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
