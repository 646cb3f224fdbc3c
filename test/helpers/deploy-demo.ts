// A first deploy of three partners against the fake CloudFormation and a real S3 API, at a real terminal: what a
// person sees (change sets, the confirmation, live progress, the summary). Bundled and run inside tmux by
// test/commands/deploy-terminal.test.ts (`node deploy-demo.mjs '{"failClient":"carrier"}'`); it never touches AWS.
import { realpathSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { CommandContext } from '../../src/commands/context.js';
import { deploy } from '../../src/commands/deploy.js';
import { Output } from '../../src/ui/output.js';
import { inquirerPrompter } from '../../src/ui/prompts.js';
import { deployHarness } from './deploy-harness.js';

export async function runDeployDemo(options: { failClient?: string; stepMs?: number } = {}): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const harness = await deployHarness({ clients: ['bank', 'carrier', 'ministry'], pgp: true });
  // An interrupted deploy exits at once (exit 130): remove the folders even then.
  process.once('exit', () => {
    for (const dir of [harness.dir, harness.s3rver.root]) rmSync(dir, { recursive: true, force: true });
  });
  if (options.failClient)
    harness.cloudFormation.failNext(
      `shop-dev-client-${options.failClient}`,
      'UploadBucket',
      `shop-dev-${options.failClient}-upload already exists`,
    );
  const context: CommandContext = {
    globals: { json: false, debug: false, yes: false, env: 'dev' },
    output: new Output(false),
    interactive: true,
    prompter: inquirerPrompter(),
    cwd: harness.dir,
  };
  const stepMs = options.stepMs ?? 40;
  try {
    return await deploy({}, context, {
      deps: { sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, stepMs))), pollMs: stepMs },
      ...(harness.testing.aws ? { aws: harness.testing.aws } : {}),
    });
  } finally {
    await harness.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await runDeployDemo(JSON.parse(process.argv[2] ?? '{}'));
}
