/**
 * Kafka for tests.
 *
 * By default this is librdkafka's mock cluster (Confluent's implementation of
 * the broker protocol), patched so that transactions behave for
 * `read_committed` readers (see kafka/librdkafka-mock-transactions.patch),
 * built once into .cache/mock-broker/ and run as a child process that we
 * drive through a line-based control channel on its stdin (fault injection).
 *
 * With KAFKA_BOOTSTRAP_SERVERS set, tests run against that (real) cluster
 * instead, and the fault-injection methods throw.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface KafkaInstance {
  readonly bootstrapServers: string;
  /** true when KAFKA_BOOTSTRAP_SERVERS is set: a real cluster, no fault injection */
  readonly external: boolean;
  readonly brokerIds: readonly number[];
  /** Takes a broker down: connections are closed and it stops listening. */
  brokerDown(id: number): Promise<void>;
  /** Brings a broker back up on the same port. */
  brokerUp(id: number): Promise<void>;
  /**
   * The next requests with this API key (to any broker) fail with these error
   * codes, one per request, in order. Codes are Kafka's (e.g. 6 for
   * NOT_LEADER_OR_FOLLOWER) or librdkafka's local ones (-195 closes the
   * connection).
   */
  pushRequestErrors(apiKey: number, errorCodes: readonly number[]): Promise<void>;
  /** Moves a partition's leadership to another broker. */
  setPartitionLeader(topic: string, partition: number, brokerId: number): Promise<void>;
  /**
   * Sends a raw control command to the test broker (see kafka/mock-broker.c,
   * e.g. `broker-rtt 1 500`, `create-topic t 3 2`) and resolves with its
   * reply text after "OK".
   */
  control(command: string): Promise<string>;
  stop(): Promise<void>;
}

const supportDir = dirname(fileURLToPath(import.meta.url));
const buildScript = join(supportDir, 'kafka', 'build-mock-broker.sh');

let building: Promise<string> | undefined;

/**
 * Builds the test broker if needed and resolves with the binary's path. The
 * build script caches by content hash, so after the first build this only
 * checks the cache (milliseconds); concurrent calls share one run.
 */
export function ensureMockBrokerBuilt(): Promise<string> {
  building ??= runBuildScript().finally(() => {
    building = undefined;
  });
  return building;
}

async function runBuildScript(): Promise<string> {
  // stderr is inherited: a cold build takes a while and says so.
  const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) {
    throw new Error(`building the Kafka test broker failed (${signal ?? `exit code ${code}`}); see the output above`);
  }
  const path = stdout.trim().split('\n').pop();
  if (!path) throw new Error('the Kafka test broker build printed no binary path');
  return path;
}

/**
 * Starts a Kafka for a test file: the local test broker with `brokers` brokers
 * (default 3, ids 1..n), or the cluster named by KAFKA_BOOTSTRAP_SERVERS.
 * Set SLUICE_MOCK_BROKER_DEBUG to librdkafka debug contexts (e.g. "mock" or
 * "all") to see the broker's log on stderr.
 */
export async function startKafka(options: { brokers?: number } = {}): Promise<KafkaInstance> {
  const external = process.env['KAFKA_BOOTSTRAP_SERVERS'];
  if (external) return new ExternalKafka(external);

  const brokers = options.brokers ?? 3;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 64) {
    throw new Error(`brokers must be an integer from 1 to 64, not ${brokers}`);
  }
  // SLUICE_MOCK_BROKER_BIN runs another build of the broker (e.g. a variant
  // of the patch being worked on) instead of the cached one.
  const binary = process.env['SLUICE_MOCK_BROKER_BIN'] || (await ensureMockBrokerBuilt());
  return MockKafka.start(binary, brokers);
}

class ExternalKafka implements KafkaInstance {
  readonly external = true;
  readonly brokerIds: readonly number[] = [];
  constructor(readonly bootstrapServers: string) {}

  private unsupported(what: string): Promise<never> {
    return Promise.reject(
      new Error(
        `${what} needs the local Kafka test broker; KAFKA_BOOTSTRAP_SERVERS is set, so this run uses an ` +
          'external cluster without fault injection (skip this test when kafka.external is true)',
      ),
    );
  }
  brokerDown(): Promise<void> {
    return this.unsupported('brokerDown()');
  }
  brokerUp(): Promise<void> {
    return this.unsupported('brokerUp()');
  }
  pushRequestErrors(): Promise<void> {
    return this.unsupported('pushRequestErrors()');
  }
  setPartitionLeader(): Promise<void> {
    return this.unsupported('setPartitionLeader()');
  }
  control(): Promise<string> {
    return this.unsupported('control()');
  }
  async stop(): Promise<void> {}
}

type BrokerProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** Streams of a child process that should not keep Node alive while idle. */
interface Refable {
  ref(): void;
  unref(): void;
}
function refable(stream: unknown): Refable | undefined {
  const s = stream as Partial<Refable> | null;
  return s && typeof s.ref === 'function' && typeof s.unref === 'function' ? (s as Refable) : undefined;
}

class MockKafka implements KafkaInstance {
  readonly external = false;
  readonly brokerIds: readonly number[];
  private readonly waiters: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private exited: Error | undefined;
  private stderrTail: string[] = [];
  private busy = 0;
  private readonly exitPromise: Promise<void>;

  private constructor(
    private readonly child: BrokerProcess,
    readonly bootstrapServers: string,
    brokers: number,
  ) {
    this.brokerIds = Array.from({ length: brokers }, (_, i) => i + 1);
    this.exitPromise = once(child, 'exit').then(() => undefined);
  }

  static async start(binary: string, brokers: number): Promise<MockKafka> {
    const debug = process.env['SLUICE_MOCK_BROKER_DEBUG'];
    const args = ['--brokers', String(brokers), ...(debug ? ['--debug', debug] : [])];
    // stdin is a pipe: the broker exits when it reads EOF, i.e. when we stop
    // it or when this process dies in any way.
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    const stderrTail: string[] = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (debug) process.stderr.write(chunk);
      stderrTail.push(...chunk.split('\n').filter(Boolean));
      stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
    });
    child.stdin.on('error', () => {}); // EPIPE if it died; reported through 'exit'

    const bootstrap = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('timed out waiting for BOOTSTRAP')), 30_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`Kafka test broker did not start: ${err.message}\n${stderrTail.join('\n')}`));
      };
      child.once('error', fail);
      child.once('exit', (code, signal) => fail(new Error(`exited (${signal ?? code})`)));
      lines.once('line', (line) => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        const m = /^BOOTSTRAP (\S+)$/.exec(line);
        if (m?.[1]) resolve(m[1]);
        else fail(new Error(`unexpected first line: ${line}`));
      });
    });

    const kafka = new MockKafka(child, bootstrap, brokers);
    kafka.stderrTail = stderrTail;
    lines.on('line', (line) => kafka.waiters.shift()?.resolve(line));
    child.on('exit', (code, signal) => {
      kafka.exited = new Error(
        `Kafka test broker exited (${signal ?? `code ${code}`})\n${kafka.stderrTail.join('\n')}`,
      );
      for (const w of kafka.waiters.splice(0)) w.reject(kafka.exited);
    });
    kafka.setIdle(true);
    return kafka;
  }

  /**
   * While no command is pending, the child (and its pipes) don't keep Node
   * alive: a test file that forgets stop() still exits, and then the broker
   * sees EOF on stdin and exits too.
   */
  private setIdle(idle: boolean): void {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr]) {
      const r = refable(handle);
      if (idle) r?.unref();
      else r?.ref();
    }
  }

  control(command: string): Promise<string> {
    if (/[\r\n]/.test(command)) return Promise.reject(new Error('control commands are one line'));
    const run = async (): Promise<string> => {
      if (this.exited) throw this.exited;
      this.busy++;
      this.setIdle(false);
      try {
        const reply = new Promise<string>((resolve, reject) => this.waiters.push({ resolve, reject }));
        this.child.stdin.write(`${command}\n`);
        const line = await reply;
        if (line === 'OK' || line.startsWith('OK ')) return line.slice(3);
        throw new Error(`Kafka test broker: "${command}" failed: ${line.replace(/^ERR /, '')}`);
      } finally {
        if (--this.busy === 0) this.setIdle(true);
      }
    };
    // One command at a time: replies carry no id, they come back in order.
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private checkBroker(id: number): void {
    if (!this.brokerIds.includes(id)) {
      throw new Error(`no broker ${id}: broker ids are ${this.brokerIds.join(', ')}`);
    }
  }

  async brokerDown(id: number): Promise<void> {
    this.checkBroker(id);
    await this.control(`broker-down ${id}`);
  }

  async brokerUp(id: number): Promise<void> {
    this.checkBroker(id);
    await this.control(`broker-up ${id}`);
  }

  async pushRequestErrors(apiKey: number, errorCodes: readonly number[]): Promise<void> {
    if (!Number.isInteger(apiKey) || apiKey < 0) throw new Error(`invalid API key ${apiKey}`);
    if (errorCodes.length === 0) return;
    if (!errorCodes.every(Number.isInteger)) throw new Error(`invalid error codes ${errorCodes.join(',')}`);
    await this.control(`push-errors ${apiKey} ${errorCodes.join(',')}`);
  }

  async setPartitionLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    this.checkBroker(brokerId);
    if (!/^[A-Za-z0-9._-]+$/.test(topic)) throw new Error(`invalid topic name "${topic}"`);
    await this.control(`partition-leader ${topic} ${partition} ${brokerId}`);
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.setIdle(false);
    this.child.stdin.end(); // EOF: the broker shuts down
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }
}
