#!/usr/bin/env node
import('../dist/cli.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    process.stderr.write('sftpctl is not built yet: run `npm run build` in the sftpctl folder first.\n');
    process.exit(3);
  }
  throw error;
});
