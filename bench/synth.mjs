// Synth benchmark: renders an environment with 1, 50 and 500 clients (service-managed users, one CIDR each) and, in
// `lambda` identity mode (SFTP + FTPS, two CIDRs each, open security group), 500 and 1,000 partners; reports the
// time of `config validate` and of synth, and the sizes.
// The TypeScript sources are bundled with esbuild into a temporary module first, so this measures the renderer,
// not a TypeScript loader. Run: node bench/synth.mjs [--runs N]
import { stringify } from 'yaml';
import { importTypeScript } from './lib.mjs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const CASES = [
  { mode: 'service-managed', clients: 1 },
  { mode: 'service-managed', clients: 50 },
  { mode: 'service-managed', clients: 500 },
  { mode: 'lambda', clients: 500 },
  { mode: 'lambda', clients: 1000 },
];

const { synthesize, blockingFindings, validateConfigText } = await importTypeScript('synth', {
  'src/templates/synthesize.ts': ['synthesize', 'blockingFindings'],
  'src/core/config/validate.ts': ['validateConfigText'],
});

const rows = [];
for (const { mode, clients: count } of CASES) {
  const text = benchConfigText(mode, count);
  const validateTimes = [];
  let config;
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    const validated = await validateConfigText(text, 'bench.yaml');
    validateTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (!validated.config || validated.warnings.length > 0)
      throw new Error(
        `bench config is not clean: ${[...validated.errors, ...validated.warnings].map((p) => p.message).join('; ')}`,
      );
    config = validated.config;
  }
  validateTimes.sort((a, b) => a - b);
  for (const format of ['yaml', 'json']) {
    const times = [];
    let result;
    for (let run = 0; run < RUNS; run++) {
      const start = process.hrtime.bigint();
      result = synthesize(config, 'prod', { format });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    const clients = result.stacks.filter((stack) => stack.kind === 'client');
    const network = result.stacks.find((stack) => stack.kind === 'network');
    const largest = clients.reduce((max, stack) => (stack.bytes > max.bytes ? stack : max), clients[0]);
    const blocking = blockingFindings(result, { strict: true }).length;
    rows.push({
      mode,
      clients: count,
      format,
      'validate ms': validateTimes[Math.floor(validateTimes.length / 2)].toFixed(1),
      'median ms': times[Math.floor(times.length / 2)].toFixed(1),
      'ms/client': (times[Math.floor(times.length / 2)] / count).toFixed(2),
      stacks: result.stacks.length,
      'total KiB': (result.stacks.reduce((sum, stack) => sum + stack.bytes, 0) / 1024).toFixed(0),
      'client bytes (max)': largest.bytes,
      'client resources (max)': Math.max(...clients.map((stack) => stack.resources)),
      'network bytes': network.bytes,
      uploads: result.stacks.filter((stack) => stack.needsUpload).length,
      'strict findings': blocking,
    });
  }
}
console.log(`sftpctl synth benchmark (median of ${RUNS} runs, Node ${process.version})`);
console.table(rows);

function benchConfigText(mode, count) {
  const lambda = mode === 'lambda';
  const clients = Array.from({ length: count }, (_, index) => {
    const host = `${Math.floor(index / 250)}.${(index % 250) + 1}`;
    return {
      name: `partner-${String(index).padStart(4, '0')}`,
      allowedIps: lambda ? [`198.18.${host}`, `198.19.${host}`] : [`198.18.${host}`],
      requireEncryption: index % 2 === 0,
      memory: 1024,
      upload: { sshKeys: [] },
      download: { sshKeys: [] },
    };
  });
  const identity = lambda
    ? {
        identity: { mode: 'lambda', securityGroup: 'open' },
        transfer: {
          protocols: ['SFTP', 'FTPS'],
          certificate: 'arn:aws:acm:eu-west-2:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
        },
      }
    : { securityGroupRuleLimit: 1000 };
  return stringify({
    project: 'bench',
    defaults: { region: 'eu-west-2', vpc: { cidr: '10.40.0.0/24', azCount: 3 }, ...identity },
    environments: { prod: { protected: true } },
    clients,
  });
}
