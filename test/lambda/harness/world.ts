import { createHash } from 'node:crypto';
import { serializeSecret } from '../../../src/core/secrets.js';
import { gnupgHome } from '../../helpers/pipeline.js';
import { type Platform, startPlatform } from './platform.js';

/**
 * The harness platform with real GnuPG keys: the platform's ingress pair (its private key is what `secrets load`
 * would write), the partner's pair (its public key goes to the egress secret) and a stranger's key (wrong key).
 */
export async function startWorld() {
  const gnupg = gnupgHome();
  const ingress = gnupg.generate('Platform ingress <ingress@example.com>', 'future-default');
  const partner = gnupg.generate('Partner <partner@example.com>', 'future-default');
  const stranger = gnupg.generate('Stranger <stranger@example.com>', 'future-default');
  // The deployed sweeper waits 10 minutes before it calls an upload lost; the harness cannot wait that long.
  const platform = await startPlatform({ environment: { SweeperFunction: { SFTPCTL_SWEEP_AFTER_MINUTES: '0' } } });
  const ingressSecret = platform.secretArn('IngressPrivateKeysSecret');
  const partnerSecret = platform.secretArn('PartnerPublicKeySecret');

  const world = {
    platform,
    gnupg,
    /** What `sftpctl secrets load` writes. */
    loadSecrets() {
      platform.secrets.secrets.set(
        ingressSecret,
        serializeSecret({
          format: 'sftpctl.ingress-keys/v1',
          keys: [{ fingerprint: ingress.fingerprint, role: 'current', armoredPrivateKey: ingress.privateKey }],
        }),
      );
      platform.secrets.secrets.set(
        partnerSecret,
        serializeSecret({
          format: 'sftpctl.partner-key/v1',
          fingerprint: partner.fingerprint,
          armoredPublicKey: partner.publicKey,
        }),
      );
    },
    unloadSecrets() {
      platform.secrets.secrets.set(ingressSecret, undefined);
      platform.secrets.secrets.set(partnerSecret, undefined);
    },
    /** GnuPG encryption, as a partner's tooling does it (to the ingress key unless told otherwise). */
    encrypt(plaintext: string | Buffer, to: 'ingress' | 'stranger' = 'ingress'): Buffer {
      const recipient = to === 'ingress' ? ingress.fingerprint : stranger.fingerprint;
      return gnupg.gpg(['--encrypt', '--recipient', recipient, '--output', '-'], plaintext);
    },
    /** The partner decrypting what they downloaded. */
    decryptAsPartner(ciphertext: Buffer): Buffer {
      return gnupg.gpg(['--decrypt', '--output', '-'], ciphertext);
    },
    /** A coreutils `sha256sum` line for `plaintext` under `name`. */
    sidecar(plaintext: string | Buffer, name: string): string {
      return `${createHash('sha256').update(plaintext).digest('hex')}  ${name}\n`;
    },
    sha256: (data: string | Buffer) => createHash('sha256').update(data).digest('hex'),
    async stop() {
      await platform.stop();
      gnupg.close();
    },
  };
  return world;
}

export type World = Awaited<ReturnType<typeof startWorld>>;
export type { Platform };
