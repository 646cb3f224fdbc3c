// Bundles each function handler with esbuild into a deterministic zip. Everything is bundled, the AWS SDK included
// (tree-shaken: only the clients and commands the handler imports): the runtime's own SDK is whatever version Lambda
// ships that week, the bundled one is the locked one the tests ran. Deterministic zip: fixed timestamps and order, so
// the same code gives the same bytes and the same content-hash key in the assets bucket.
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';

const OUT = 'dist/lambda';
await rm(OUT, { recursive: true, force: true });
await mkdir(OUT, { recursive: true });
const results = {};
for (const name of ['ingress', 'egress', 'identity', 'close-default-sg']) {
  const bundle = await build({
    entryPoints: [`src/lambda/${name}.ts`],
    bundle: true,
    platform: 'node',
    // The runtime is nodejs24.x (src/templates/client-pipeline.ts); node20 syntax runs there and on the Node 20 that
    // runs the harness (test/lambda/harness), which executes these very bytes.
    target: 'node20',
    format: 'esm',
    outfile: `${OUT}/${name}/${name}.mjs`,
    // The SDK's browser and React Native variants are never wanted; `main` before `module` keeps CJS-only deps sane.
    mainFields: ['module', 'main'],
    minify: true,
    legalComments: 'linked',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    write: false,
    logLevel: 'warning',
  });
  const files = bundle.outputFiles
    .map((file) => ({
      name: file.path.slice(file.path.lastIndexOf(`${name}/`) + name.length + 1),
      data: Buffer.from(file.contents),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const zip = deterministicZip(files);
  const sha256 = createHash('sha256').update(zip).digest('hex');
  await writeFile(`${OUT}/${name}.zip`, zip);
  results[name] = {
    file: `${OUT}/${name}.zip`,
    bytes: zip.length,
    sha256,
    key: `functions/${name}-${sha256.slice(0, 16)}.zip`,
    handler: `${name}.handler`,
  };
}
await writeFile(`${OUT}/manifest.json`, `${JSON.stringify(results, null, 2)}\n`);
if (!process.argv.includes('--quiet'))
  for (const [name, result] of Object.entries(results))
    console.log(`${name}: ${result.file} ${result.bytes} bytes sha256 ${result.sha256.slice(0, 16)}…`);

/** A zip with DOS time 1980-01-01 00:00, no extra fields, files in name order: byte-identical for identical input. */
function deterministicZip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const compressed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(0x0800, 6);
    header.writeUInt16LE(8, 8);
    header.writeUInt16LE(0, 10);
    header.writeUInt16LE(0x21, 12);
    header.writeUInt32LE(crc, 14);
    header.writeUInt32LE(compressed.length, 18);
    header.writeUInt32LE(data.length, 22);
    header.writeUInt16LE(nameBytes.length, 26);
    header.writeUInt16LE(0, 28);
    locals.push(header, nameBytes, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + compressed.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
}

function crc32(data) {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
