// The `sluice` command (bin/sluice.js imports this file through tsx). The logic lives in cli.ts.
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a client library left a handle open; the unref'd timer never delays a clean exit.
setTimeout(() => process.exit(code), 3000).unref();
