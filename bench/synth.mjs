// Synth benchmark: renders an environment with 1, 50 and 500 clients and reports time and sizes.
// The TypeScript sources are bundled with esbuild into a temporary module first, so this measures the renderer,
// not a TypeScript loader. Run: node bench/synth.mjs [--runs N]
import { stringify } from 'yaml';
import { importTypeScript } from './lib.mjs';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const SIZES = [1, 50, 500];

const { synthesize, blockingFindings, validateConfigText } = await importTypeScript('synth', {
  'src/templates/synthesize.ts': ['synthesize', 'blockingFindings'],
  'src/core/config/validate.ts': ['validateConfigText'],
});

const rows = [];
for (const count of SIZES) {
  const config = await benchConfig(validateConfigText, count);
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
      clients: count,
      format,
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

async function benchConfig(validateConfigText, count) {
  const clients = Array.from({ length: count }, (_, index) => ({
    name: `partner-${String(index).padStart(4, '0')}`,
    allowedIps: [`198.18.${Math.floor(index / 250)}.${(index % 250) + 1}`],
    requireEncryption: index % 2 === 0,
    memory: 1024,
    upload: { sshKeys: [] },
    download: { sshKeys: [] },
  }));
  const text = stringify({
    project: 'bench',
    defaults: { region: 'eu-west-2', vpc: { cidr: '10.40.0.0/24', azCount: 3 }, securityGroupRuleLimit: 1000 },
    environments: { prod: { protected: true } },
    clients,
  });
  const result = await validateConfigText(text, 'bench.yaml');
  if (!result.config)
    throw new Error(`bench config is invalid: ${result.errors.map((error) => error.message).join('; ')}`);
  return result.config;
}
