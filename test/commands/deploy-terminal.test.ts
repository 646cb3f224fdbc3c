import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleTypeScript } from '../../bench/lib.mjs';
import { TmuxSession } from '../helpers/terminal.js';

const ROOT = resolve(import.meta.dirname, '../..');
let session: TmuxSession | undefined;
afterEach(() => session?.kill());

/**
 * Answers each confirmation with y as it appears, until the command exits; returns the final screen. With
 * `interruptAt`, presses Ctrl+C once that many questions were answered and progress rows show.
 */
async function driveDeploy(options: { failClient?: string; interruptAt?: number; stepMs?: number } = {}) {
  const script = await bundleTypeScript('deploy-demo', { 'test/helpers/deploy-demo.ts': ['runDeployDemo'] });
  const demoOptions = {
    ...(options.failClient ? { failClient: options.failClient } : {}),
    ...(options.stepMs ? { stepMs: options.stepMs } : {}),
  };
  session = new TmuxSession('deploy', `node ${script} '${JSON.stringify(demoOptions)}'`, {
    cwd: ROOT,
    width: 110,
    height: 50,
    env: { SFTPCTL_FUNCTION_BUNDLES: join(ROOT, 'dist/lambda') },
  });
  const screens: string[] = [];
  let answered = 0;
  for (;;) {
    // Every screen polled while waiting is kept: under load the live progress may show for only a few polls.
    const screen = await session.waitFor(
      (text) => {
        screens.push(text);
        return text.includes('(y/N)') || text.includes('[exit ');
      },
      'a confirmation or the end',
      60_000,
    );
    if (screen.includes('[exit ')) return { final: screen, screens, answered };
    session.keys('y');
    session.keys('Enter');
    answered++;
    await session.waitFor((text) => !text.includes('(y/N)'), 'the answer taken');
    if (answered === options.interruptAt) {
      await session.waitFor((text) => /[█░]{12}/.test(text), 'progress rows');
      session.keys('C-c');
    }
  }
}

describe('deploy at a real terminal (tmux)', () => {
  it("shows each wave's changes, asks before each, draws live progress, and ends with a summary", async () => {
    const { final, screens, answered } = await driveDeploy();
    const live = screens.filter((screen) => /shop-dev-client-\w+\s+create [█░]{12}/.test(screen)).at(-1);
    if (process.env.SFTPCTL_RECORD) {
      const liveRows = (live ?? '').split('\n').filter((line) => /[█░]{12}/.test(line));
      writeFileSync(
        process.env.SFTPCTL_RECORD,
        `${final}\n--- the live rows while the client stacks deploy (the spinner replaces them with the lines above) ---\n${liveRows.join('\n')}\n`,
      );
    }
    expect(final).toContain('[exit 0]');
    expect(answered).toBe(4);
    expect(final).toMatch(/shop-dev-assets \(new stack\): \d+ to add/);
    expect(final).toMatch(/\+ 2× AWS::S3::Bucket\s+AccessLogBucket, AssetsBucket/);
    expect(final).toMatch(/^uploaded: functions\/ingress-[0-9a-f]{16}\.zip$/m);
    expect(final).toMatch(/Deploy these changes to shop-dev-assets\? (yes|Yes)/);
    expect(final).toMatch(/Deploy these changes to 3 stacks\? (yes|Yes)/);
    expect(final).toMatch(/shop-dev-client-ministry\s+created\s+CREATE_COMPLETE/);
    // While CloudFormation works, a spinner row per stack shows resources done of total and the latest event.
    expect(live).toMatch(/shop-dev-client-\w+\s+create [█░]{12} \d+\/\d+ {2}\w+ (CREATE_IN_PROGRESS|CREATE_COMPLETE)/);
    // The spinner clears itself: no progress rows are left in the final screen.
    expect(final).not.toMatch(/[█░]{12}/);
  });

  it('a failing client stack: the others finish, the failure is named, exit 1', async () => {
    const { final } = await driveDeploy({ failClient: 'carrier' });
    expect(final).toContain('[exit 1]');
    expect(final).toMatch(
      /✖ shop-dev-client-carrier: UploadBucket CREATE_FAILED shop-dev-carrier-upload already exists/,
    );
    expect(final).toMatch(/shop-dev-client-bank\s+created/);
    expect(final).toContain('1 of 6 stacks did not deploy.');
  });
});

describe('deploy interrupted at a real terminal', () => {
  it('Ctrl+C stops the spinner, says CloudFormation carries on and how to look, and exits 130', async () => {
    // Slow CloudFormation steps: the interrupt must land while the client stacks are still deploying.
    const { final } = await driveDeploy({ interruptAt: 4, stepMs: 250 });
    expect(final).toContain('[exit 130]');
    expect(final).toMatch(
      /Interrupted \(SIGINT\)\. Stack operations already started continue in CloudFormation; sftpctl status/,
    );
    expect(final).not.toMatch(/[█░]{12}/);
  });
});
