// `npm run demo`: installs what is missing on a fresh clone, then runs `sluice demo`.
import { spawnSync } from 'node:child_process';
import { ensureDeps } from './ensure-deps.mjs';

ensureDeps();
// Ctrl-C reaches the demo too; let it shut down cleanly and report its own exit.
process.on('SIGINT', () => {});
const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
process.exit(result.status ?? (result.signal === 'SIGINT' ? 0 : 1));
