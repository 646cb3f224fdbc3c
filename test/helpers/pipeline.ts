import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineEvent, PipelineSettings } from '../../src/core/pipeline/types.js';
import type { KeyStore } from '../../src/core/ports.js';
import { FsObjectStore } from '../../src/local/fs-object-store.js';

/** A throwaway GnuPG home with helpers; `close()` stops its agent and removes it. */
export function gnupgHome() {
  const home = mkdtempSync(join(tmpdir(), 'sftpctl-gnupg-'));
  const gpg = (args: string[], input?: Buffer | string) =>
    execFileSync(
      'gpg',
      [
        '--homedir',
        home,
        '--batch',
        '--yes',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--trust-model',
        'always',
        ...args,
      ],
      {
        input,
        maxBuffer: 256 << 20,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
  const generate = (uid: string, algo: string) => {
    gpg(['--quick-gen-key', uid, algo, 'default', 'never']);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--with-colons', '--list-keys', uid]).toString())?.[1] ?? '';
    if (algo.startsWith('rsa')) gpg(['--quick-add-key', fingerprint, algo, 'encr', 'never']);
    return {
      fingerprint,
      publicKey: gpg(['--armor', '--export', fingerprint]).toString(),
      privateKey: gpg(['--armor', '--export-secret-keys', fingerprint]).toString(),
    };
  };
  return {
    home,
    gpg,
    generate,
    close() {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function memoryKeys(ingress: string[], partner = ''): KeyStore & { ingress: string[] } {
  const store = {
    ingress,
    async ingressPrivateKeys() {
      return store.ingress;
    },
    async partnerPublicKey() {
      return partner;
    },
  };
  return store;
}

export const SETTINGS: PipelineSettings = {
  client: 'bank',
  buckets: { upload: 'bank-upload', raw: 'bank-raw', export: 'bank-export', download: 'bank-download' },
  encryptedExtensions: ['gpg', 'pgp', 'asc'],
  checksum: 'sha256',
  requireEncryption: false,
  allowEmpty: false,
  maxDecompressedBytes: 64 << 20,
};

export function fsDeps(root: string, keys: KeyStore) {
  const events: PipelineEvent[] = [];
  return {
    store: new FsObjectStore(root),
    keys,
    log: (event: PipelineEvent) => events.push(event),
    clock: { now: () => new Date('2026-11-24T12:00:00Z') },
    events,
  };
}
