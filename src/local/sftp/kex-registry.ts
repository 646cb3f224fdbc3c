import { createRequire } from 'node:module';
import { SftpctlError } from '../../core/errors.js';
import { hybridKex, type KexMethod } from './kex-hybrid.js';
import { loadMlKem768 } from './kex-mlkem768.js';
import { SNTRUP761 } from './kex-sntrup761.js';

/**
 * The post-quantum hybrid key exchanges, registered with ssh2 through the hook our patch adds to
 * `ssh2/lib/protocol/kex.js` (`registerKeyExchange`; patches/README.md). Registering makes the names valid in ssh2's
 * `algorithms.kex` (Server and Client) and lets ssh2 run them when negotiated.
 */
export const POST_QUANTUM_KEX = {
  'mlkem768x25519-sha256': hybridKex('mlkem768x25519-sha256', 'sha256', loadMlKem768),
  'sntrup761x25519-sha512': hybridKex('sntrup761x25519-sha512', 'sha512', () => SNTRUP761),
  'sntrup761x25519-sha512@openssh.com': hybridKex('sntrup761x25519-sha512@openssh.com', 'sha512', () => SNTRUP761),
} satisfies Record<string, KexMethod>;

export type PostQuantumKex = keyof typeof POST_QUANTUM_KEX;

interface Ssh2KexModule {
  registerKeyExchange?: (name: string, method: KexMethod) => void;
}

const requireModule = createRequire(import.meta.url);
const registeredWith = new WeakSet<object>();

/** Idempotent. Throws SSH2_PATCH_MISSING when ssh2 lacks the hook (patch not applied, or ssh2 upgraded under it). */
export function registerPostQuantumKex(
  kexModule: Ssh2KexModule = requireModule('ssh2/lib/protocol/kex.js') as Ssh2KexModule,
): void {
  if (registeredWith.has(kexModule)) return;
  const register = kexModule.registerKeyExchange;
  if (typeof register !== 'function') {
    throw new SftpctlError(
      'SSH2_PATCH_MISSING',
      'The installed ssh2 has no key exchange registry (registerKeyExchange), which patches/ssh2+1.17.0.patch adds: ' +
        'the post-quantum key exchanges cannot be offered.',
      'Run `npm ci` (its postinstall applies the patch). If ssh2 was upgraded, re-make the patch as patches/README.md says.',
      { kind: 'internal' },
    );
  }
  for (const [name, method] of Object.entries(POST_QUANTUM_KEX)) register(name, method);
  registeredWith.add(kexModule);
}
