import { SftpctlError } from '../core/errors.js';
import { FUNCTION_ARTIFACT_BUNDLES, type ParameterSource } from '../templates/cfn.js';
import type { FunctionArtifacts } from './artifacts.js';

/** Outputs of deployed stacks, by stack name then output key. */
export type StackOutputs = Map<string, Record<string, string>>;

/** Fills a stack's parameters from upstream outputs and uploaded artifacts, as the manifest says. */
export function resolveParameters(
  stack: string,
  sources: Record<string, ParameterSource>,
  outputs: StackOutputs,
  artifacts: FunctionArtifacts | undefined,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, source] of Object.entries(sources)) {
    if (source.from === 'output') {
      const value = outputs.get(source.stack)?.[source.output];
      if (value === undefined) {
        throw new SftpctlError(
          'UPSTREAM_MISSING',
          `Stack ${stack} needs output ${source.output} of ${source.stack}, which is not deployed.`,
          `Deploy the environment first (sftpctl deploy without --client), then this stack.`,
        );
      }
      values[name] = value;
    } else {
      const artifact = artifacts?.[FUNCTION_ARTIFACT_BUNDLES[source.artifact]];
      if (!artifact) throw new Error(`artifact ${source.artifact} was not prepared for ${stack}`);
      values[name] = artifact.key;
    }
  }
  return values;
}

/** True when every output the stack takes is known (diff can only make a change set then). */
export function upstreamReady(sources: Record<string, ParameterSource>, outputs: StackOutputs): boolean {
  return Object.values(sources).every(
    (source) => source.from !== 'output' || outputs.get(source.stack)?.[source.output] !== undefined,
  );
}
