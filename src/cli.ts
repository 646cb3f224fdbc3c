import { Argument, Command, CommanderError, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import type { CommandContext, GlobalOptions } from './commands/context.js';
import type { FlagCheck } from './commands/flag-checks.js';
import type { NameChecks } from './commands/preflight.js';
import { Output } from './ui/output.js';

/**
 * Every command and flag of sftpctl is declared here. Actions import their command module only when run, so
 * `sftpctl --help` loads neither the AWS SDK nor openpgp nor ssh2.
 */
const program = new Command('sftpctl')
  .description('Provision and operate a serverless SFTP partner file exchange on AWS, or run it all locally.')
  .version(packageJson.version, '--version', 'print the version')
  .addOption(new Option('-c, --config <file>', 'project config file (default: ./sftpctl.yaml)').env('SFTPCTL_CONFIG'))
  .option('--env <name>', 'environment to act on (dev, test, prod, …)')
  .option('--json', 'machine-readable output on stdout, nothing else there')
  .option('--debug', 'show stack traces for internal errors')
  .option('-y, --yes', 'never prompt: answer yes to confirmations, fail when input is missing')
  .showHelpAfterError('(run with --help for usage)')
  // Every subcommand's --help lists the global flags too (--env, --json, --yes, --config, --debug).
  .configureHelp({ showGlobalOptions: true })
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

/**
 * Flag values are checked before any command runs, in one place: choices and conflicts by commander itself, values
 * (numbers, regions, CIDRs, durations) by the checks declared here with `checked(…)`, run in the preAction hook below
 * from a module loaded only then (so `--help` loads none of it). A bad value names the flag, exit 2.
 */
const checks = new Map<Option, FlagCheck>();
function checked(flags: string, description: string, check: FlagCheck, defaultValue?: string): Option {
  const option = new Option(flags, description);
  if (defaultValue !== undefined) option.default(defaultValue);
  checks.set(option, check);
  return option;
}
const regionOption = (description: string) => checked('--region <region>', description, 'region');

program.hook('preAction', async (_program, command) => {
  const given = command.options.flatMap((option) => {
    const check = checks.get(option);
    const source = command.getOptionValueSource(option.attributeName());
    if (check === undefined || (source !== 'cli' && source !== 'env')) return [];
    const value = command.getOptionValue(option.attributeName()) as string | string[];
    return (Array.isArray(value) ? value : [value]).map((item) => ({ option, check, value: String(item) }));
  });
  if (given.length === 0) return;
  const { flagProblem } = await import('./commands/flag-checks.js');
  for (const { option, check, value } of given) {
    const problem = flagProblem(check, value);
    if (problem)
      command.error(`error: option '${option.flags}' argument '${value}' is invalid. ${problem}`, {
        exitCode: 2,
        code: 'commander.invalidArgument',
      });
  }
});

type Action = (context: CommandContext) => Promise<number | undefined>;

/**
 * Runs a command: flags were checked by the parser; names (`--env`, clients) are checked against the config here,
 * before the command starts, so before any AWS call or sign-in. `names` is given by every command that reads a config.
 */
async function run(command: Command, action: Action, names?: NameChecks): Promise<void> {
  const raw = command.optsWithGlobals();
  const globals: GlobalOptions = { ...raw, json: Boolean(raw.json), debug: Boolean(raw.debug), yes: Boolean(raw.yes) };
  const output = new Output(globals.json);
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !globals.yes && !globals.json;
  if (names) await (await import('./commands/preflight.js')).checkNames(globals, names, process.cwd());
  // Waits on AWS over a second show as a spinner (terminal) or a plain line; nothing with --json.
  if (!globals.json) {
    const [{ setWaitReporter }, { waitIndicator }] = await Promise.all([
      import('./aws/waits.js'),
      import('./ui/wait-indicator.js'),
    ]);
    setWaitReporter(waitIndicator(output.progressStream));
  }
  const { inquirerPrompter } = await import('./ui/prompts.js');
  const code = await action({ globals, output, interactive, prompter: inquirerPrompter(), cwd: process.cwd() });
  if (code) process.exitCode = code;
}

/** Names for commands that act on one client (an argument): it must exist, and in the environment acted on. */
const clientArg = (name: string): NameChecks => ({ clients: [name], inEnvironment: true });
/** Names for commands with repeatable --client: each must exist in the environment acted on. */
const clientFlags = (values: string[] | undefined): NameChecks => ({
  clients: (values ?? []).flatMap((value) => value.split(',').map((item) => item.trim())).filter(Boolean),
  inEnvironment: true,
});
const ENV_ONLY: NameChecks = {};

const collect = (value: string, previous: string[] = []) => [...previous, value];
/** Repeatable and comma-separated: `--ip a,b --ip c` → [a, b, c]. */
const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
];

program
  .command('init')
  .description("create sftpctl.yaml from prompts, flags, or the article's parameters.yaml")
  .option('--from <parameters.yaml>', "import a parameters.yaml in the article's format")
  .option('--project <name>', 'project name (prefix of every AWS name)')
  .addOption(regionOption('AWS region (default: $AWS_REGION)'))
  .option('--environments <list>', 'comma-separated environment names (default: dev,test,prod)')
  .option('--vpc-cidr <cidr>', 'VPC CIDR for the SFTP endpoint (default: 10.42.0.0/24)')
  .addOption(new Option('--az-count <n>', 'Availability Zones (default: 2)').choices(['2', '3']))
  .option('--force', 'overwrite an existing config file')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/init.js').InitOptions>();
    await run(this, async (context) => (await import('./commands/init.js')).init(options, context));
  });

const config = program.command('config').description('inspect and check the project config');
config
  .command('validate')
  .description('report every problem in the config (with file:line:col), or summarise it')
  .option('--no-keys', 'skip reading SSH and PGP key files')
  .option('--strict', 'fail on warnings too (risky configs: shared keys, overlapping allow-lists, …)')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/config-validate.js').ConfigValidateOptions>();
    await run(
      this,
      async (context) => (await import('./commands/config-validate.js')).configValidate(options, context),
      ENV_ONLY,
    );
  });

const client = program.command('client').description('onboard, offboard and inspect partners');
client
  .command('add <name>')
  .description('add a partner to the config (prompts for what the flags leave out)')
  .addOption(
    checked('--ip <cidr>', 'allowed IPv4 addresses or CIDRs (comma-separated, repeatable)', 'cidr')
      .argParser(collectList)
      .conflicts('allowAnyIp'),
  )
  .option('--allow-any-ip', 'allow 0.0.0.0/0 (not recommended)')
  .option('--extensions <list>', 'encrypted file extensions, first used for egress', 'gpg,pgp')
  .addOption(
    new Option('--checksum <algorithm>', 'checksum sidecar algorithm')
      .choices(['md5', 'sha1', 'sha256', 'sha512', 'none'])
      .default('sha256'),
  )
  .addOption(checked('--memory <mb>', 'function memory in MB (128-10240)', 'int:128:10240:512', '512'))
  .option('--require-encryption', 'quarantine uploads that are not PGP-encrypted')
  .option('--upload-key <key-or-file>', 'SSH public key of the upload user (repeatable)', collect)
  .option('--download-key <key-or-file>', 'SSH public key of the download user (repeatable)', collect)
  .addOption(new Option('--no-upload', 'no upload user').conflicts('uploadKey'))
  .addOption(new Option('--no-download', 'no download user').conflicts(['downloadKey', 'partnerKey']))
  .addOption(
    new Option('--ingress-public-key <file>', "platform's ingress PGP public key (handed to the partner)").conflicts(
      'generateKeys',
    ),
  )
  .addOption(new Option('--ingress-private-key <file>', "platform's ingress PGP private key").conflicts('generateKeys'))
  .option('--partner-key <file>', "partner's PGP public key, for exports")
  .option('--environments <list>', 'environments the client exists in (default: all)')
  .option('--generate-keys', "create the platform's ingress PGP pair under keys/<name>/ and reference it")
  .option('--generate-ssh-keys', 'also create SSH pairs for its users under keys/<name>/ (for testing)')
  .action(async function (this: Command, name: string) {
    const options = this.opts<import('./commands/client-add.js').ClientAddOptions>();
    await run(
      this,
      async (context) => (await import('./commands/client-add.js')).clientAdd(name, options, context),
      ENV_ONLY,
    );
  });
client
  .command('remove <name>')
  .description('remove a partner from the config (asks first unless --yes)')
  .action(async function (this: Command, name: string) {
    await run(this, async (context) => (await import('./commands/client-remove.js')).clientRemove(name, context), {
      clients: [name],
    });
  });
client
  .command('list')
  .description('list partners')
  .action(async function (this: Command) {
    await run(this, async (context) => (await import('./commands/client-list.js')).clientList(context), ENV_ONLY);
  });
client
  .command('show <name>')
  .description("show a partner's settings, users, keys and derived AWS names")
  .action(async function (this: Command, name: string) {
    await run(this, async (context) => (await import('./commands/client-show.js')).clientShow(name, context), {
      clients: [name],
    });
  });

client
  .command('password <name>')
  .description("set a client user's FTPS password (lambda identity mode): only its scrypt hash is stored")
  .addOption(
    new Option('--user <user>', 'the user (default: upload, or download if it has none)').choices([
      'upload',
      'download',
    ]),
  )
  .addOption(new Option('--generate', 'generate a strong password and show it once').conflicts('remove'))
  .option('--remove', "take the user's FTPS password away (deletes its secret)")
  .addOption(regionOption("AWS region (default: the environment's)"))
  .option('--profile <name>', 'AWS profile (default: $AWS_PROFILE, then the standard credential chain)')
  .action(async function (this: Command, name: string) {
    const options = this.opts<import('./commands/client-password.js').ClientPasswordOptions>();
    await run(
      this,
      async (context) => (await import('./commands/client-password.js')).clientPassword(name, options, context),
      clientArg(name),
    );
  });

const keys = program.command('keys').description('generate and rotate SSH and PGP keys');
const keysGenerate = keys
  .command('generate')
  .description('generate a key pair (private key written 0600, never overwritten)');
keysGenerate
  .command('ssh')
  .description('an OpenSSH key pair for an SFTP user')
  .addOption(new Option('--type <type>', 'key type').choices(['ed25519', 'rsa']).default('ed25519'))
  .option('--bits <n>', 'RSA size: 3072 or 4096 (default 4096)')
  .option('--comment <text>', 'comment at the end of the public key')
  .option(
    '--out <path>',
    'private key path (the public key gets .pub); ending in / a folder for sftpctl_<type> (default: ./sftpctl_<type>)',
  )
  .option('--passphrase', `protect the private key with a passphrase (asked, or $SFTPCTL_PASSPHRASE)`)
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/keys-generate-ssh.js').KeysGenerateSshOptions>();
    await run(this, async (context) =>
      (await import('./commands/keys-generate-ssh.js')).keysGenerateSsh(options, context),
    );
  });
keysGenerate
  .command('gpg')
  .description('an OpenPGP v4 key pair GnuPG 2.2 reads')
  .requiredOption('--name <name>', 'user id name')
  .requiredOption('--email <email>', 'user id email')
  .addOption(new Option('--type <type>', 'key type').choices(['curve25519', 'rsa']).default('curve25519'))
  .option('--bits <n>', 'RSA size: 3072 or 4096 (default 3072)')
  .option('--expires <duration>', 'lifetime like 2y or 90d, or never', '2y')
  .option(
    '--out <prefix>',
    "writes <prefix>.pub.asc and <prefix>.key.asc; ending in / a folder for them, named after the email's local part (the default)",
  )
  .option('--passphrase', 'protect the private key with a passphrase (asked, or $SFTPCTL_PASSPHRASE)')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/keys-generate-gpg.js').KeysGenerateGpgOptions>();
    await run(this, async (context) =>
      (await import('./commands/keys-generate-gpg.js')).keysGenerateGpg(options, context),
    );
  });

const verify = program.command('verify').description('check files');
verify
  .command('checksum <files...>')
  .description('check files against their checksum sidecars (FILE.sha256, .md5, … in coreutils, BSD or bare-hex form)')
  .option('--sidecar <file>', 'the sidecar to use (one FILE only)')
  .option('--algorithm <name>', 'md5 | sha1 | sha256 | sha512 (default: from the sidecar)')
  .option('--decrypt-key <file>', 'check an encrypted file against its plaintext sidecar in one pass (private key)')
  .action(async function (this: Command, files: string[]) {
    const options = this.opts<import('./commands/verify-checksum.js').VerifyChecksumOptions>();
    await run(this, async (context) =>
      (await import('./commands/verify-checksum.js')).verifyChecksum(files, options, context),
    );
  });

keys
  .command('rotate <client>')
  .description("rotate a client's SSH keys or the platform's ingress PGP key without downtime")
  .addOption(
    new Option('--ssh <user>', 'rotate the SSH keys of this user')
      .choices(['upload', 'download', 'all'])
      .conflicts('pgp'),
  )
  .option('--pgp', 'rotate the ingress PGP key pair (new pair; the secret holds new and old during the grace period)')
  .addOption(
    new Option('--public-key <file>', "with --ssh: the partner's new public key").conflicts([
      'generate',
      'pgp',
      'finish',
    ]),
  )
  .addOption(
    new Option('--generate', 'with --ssh: generate a new pair under keys/<client>/ (for testing)').conflicts([
      'pgp',
      'finish',
    ]),
  )
  .addOption(checked('--grace <duration>', 'how long the old key keeps working', 'duration', '7d'))
  .option('--finish', 'end the rotation: remove the old key (only once the new one is in place)')
  .option('--force', 'with --finish: end before the grace period is over')
  .option('--server-id <id>', 'Transfer server id (default: from the server stack)')
  .addOption(regionOption("AWS region (default: the environment's)"))
  .option('--profile <name>', 'AWS profile (default: $AWS_PROFILE, then the standard credential chain)')
  .action(async function (this: Command, name: string) {
    const options = this.opts<import('./commands/keys-rotate.js').KeysRotateOptions>();
    await run(
      this,
      async (context) => (await import('./commands/keys-rotate.js')).keysRotate(name, options, context),
      clientArg(name),
    );
  });

const secrets = program.command('secrets').description('load key material into Secrets Manager');
secrets
  .command('load <client>')
  .description("validate a client's PGP keys and write them to the secrets its stack declares (never printed)")
  .option('--dry-run', 'validate and show what would be written, without calling AWS')
  .addOption(regionOption("AWS region (default: the environment's)"))
  .option('--profile <name>', 'AWS profile (default: $AWS_PROFILE, then the standard credential chain)')
  .action(async function (this: Command, name: string) {
    const options = this.opts<import('./commands/secrets-load.js').SecretsLoadOptions>();
    await run(
      this,
      async (context) => (await import('./commands/secrets-load.js')).secretsLoad(name, options, context),
      clientArg(name),
    );
  });

program
  .command('encrypt <file>')
  .description('encrypt a file to a PGP public key (streaming; GnuPG 2.2 reads it)')
  .requiredOption('--recipient <key-file>', "the recipient's public key")
  .option('--out <file>', 'output (default: <file>.gpg, or .asc with --armor); never overwritten')
  .option('--armor', 'ASCII-armored output')
  .option('--compress', 'zlib-compress before encrypting')
  .action(async function (this: Command, file: string) {
    const options = this.opts<import('./commands/encrypt.js').EncryptOptions>();
    await run(this, async (context) => (await import('./commands/encrypt.js')).encrypt(file, options, context));
  });
program
  .command('decrypt <file>')
  .description('decrypt a PGP file (streaming; the output appears only once the integrity check passed)')
  .requiredOption('--key <key-file>', 'the private key (passphrase from $SFTPCTL_PASSPHRASE or asked)')
  .option('--out <file>', 'output (default: <file> without .gpg/.pgp/.asc); never overwritten')
  .option(
    '--max-decompressed <size>',
    'what a compressed message may expand to (default 16GiB; never above free space)',
  )
  .option('--timeout <seconds>', 'give up (and leave nothing behind) when the decryption takes longer')
  .action(async function (this: Command, file: string) {
    const options = this.opts<import('./commands/decrypt.js').DecryptOptions>();
    await run(this, async (context) => (await import('./commands/decrypt.js')).decrypt(file, options, context));
  });

program
  .command('synth')
  .description('render the CloudFormation templates of an environment (all by default) with a manifest')
  .option('--out <dir>', 'output folder (default: .sftpctl/out/<env>/ beside the config)')
  .addOption(new Option('--format <format>', 'template format').choices(['yaml', 'json']).default('yaml'))
  .option('--strict', 'fail on any unsuppressed security finding, not only on limit errors')
  .option('--force', 'write into a --out folder that holds other files (never overwriting or deleting them)')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/synth.js').SynthOptions>();
    await run(this, async (context) => (await import('./commands/synth.js')).synth(options, context), ENV_ONLY);
  });

/** Deploy, diff and destroy: AWS options plus the CloudFormation service role. */
const stackOptions = (command: Command) =>
  awsOptions(command).option(
    '--role-arn <arn>',
    'CloudFormation service role to create, update and delete stacks with (your credentials then need little else)',
  );

const awsOptions = (command: Command) =>
  command
    .addOption(regionOption("AWS region (default: the environment's, then $AWS_REGION)"))
    .option(
      '--profile <name>',
      'AWS profile (default: $AWS_PROFILE, then the standard credential chain, SSO included)',
    );

stackOptions(
  program
    .command('deploy')
    .description('deploy an environment: change sets per stack, shown and confirmed, then live progress')
    .option(
      '--client <name>',
      "deploy only this client's stack (repeatable or comma-separated; the environment must be deployed)",
      collectList,
    )
    .addOption(checked('--concurrency <n>', 'client stacks deployed in parallel (1-16)', 'int:1:16:4', '4'))
    .option(
      '--allow-replacement <id>',
      'let the deploy replace this server, EIP, bucket, key, secret or user (logical id or stack/id; repeatable)',
      collect,
    )
    .addOption(
      new Option(
        '--print-policy [for]',
        'print the IAM policy this deploy needs (JSON) and change nothing: for the caller, or with --role-arn for the service role',
      ).choices(['caller', 'service-role']),
    ),
).action(async function (this: Command) {
  const options = this.opts<import('./commands/deploy.js').DeployOptions>();
  await run(
    this,
    async (context) => (await import('./commands/deploy.js')).deploy(options, context),
    clientFlags(options.client),
  );
});

stackOptions(
  program
    .command('diff')
    .description('show what a deploy would change (change sets, deleted again); nothing is changed')
    .option('--client <name>', "only this client's stack (repeatable or comma-separated)", collectList)
    .addOption(checked('--concurrency <n>', 'change sets computed in parallel (1-16)', 'int:1:16:4', '4'))
    .option('--exit-code', 'exit 2 when there are changes (0 when none)'),
).action(async function (this: Command) {
  const options = this.opts<import('./commands/diff.js').DiffOptions>();
  await run(
    this,
    async (context) => (await import('./commands/diff.js')).diff(options, context),
    clientFlags(options.client),
  );
});

stackOptions(
  program
    .command('destroy')
    .description('delete the stacks of an environment (or clients) in reverse order, after typing its name')
    .option('--client <name>', "only this client's stack (repeatable or comma-separated)", collectList)
    .option('--empty-buckets', 'delete every object version in buckets that hold data (otherwise refused)')
    .addOption(checked('--concurrency <n>', 'client stacks deleted in parallel (1-16)', 'int:1:16:4', '4')),
).action(async function (this: Command) {
  const options = this.opts<import('./commands/destroy.js').DestroyOptions>();
  await run(
    this,
    async (context) => (await import('./commands/destroy.js')).destroy(options, context),
    clientFlags(options.client),
  );
});

awsOptions(
  program
    .command('status')
    .description('report an environment: stacks, server, users and key ages, dead letters, function errors (read-only)')
    .option(
      '--client <name>',
      'only this client (repeatable or comma-separated); platform stacks are always shown',
      collectList,
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 healthy; 1 a problem was found (listed at the end) or the check failed; 2 usage error.',
    ),
).action(async function (this: Command) {
  const options = this.opts<import('./commands/status.js').StatusOptions>();
  await run(
    this,
    async (context) => (await import('./commands/status.js')).status(options, context),
    clientFlags(options.client),
  );
});

const local = program
  .command('local')
  .description('run the whole platform on this machine: a real SFTP server, the same processing, folders for buckets');
local
  .command('up')
  .description('start the local platform (until Ctrl+C)')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .addOption(checked('--port <port>', 'SFTP port (0 picks a free one)', 'int:0:65535:2222', '2222'))
  .option('--data <dir>', 'data folder: buckets, keys, host key (default: .sftpctl/local/<env>/ beside the config)')
  .option('--no-allow-loopback', "apply the clients' IP allow-lists to loopback addresses too")
  .option('--quota <size>', 'size each SFTP home reports to df / statvfs, e.g. 500G (default 1T)')
  .option('--compatible-algorithms', 'also offer non-ETM hmac-sha2 MACs, for libssh2 < 1.11 clients such as curl')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/local-up.js').LocalUpOptions>();
    await run(this, async (context) => (await import('./commands/local-up.js')).localUp(options, context), ENV_ONLY);
  });
local
  .command('export <client> <file>')
  .description("place a file in a client's local export folder; a running `local up` encrypts it for the partner")
  .option('--as <key>', 'object key in the export bucket (default: the file name)')
  .option('--data <dir>', 'data folder of `local up`')
  .action(async function (this: Command, client: string, file: string) {
    const options = this.opts<import('./commands/local-export.js').LocalExportOptions>();
    await run(
      this,
      async (context) => (await import('./commands/local-export.js')).localExport(client, file, options, context),
      clientArg(client),
    );
  });

const quarantine = program
  .command('quarantine')
  .description('files refused for good (integrity, wrong key, not encrypted): list, show why, release for another try');
for (const [name, description] of [
  ['list <client>', "list a client's quarantined uploads (local platform, or --aws)"],
  ['show <client> <key>', 'show why an upload was quarantined'],
  ['release <client> [key]', 'let a quarantined upload be processed again (after the cause was fixed)'],
  [
    'redrive <client>',
    "send the client's dead letters back for processing (local platform, or --aws: its SQS dead-letter queues)",
  ],
] as const) {
  quarantine
    .command(name)
    .description(description)
    .option('--data <dir>', 'data folder of `local up`')
    .option('--all', 'release: every quarantined upload of the client')
    .option('--aws', "the deployed buckets and queues in AWS instead of the local platform's")
    .option('--region <region>', "AWS region (default: the environment's)")
    .option('--profile <name>', 'AWS profile (default: $AWS_PROFILE, then the standard credential chain)')
    .action(async function (this: Command, client: string, key?: string) {
      const options = this.opts<import('./commands/quarantine.js').QuarantineOptions>();
      const action = name.split(' ')[0] as 'list' | 'show' | 'release' | 'redrive';
      await run(this, async (context) =>
        (await import('./commands/quarantine.js')).quarantineCommand(action, client, key, options, context),
      );
    });
}

program
  .command('cost')
  .description('estimate the monthly AWS bill of an environment from the config and the expected traffic')
  .addOption(checked('--upload-gb-day <n>', 'GB partners upload per day (per endpoint)', 'amount', '0'))
  .addOption(checked('--download-gb-day <n>', 'GB partners download per day (per endpoint)', 'amount', '0'))
  .addOption(checked('--storage-gb <n>', 'GB stored in S3, all buckets (1 TB = 1024 GB)', 'amount', '0'))
  .addOption(checked('--files-day <n>', 'files transferred per day (default: one per 10 MB)', 'amount'))
  .addOption(checked('--hours-per-month <n>', 'hours the endpoint runs per month (0-744)', 'int:0:744:720', '720'))
  .addOption(
    checked(
      '--protocols <list>',
      "price these endpoints instead of the config's (e.g. SFTP,FTPS)",
      'list:SFTP,FTPS,FTP,AS2',
    ),
  )
  .addOption(checked('--web-apps <n>', 'Transfer Family web app units enabled', 'int:0:1000:1', '0'))
  .option('--article-scope', 'only the line items the reference article prices')
  .option('--price-file <file>', 'YAML or JSON file overriding unit prices (see docs/cost.md)')
  .action(async function (this: Command) {
    const options = this.opts<import('./commands/cost.js').CostOptions>();
    await run(this, async (context) => (await import('./commands/cost.js')).cost(options, context), ENV_ONLY);
  });

program
  .command('completion')
  .description('print a shell completion script: eval "$(sftpctl completion bash)" (or zsh, fish)')
  .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
  .action(async function (this: Command, shell: string) {
    await run(this, async (context) => (await import('./commands/completion.js')).completion(shell, program, context));
  });

// A reader that goes away (`sftpctl … | head`) is not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** Exit codes: 0 ok, 1 user error, 2 usage error, 3 internal error. */
async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const json = argv.includes('--json');
    // With --json, a usage error is a JSON document on stdout too (commander has written its message to stderr).
    if (json && error instanceof CommanderError && error.exitCode !== 0 && !error.code.startsWith('commander.help'))
      process.stdout.write(
        `${JSON.stringify({ error: { code: 'USAGE', message: error.message.replace(/^error: /, ''), hint: 'Run with --help for usage.', details: [] } }, null, 2)}\n`,
      );
    const { reportError } = await import('./ui/report-error.js');
    process.exitCode = reportError(error, { json, debug: argv.includes('--debug') });
  }
}

await main(process.argv);
