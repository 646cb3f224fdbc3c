import { clientsInEnvironment } from '../core/config/resolve.js';
import { renderCostTable } from '../core/cost/format.js';
import { COST_INPUT_DEFAULTS, type CostInput, estimateMonthlyCost, type TransferProtocol } from '../core/cost/model.js';
import { loadPriceFile } from '../core/cost/price-file.js';
import { BUILT_IN_PRICES, resolveRegionPrices, TRANSFER_PROTOCOLS } from '../core/cost/prices.js';
import { UsageError } from '../core/errors.js';
import { environmentOf, loadConfig } from '../io/config-file.js';
import { readTextIfExists } from '../io/files.js';
import type { CommandContext } from './context.js';
import { splitList } from './options.js';

export interface CostOptions {
  uploadGbDay: string;
  downloadGbDay: string;
  storageGb: string;
  filesDay?: string;
  hoursPerMonth: string;
  protocols?: string;
  webApps: string;
  articleScope?: boolean;
  priceFile?: string;
}

/** Files a day when --files-day is not given: one per 10 MB transferred. */
const ASSUMED_FILE_MB = 10;

export async function cost(options: CostOptions, context: CommandContext): Promise<number> {
  const { config, file } = await loadConfig(context.globals.config, { cwd: context.cwd, checkKeys: false });
  const envName = environmentOf(config, context.globals.env);
  const env = config.environments[envName]!;

  const uploadGbPerDay = number(options.uploadGbDay, '--upload-gb-day');
  const downloadGbPerDay = number(options.downloadGbDay, '--download-gb-day');
  const filesPerDay =
    options.filesDay === undefined
      ? Math.ceil(((uploadGbPerDay + downloadGbPerDay) * 1024) / ASSUMED_FILE_MB)
      : number(options.filesDay, '--files-day');
  const input: CostInput = {
    ...COST_INPUT_DEFAULTS,
    region: env.region,
    protocols: options.protocols ? protocols(options.protocols) : env.transfer.protocols,
    endpointHoursPerMonth: number(options.hoursPerMonth, '--hours-per-month'),
    webAppsEnabled: number(options.webApps, '--web-apps'),
    elasticIps: env.vpc.azCount,
    clients: clientsInEnvironment(config, envName).map((client) => ({
      name: client.name,
      memoryMb: client.memory,
      hasUpload: client.upload != null,
      hasDownload: client.download != null,
      checksum: client.checksum !== 'none',
    })),
    traffic: { uploadGbPerDay, downloadGbPerDay, storageGb: number(options.storageGb, '--storage-gb'), filesPerDay },
    logRetentionDays: env.logRetentionDays,
  };

  let table = BUILT_IN_PRICES;
  if (options.priceFile) {
    const text = await readTextIfExists(options.priceFile);
    if (text === undefined)
      throw new UsageError(
        'FILE_NOT_FOUND',
        `--price-file: ${options.priceFile} does not exist.`,
        'Give the path of a YAML or JSON price file (see docs/cost.md).',
      );
    table = loadPriceFile(text, { fileName: options.priceFile });
  }
  const estimate = estimateMonthlyCost(input, resolveRegionPrices(env.region, table), {
    articleScope: Boolean(options.articleScope),
  });
  if (options.filesDay === undefined && filesPerDay > 0) {
    estimate.assumptions.push(
      `${filesPerDay} files a day per endpoint (one per ${ASSUMED_FILE_MB} MB transferred; set --files-day to change)`,
    );
  }

  const { output } = context;
  output.data({ environment: envName, config: file.displayPath, ...estimate });
  output.line(
    `Monthly cost of ${output.colors.bold(`${config.project}-${envName}`)} in ${env.region} (prices ${estimate.priceVersion}, taken ${estimate.takenOn}${options.priceFile ? `, overridden by ${options.priceFile}` : ''})`,
  );
  output.line();
  for (const line of renderCostTable(estimate)) output.line(line);
  return 0;
}

function number(value: string, flag: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) {
    throw new UsageError(
      'INVALID_FLAG',
      `${flag}: "${value}" is not a number.`,
      `Give ${flag} a number, like ${flag} 10.`,
    );
  }
  return parsed;
}

function protocols(value: string): TransferProtocol[] {
  return splitList(value).map((item) => {
    const protocol = item.toUpperCase() as TransferProtocol;
    if (!TRANSFER_PROTOCOLS.includes(protocol)) {
      throw new UsageError(
        'INVALID_FLAG',
        `--protocols: "${item}" is not a Transfer Family protocol.`,
        `Use a comma-separated list of ${TRANSFER_PROTOCOLS.join(', ')}.`,
      );
    }
    return protocol;
  });
}
