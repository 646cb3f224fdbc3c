import { clientStackName } from '../core/config/naming.js';
import { clientsInEnvironment } from '../core/config/resolve.js';
import type { Config } from '../core/config/schema.js';
import { UsageError } from '../core/errors.js';
import { renderAssets } from './assets.js';
import type { ParameterSource, StackKind, Template, TemplateBuilder } from './cfn.js';
import { renderClient } from './client.js';
import { envContext } from './context.js';
import { checkNameCollisions, checkTemplateLimits, LIMITS, type LimitFinding } from './limits.js';
import { renderNetwork } from './network.js';
import { annotateSuppressions, checkTemplate, type SecurityFinding, suppressionsFor } from './security-rules.js';
import { byteLength, serialize, sha256, type TemplateFormat } from './serialize.js';
import { renderServer } from './server.js';

export interface SynthOptions {
  format: TemplateFormat;
}

/** A security rule finding (suppressed ones carry their reason) or a limit check. */
export interface Finding {
  kind: 'security' | 'limit';
  rule: string;
  level: 'error' | 'warning';
  /** Logical id, when the finding is about one resource. */
  resource?: string;
  type?: string;
  message: string;
  suppressed?: string;
}

export interface SynthStack {
  name: string;
  kind: StackKind;
  /** The client of a client stack. */
  client?: string;
  /** Suggested file name in the output directory. */
  fileName: string;
  template: Template;
  body: string;
  bytes: number;
  resources: number;
  /** sha256 of `body`, hex. */
  hash: string;
  findings: Finding[];
  /** Over 51,200 bytes: the deploy uploads the body to the assets bucket and passes a TemplateURL. */
  needsUpload: boolean;
  /** Each parameter and where its value comes from. */
  parameters: Record<string, ParameterSource>;
  outputs: string[];
  /** Stacks whose outputs this one takes. */
  dependsOn: string[];
  /** Stack-level tags; CloudFormation propagates them to every resource that supports tags. */
  tags: Record<string, string>;
  terminationProtection: boolean;
}

export interface SynthManifest {
  manifestVersion: 1;
  project: string;
  environment: string;
  region: string;
  account: string | null;
  format: TemplateFormat;
  /** Waves: every stack of a wave can deploy in parallel once the previous waves are done. */
  deployOrder: string[][];
  stacks: {
    name: string;
    kind: StackKind;
    client: string | null;
    file: string;
    hash: string;
    bytes: number;
    resources: number;
    needsUpload: boolean;
    terminationProtection: boolean;
    dependsOn: string[];
    parameters: Record<string, ParameterSource>;
    outputs: string[];
    tags: Record<string, string>;
    findings: { unsuppressed: number; suppressed: number; errors: number };
  }[];
}

export interface SynthResult {
  environment: string;
  format: TemplateFormat;
  stacks: SynthStack[];
  deployOrder: string[][];
  manifest: SynthManifest;
  /** The manifest as deterministic JSON, to write as `manifest.json`. */
  manifestBody: string;
}

/** Tags sftpctl puts on every stack besides the project's and the client's own. */
export const STACK_TAG_KEYS = {
  project: 'sftpctl:project',
  environment: 'sftpctl:environment',
  stack: 'sftpctl:stack',
  client: 'sftpctl:client',
} as const;

/**
 * Renders every stack of one environment: assets, network, server, then one stack per client. Pure: no I/O, no
 * clock, no randomness; the same config always gives byte-identical bodies and manifest. Security findings and
 * limit checks come with each stack; `blockingFindings` says which of them stop a synth.
 */
export function synthesize(config: Config, env: string, options: SynthOptions): SynthResult {
  const environment = config.environments[env];
  if (!environment) {
    const known = Object.keys(config.environments);
    throw new UsageError(
      'ENV_UNKNOWN',
      `environment "${env}" is not defined in the config`,
      known.length > 0 ? `Defined environments: ${known.join(', ')}.` : 'Add one under environments:.',
    );
  }
  const ctx = envContext(config, environment);
  const suppressions = suppressionsFor(config, env);
  const collisions = checkNameCollisions(config, env);
  const baseTags = { ...config.tags, [STACK_TAG_KEYS.project]: config.project, [STACK_TAG_KEYS.environment]: env };

  const finish = (
    name: string,
    kind: StackKind,
    builder: TemplateBuilder,
    client?: { name: string; tags?: Record<string, string> },
  ) => {
    const template = builder.template;
    const security = checkTemplate(template, kind, suppressions);
    annotateSuppressions(template, security);
    const body = serialize(template, options.format);
    const bytes = byteLength(body);
    const limits: LimitFinding[] = [
      ...checkTemplateLimits(template, bytes, { inlineOnly: kind === 'assets' }),
      ...(collisions.get(name) ?? []),
    ];
    const findings: Finding[] = [
      ...security.map((finding: SecurityFinding): Finding => ({ kind: 'security', ...finding })),
      ...limits.map((finding): Finding => ({ kind: 'limit', ...finding })),
    ];
    const parameters = builder.parameterSources;
    const dependsOn = [
      ...new Set(Object.values(parameters).flatMap((source) => (source.from === 'output' ? [source.stack] : []))),
    ];
    const stack: SynthStack = {
      name,
      kind,
      ...(client ? { client: client.name } : {}),
      fileName: `${name}.template.${options.format}`,
      template,
      body,
      bytes,
      resources: Object.keys(template.Resources).length,
      hash: sha256(body),
      findings,
      needsUpload: bytes > LIMITS.inlineTemplateBytes,
      parameters,
      outputs: Object.keys(template.Outputs ?? {}),
      dependsOn,
      tags: {
        ...baseTags,
        ...(client?.tags ?? {}),
        [STACK_TAG_KEYS.stack]: kind,
        ...(client ? { [STACK_TAG_KEYS.client]: client.name } : {}),
      },
      terminationProtection: environment.protected,
    };
    return stack;
  };

  const stacks: SynthStack[] = [
    finish(ctx.stacks.assets, 'assets', renderAssets(ctx)),
    finish(ctx.stacks.network, 'network', renderNetwork(ctx)),
    finish(ctx.stacks.server, 'server', renderServer(ctx)),
  ];
  for (const client of clientsInEnvironment(config, env)) {
    stacks.push(
      finish(clientStackName(config.project, env, client.name), 'client', renderClient(ctx, client), {
        name: client.name,
        ...(client.tags ? { tags: client.tags } : {}),
      }),
    );
  }

  const deployOrder = waves(stacks);
  const manifest: SynthManifest = {
    manifestVersion: 1,
    project: config.project,
    environment: env,
    region: environment.region,
    account: environment.account ?? null,
    format: options.format,
    deployOrder,
    stacks: stacks.map((stack) => ({
      name: stack.name,
      kind: stack.kind,
      client: stack.client ?? null,
      file: stack.fileName,
      hash: stack.hash,
      bytes: stack.bytes,
      resources: stack.resources,
      needsUpload: stack.needsUpload,
      terminationProtection: stack.terminationProtection,
      dependsOn: stack.dependsOn,
      parameters: stack.parameters,
      outputs: stack.outputs,
      tags: stack.tags,
      findings: {
        unsuppressed: stack.findings.filter((finding) => finding.suppressed === undefined).length,
        suppressed: stack.findings.filter((finding) => finding.suppressed !== undefined).length,
        errors: stack.findings.filter((finding) => finding.level === 'error' && finding.suppressed === undefined)
          .length,
      },
    })),
  };
  return {
    environment: env,
    format: options.format,
    stacks,
    deployOrder,
    manifest,
    manifestBody: serialize(manifest, 'json'),
  };
}

/** Topological waves over `dependsOn`, each wave in stack order. */
function waves(stacks: readonly SynthStack[]): string[][] {
  const done = new Set<string>();
  const names = new Set(stacks.map((stack) => stack.name));
  const order: string[][] = [];
  let remaining = [...stacks];
  while (remaining.length > 0) {
    const wave = remaining.filter((stack) => stack.dependsOn.every((dep) => done.has(dep) || !names.has(dep)));
    if (wave.length === 0)
      throw new Error(`stack dependency cycle among ${remaining.map((stack) => stack.name).join(', ')}`);
    order.push(wave.map((stack) => stack.name));
    for (const stack of wave) done.add(stack.name);
    remaining = remaining.filter((stack) => !wave.includes(stack));
  }
  return order;
}

/**
 * The findings that make `synth` fail: limit errors always (the deploy would be refused); with `strict`, every
 * unsuppressed finding, security rules included.
 */
export function blockingFindings(
  result: SynthResult,
  options: { strict: boolean },
): { stack: string; finding: Finding }[] {
  return result.stacks.flatMap((stack) =>
    stack.findings
      .filter(
        (finding) =>
          finding.suppressed === undefined &&
          (options.strict || (finding.kind === 'limit' && finding.level === 'error')),
      )
      .map((finding) => ({ stack: stack.name, finding })),
  );
}
