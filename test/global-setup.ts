import { execFileSync } from 'node:child_process';

/** CLI tests spawn the built binary, and deploy tests upload the function bundles: build both once, fresh. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-lambda.mjs'], { stdio: 'ignore' });
}
