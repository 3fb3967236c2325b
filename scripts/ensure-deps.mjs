// Installs the project's npm dependencies on a fresh clone, so `npm run demo` and `npm test` work as the
// first command. The Kafka client is built from source against the system's OpenSSL/zlib/zstd/SASL
// (CKJS_LINKING=dynamic): its prebuilt download and its static fallback both need the internet.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const marker = join(root, 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release', 'confluent-kafka-javascript.node');

export function ensureDeps() {
  if (existsSync(join(root, 'node_modules', 'tsx')) && existsSync(marker)) return;
  const headers = ['/usr/include/openssl/ssl.h', '/usr/include/zstd.h', '/usr/include/sasl/sasl.h', '/usr/include/zlib.h'];
  const missing = headers.filter((h) => !existsSync(h));
  if (missing.length > 0) {
    console.error(
      `Building the Kafka client needs system headers that are missing (${missing.join(', ')}).\n` +
        'Install them with:\n  sudo apt-get install -y build-essential python3 libssl-dev zlib1g-dev libzstd-dev libsasl2-dev',
    );
    process.exit(2);
  }
  console.error('Installing dependencies (npm ci; the Kafka client builds from source, a few minutes the first time)...');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CKJS_LINKING: 'dynamic' },
  });
  if (result.status !== 0) {
    console.error('npm ci failed; see the output above.');
    process.exit(result.status ?? 1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDeps();
