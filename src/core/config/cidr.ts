/** IPv4 CIDR arithmetic for allow-lists and VPC sizing. IPv6 is not accepted: Transfer's VPC endpoint EIPs are IPv4. */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefix: number;
  /** Canonical text form, e.g. `203.0.113.0/24`. */
  text: string;
}

export type CidrParse =
  | { ok: true; cidr: Ipv4Cidr; hostBitsSet: boolean; bareAddress: boolean }
  | { ok: false; reason: string };

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((part) => OCTET.test(part))) return undefined;
  return parts.reduce((value, part) => value * 256 + Number(part), 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses `a.b.c.d/n`. A bare address is read as `/32`. Host bits set (`10.0.0.5/24`) parse, but are reported
 * so the caller can refuse them and suggest the network address.
 */
export function parseCidr(input: string): CidrParse {
  const text = input.trim();
  if (text.includes(':')) return { ok: false, reason: 'is an IPv6 address; only IPv4 CIDRs are supported' };
  const [address = '', prefixText, ...rest] = text.split('/');
  if (rest.length > 0) return { ok: false, reason: 'has more than one "/"' };
  const value = parseIpv4(address);
  if (value === undefined)
    return { ok: false, reason: 'is not an IPv4 address (expected four numbers 0-255, like 203.0.113.0/24)' };
  if (prefixText !== undefined && !/^(3[0-2]|[12]?\d)$/.test(prefixText)) {
    return { ok: false, reason: `has prefix length "/${prefixText}"; it must be a number from 0 to 32` };
  }
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  const network = (value & maskOf(prefix)) >>> 0;
  return {
    ok: true,
    cidr: { network, prefix, text: `${formatIpv4(network)}/${prefix}` },
    hostBitsSet: network !== value,
    bareAddress: prefixText === undefined,
  };
}

export function cidrContains(outer: Ipv4Cidr, address: number): boolean {
  return (address & maskOf(outer.prefix)) >>> 0 === outer.network;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return (a.network & maskOf(prefix)) >>> 0 === (b.network & maskOf(prefix)) >>> 0;
}

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((text) => {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(`bad built-in range ${text}`);
  return parsed.cidr;
});

/** True for RFC 1918 and carrier-grade NAT space: addresses a partner's traffic never arrives from. */
export function isPrivateRange(cidr: Ipv4Cidr): boolean {
  return PRIVATE_RANGES.some((range) => range.prefix <= cidr.prefix && cidrContains(range, cidr.network));
}

/** Splits a VPC CIDR into `count` equal subnets (rounded up to a power of two); the first `count` are used. */
export function splitCidr(vpc: Ipv4Cidr, count: number): Ipv4Cidr[] {
  const extraBits = Math.ceil(Math.log2(count));
  const prefix = vpc.prefix + extraBits;
  const size = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, index) => {
    const network = vpc.network + index * size;
    return { network, prefix, text: `${formatIpv4(network)}/${prefix}` };
  });
}

/** AWS allows subnets from /16 to /28. */
export const SMALLEST_SUBNET_PREFIX = 28;
export const VPC_PREFIX_RANGE = { min: 16, max: 28 } as const;
