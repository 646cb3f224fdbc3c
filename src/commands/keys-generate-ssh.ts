import { generateSshKeyPair, type SshKeyAlgorithm } from '../core/crypto/ssh-keygen.js';
import { UsageError } from '../core/errors.js';
import { keyOutputPath, writeKeyPair } from '../io/key-files.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

export interface KeysGenerateSshOptions {
  type: string;
  bits?: string;
  comment?: string;
  out?: string;
  passphrase?: boolean;
}

export async function keysGenerateSsh(options: KeysGenerateSshOptions, context: CommandContext): Promise<number> {
  if (options.type !== 'ed25519' && options.type !== 'rsa') {
    throw new UsageError(
      'INVALID_FLAG',
      `--type: "${options.type}" is not offered.`,
      'Use --type ed25519 (recommended) or --type rsa.',
    );
  }
  const type: SshKeyAlgorithm = options.type;
  const privatePath = keyOutputPath(context.cwd, options.out, `sftpctl_${type}`);
  const passphrase = options.passphrase
    ? await readPassphrase(context, 'for the new SSH key', { confirm: true })
    : undefined;
  const pair = await generateSshKeyPair({
    type,
    ...(options.bits === undefined ? {} : { bits: Number(options.bits) }),
    ...(options.comment === undefined ? {} : { comment: options.comment }),
    ...(passphrase === undefined ? {} : { passphrase }),
  });
  await writeKeyPair({ privatePath, publicPath: `${privatePath}.pub` }, pair);

  const { output } = context;
  output.data({
    type: pair.info.type,
    bits: pair.info.bits,
    fingerprint: pair.info.fingerprint,
    private: privatePath,
    public: `${privatePath}.pub`,
    encrypted: Boolean(passphrase),
  });
  output.success(`Generated ${pair.info.type} (${pair.info.bits} bits) ${pair.info.fingerprint}`);
  output.line(
    `  private key  ${privatePath}  (mode 0600${passphrase ? ', passphrase-protected' : ''}; never share it)`,
  );
  output.line(`  public key   ${privatePath}.pub  (give this one to the server)`);
  return 0;
}
