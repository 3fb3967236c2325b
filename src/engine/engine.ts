import { logger as processLogger, type Logger } from '../observability/logger.js';
import { ConnectorRunner, type RunnerOptions } from './connector-runner.js';
import type { ConnectorStats, ConnectorStatus, EngineConnectorSpec, EngineFactories } from './types.js';

export interface EngineOptions<S extends EngineConnectorSpec> extends EngineFactories<S> {
  readonly logger?: Logger;
  readonly onStatus?: (name: string, status: ConnectorStatus) => void;
  readonly validateOnStart?: boolean;
  readonly shutdownTimeoutMs?: number;
  readonly random?: () => number;
}

export interface ConnectorReport {
  readonly name: string;
  readonly status: ConnectorStatus;
  readonly stats: ConnectorStats;
}

export interface Engine {
  /** A snapshot of every connector's status and counters. */
  report(): ConnectorReport[];
  status(name: string): ConnectorStatus | undefined;
  /** Graceful stop of every connector (in parallel); resolves when all are stopped. Idempotent. */
  stop(): Promise<ConnectorReport[]>;
  /** Stops one connector; the others keep running. */
  stopConnector(name: string): Promise<ConnectorStatus | undefined>;
  /** Resolves when every connector has stopped or failed (it never rejects). */
  readonly done: Promise<ConnectorReport[]>;
}

/**
 * Runs several connectors in one process, each isolated: its own source, converter, sink, queue and restart
 * loop, so one failing (or restarting) never stops another.
 */
export function runConnectors<S extends EngineConnectorSpec>(specs: readonly S[], options: EngineOptions<S>): Engine {
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new Error(`duplicate connector name ${s.name}`);
    names.add(s.name);
  }
  const logger = options.logger ?? processLogger;
  const runnerOptions: RunnerOptions<S> = { ...options, logger };
  const runners = specs.map((spec) => new ConnectorRunner(spec, runnerOptions));
  const report = (): ConnectorReport[] => runners.map((r) => ({ name: r.name, status: r.status, stats: r.statistics }));
  const done = Promise.all(runners.map((r) => r.run())).then(report);
  let stopping: Promise<ConnectorReport[]> | null = null;
  return {
    report,
    status: (name) => runners.find((r) => r.name === name)?.status,
    stop() {
      stopping ??= Promise.all(runners.map((r) => r.stop())).then(report);
      return stopping;
    },
    async stopConnector(name) {
      return runners.find((r) => r.name === name)?.stop();
    },
    done,
  };
}

export interface ShutdownOptions {
  readonly logger?: Logger;
  readonly signals?: readonly NodeJS.Signals[];
  /** Called on a second signal while stopping; default `process.exit(130)`. */
  readonly forceExit?: () => void;
}

/**
 * SIGTERM / SIGINT → `engine.stop()` (graceful: in-flight commit cycles finish, sinks close, sources stop).
 * A second signal while stopping exits at once. Returns a function that removes the handlers.
 */
export function installShutdownHandlers(engine: Engine, options: ShutdownOptions = {}): () => void {
  const logger = options.logger ?? processLogger;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal }, 'second signal while stopping; exiting now');
      (options.forceExit ?? (() => process.exit(130)))();
      return;
    }
    received = true;
    logger.info({ signal }, 'stopping connectors (send the signal again to exit at once)');
    void engine.stop();
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
