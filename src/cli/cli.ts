import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigProblemsError, loadConfigFiles, type ConnectorSpec, type SluiceConfig } from '../config/index.js';
import { describeError, installShutdownHandlers, runConnectors, type ConnectorReport } from '../engine/index.js';
import { ConfigError, OffsetError, PrerequisiteError } from '../errors.js';
import type { SourceOffset } from '../events/change-event.js';
import { logger, type Logger } from '../observability/logger.js';
import type { Problem } from '../sources/source.js';
import { ExitCode } from './exit-codes.js';
import { createOffsetAdmin } from './offset-admin.js';
import { createSinkFactory, loadConverterFactory, loadSourceFactory, WiringError } from './wiring.js';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  logger,
  env: process.env,
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const HELP = {
  main: `Usage: sluice <command> [options]

Change-data-capture from Postgres, MySQL and MariaDB in Debezium's envelope.

Commands:
  run <config…>        run the connectors of one or more config files until SIGTERM/SIGINT
  validate <config…>   check the config and each database's CDC prerequisites; list every problem
  offsets <config…>    show, set or reset a connector's stored offset
  demo                 a self-contained demo
  help [command]       this help, or a command's

Options:
  -h, --help           show help (also: sluice <command> --help)
  -v, --version        print the version

A config file is a Sluice config (YAML or JSON) or a Debezium connector config as posted to Kafka Connect.
See docs/configuration.md and docs/cli.md. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error,
3 database prerequisites not met, 4 stored offset unusable.
`,
  run: `Usage: sluice run <config…> [--log-level <level>]

Runs every connector defined in the config files, each isolated (one failing does not stop the others).
Retriable failures (lost connections) restart a connector with exponential backoff; other failures stop it.
SIGTERM or SIGINT stops gracefully: the commit cycle in flight finishes, sinks close, sources stop. A second
signal exits at once.

The config is checked completely before anything is started: a bad config exits 2 without connecting anywhere.

Options:
  --log-level <level>  fatal, error, warn, info (default), debug, trace, silent (logs go to stderr)
  -h, --help           show this help

Exit codes: 0 all connectors stopped cleanly, 1 a connector failed, 2 bad config or usage,
3 a connector's database is not set up for CDC, 4 a stored offset cannot be resumed from.
`,
  validate: `Usage: sluice validate <config…> [--config-only]

Checks the config files (every problem at once, with its field path and the allowed values), then asks each
connector's source to check its database prerequisites (logical replication, binlog format, grants...) without
changing anything, and lists every problem found.

Options:
  --config-only        check the config files only; do not connect to the databases
  -h, --help           show this help

Exit codes: 0 all good (warnings may be listed), 2 the config is invalid, 3 a database is not ready for CDC
(or could not be reached), 1 the check itself failed.
`,
  offsets: `Usage: sluice offsets <config…> [--connector <name>] [--set <json> | --reset]

Shows the stored offset of every connector of the config (or of one), as JSON on stdout. With --set, replaces
a connector's offset with the given JSON object; with --reset, removes it, so the next start behaves as for a
new connector (snapshot.mode decides). Stop the connector first: a running one overwrites the offset.

Supported stores: the offsets file of the stdout and file sinks (offsets.file). The Kafka offsets topic is
not supported yet.

Options:
  --connector <name>   the connector (required with --set/--reset when the config has several)
  --set <json>         store this offset, e.g. '{"lsn":"0/16B3748"}'
  --reset              remove the stored offset
  -h, --help           show this help

Exit codes: 0 done, 2 usage or config error, 1 the store could not be read or written.
`,
  demo: `Usage: sluice demo [options]

Runs the self-contained demo (see docs/cli.md). Options are the demo's own; see its output.
`,
} as const;

type CommandName = 'run' | 'validate' | 'offsets' | 'demo';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;

function parse(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  minPositionals: number,
  command: CommandName,
): { help: boolean; values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as {
      values: Values;
      positionals: string[];
    };
  } catch (err) {
    throw new UsageError(`sluice ${command}: ${(err as Error).message}`);
  }
  if (parsed.values.help === true) return { help: true, ...parsed };
  if (parsed.positionals.length < minPositionals) throw new UsageError(`sluice ${command}: a config file is required`);
  return { help: false, ...parsed };
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.err(HELP.main);
        return ExitCode.USAGE;
      case '-h':
      case '--help':
        io.out(HELP.main);
        return ExitCode.OK;
      case 'help': {
        const topic = rest[0];
        if (topic === undefined) io.out(HELP.main);
        else if (topic in HELP && topic !== 'main') io.out(HELP[topic as CommandName]);
        else throw new UsageError(`sluice help: unknown command "${topic}"`);
        return ExitCode.OK;
      }
      case '-v':
      case '--version':
        io.out(`sluice ${version()}\n`);
        return ExitCode.OK;
      case 'run':
        return await runCommand(rest, io);
      case 'validate':
        return await validateCommand(rest, io);
      case 'offsets':
        return await offsetsCommand(rest, io);
      case 'demo':
        return await demoCommand(rest, io);
      default:
        throw new UsageError(`sluice: unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\nRun "sluice --help" for usage.\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof ConfigProblemsError) {
      io.err(`${err.message}\n`);
      return ExitCode.USAGE;
    }
    if (err instanceof ConfigError) {
      io.err(`invalid configuration: ${err.message}\n`);
      return ExitCode.USAGE;
    }
    io.err(`sluice ${command ?? ''}: ${describeError(err)}\n`);
    return err instanceof OffsetError ? ExitCode.OFFSET : ExitCode.FAILURE;
  }
}

function setLogLevel(level: unknown, io: CliIo): void {
  if (level === undefined) return;
  if (typeof level !== 'string' || !LOG_LEVELS.includes(level)) {
    throw new UsageError(`--log-level must be one of: ${LOG_LEVELS.join(', ')}`);
  }
  io.logger.level = level;
}

function load(paths: readonly string[], io: CliIo): Promise<SluiceConfig> {
  return loadConfigFiles(paths, { env: io.env, logger: io.logger });
}

/**
 * Builds each connector's converters once (no network) so their own settings (decimal.format, subject name
 * strategy...) are checked with the rest of the config, before anything starts. Returns the problems found.
 */
async function converterProblems(config: SluiceConfig, io: CliIo): Promise<string[]> {
  const createConverter = await loadConverterFactory();
  const problems: string[] = [];
  for (const spec of config.connectors) {
    try {
      const converter = await createConverter(spec, { name: spec.name, logger: io.logger, attempt: 0 });
      await converter.close?.();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(`${spec.origin}: ${err.message}`);
    }
  }
  return problems;
}

/** The exit code for what the connectors ended with. */
export function exitCodeFor(reports: readonly ConnectorReport[]): number {
  const failed = reports.filter((r) => r.status.state === 'failed');
  if (failed.length === 0) return ExitCode.OK;
  const errors = failed.map((r) => (r.status.state === 'failed' ? r.status.error : undefined));
  if (errors.every((e) => e instanceof PrerequisiteError)) return ExitCode.PREREQUISITES;
  if (errors.every((e) => e instanceof OffsetError)) return ExitCode.OFFSET;
  return ExitCode.FAILURE;
}

async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { help, values, positionals } = parse(args, { 'log-level': { type: 'string' } }, 1, 'run');
  if (help) {
    io.out(HELP.run);
    return ExitCode.OK;
  }
  setLogLevel(values['log-level'], io);
  const config = await load(positionals, io); // throws before anything is started
  const converterIssues = await converterProblems(config, io);
  if (converterIssues.length > 0) {
    io.err(`invalid configuration (${converterIssues.length} problem(s)):\n${converterIssues.map((p) => `  - ${p}\n`).join('')}`);
    return ExitCode.USAGE;
  }
  const factories = {
    createSource: await loadSourceFactory(),
    createConverter: await loadConverterFactory(),
    createSink: createSinkFactory(config, io.logger),
  };
  io.logger.info(
    { connectors: config.connectors.map((c) => c.name), sink: config.sink.type },
    `starting ${config.connectors.length} connector(s)`,
  );
  const engine = runConnectors<ConnectorSpec>(config.connectors, {
    ...factories,
    logger: io.logger,
    onStatus: (name, status) => {
      if (status.state === 'running') io.logger.info({ connector: name }, 'connector running');
    },
  });
  const uninstall = installShutdownHandlers(engine, { logger: io.logger });
  try {
    const reports = await engine.done;
    for (const r of reports) {
      const s = r.status;
      const text = s.state === 'failed' || s.state === 'stopped' ? `${s.state}: ${s.reason}` : s.state;
      io.logger.info({ connector: r.name, commits: r.stats.commits, events: r.stats.events, restarts: r.stats.restarts }, text);
    }
    const failed = reports.filter((r) => r.status.state === 'failed');
    for (const r of failed) if (r.status.state === 'failed') io.err(`connector ${r.name} failed: ${r.status.reason}\n`);
    return exitCodeFor(reports);
  } finally {
    uninstall();
  }
}

async function validateCommand(args: string[], io: CliIo): Promise<number> {
  const { help, values, positionals } = parse(args, { 'config-only': { type: 'boolean' } }, 1, 'validate');
  if (help) {
    io.out(HELP.validate);
    return ExitCode.OK;
  }
  let config: SluiceConfig;
  try {
    config = await load(positionals, io);
  } catch (err) {
    if (err instanceof ConfigProblemsError) {
      io.out(`configuration: ${err.problems.length} problem(s)\n${err.problems.map((p) => `  error: ${p}\n`).join('')}`);
      return ExitCode.USAGE;
    }
    throw err;
  }
  const converterIssues = await converterProblems(config, io);
  if (converterIssues.length > 0) {
    io.out(`configuration: ${converterIssues.length} problem(s)\n${converterIssues.map((p) => `  error: ${p}\n`).join('')}`);
    return ExitCode.USAGE;
  }
  io.out(`configuration: ok (${config.connectors.length} connector(s), sink: ${config.sink.type})\n`);
  for (const w of config.warnings) io.out(`  warning: ${w}\n`);
  if (values['config-only'] === true) return ExitCode.OK;

  const createSource = await loadSourceFactory();
  let code: number = ExitCode.OK;
  for (const spec of config.connectors) {
    const problems: Problem[] = [];
    try {
      const source = await createSource(spec, { name: spec.name, logger: io.logger.child({ connector: spec.name }), attempt: 0 });
      try {
        problems.push(...(await source.validate()));
      } finally {
        await source.stop().catch(() => undefined);
      }
    } catch (err) {
      problems.push({ severity: 'error', message: `could not check the database: ${describeError(err)}` });
    }
    const errors = problems.filter((p) => p.severity === 'error').length;
    io.out(`${spec.name} (${spec.kind}): ${errors === 0 ? 'ok' : `${errors} problem(s)`}\n`);
    for (const p of problems) io.out(`  ${p.severity}: ${p.message}\n`);
    if (errors > 0) code = ExitCode.PREREQUISITES;
  }
  return code;
}

async function offsetsCommand(args: string[], io: CliIo): Promise<number> {
  const { help, values, positionals } = parse(
    args,
    { connector: { type: 'string' }, set: { type: 'string' }, reset: { type: 'boolean' } },
    1,
    'offsets',
  );
  if (help) {
    io.out(HELP.offsets);
    return ExitCode.OK;
  }
  if (values.set !== undefined && values.reset === true) throw new UsageError('sluice offsets: use either --set or --reset, not both');
  let newOffset: SourceOffset | undefined;
  if (values.set !== undefined) {
    try {
      newOffset = JSON.parse(String(values.set)) as SourceOffset;
    } catch (err) {
      throw new UsageError(`sluice offsets: --set is not valid JSON: ${(err as Error).message}`);
    }
    if (newOffset === null || typeof newOffset !== 'object' || Array.isArray(newOffset)) {
      throw new UsageError('sluice offsets: --set must be a JSON object (the offset as `sluice offsets` shows it)');
    }
  }
  const config = await load(positionals, io);
  const names = config.connectors.map((c) => c.name);
  let targets = names;
  if (values.connector !== undefined) {
    if (typeof values.connector !== 'string' || !names.includes(values.connector)) {
      throw new UsageError(`sluice offsets: no connector named "${values.connector}" in the config; connectors: ${names.join(', ')}`);
    }
    targets = [values.connector];
  } else if ((newOffset !== undefined || values.reset === true) && names.length > 1) {
    throw new UsageError(`sluice offsets: the config has several connectors; name one with --connector (${names.join(', ')})`);
  }
  let admin;
  try {
    admin = await createOffsetAdmin(config);
  } catch (err) {
    if (err instanceof WiringError) {
      io.err(`sluice offsets: ${err.message}\n`);
      return ExitCode.USAGE;
    }
    throw err;
  }
  try {
    const target = targets[0] as string;
    if (newOffset !== undefined) {
      await admin.set(target, newOffset);
      io.err(`stored the offset of ${target} in ${admin.description}\n`);
    } else if (values.reset === true) {
      const removed = await admin.reset(target);
      io.err(removed ? `removed the offset of ${target} from ${admin.description}\n` : `${target} had no stored offset in ${admin.description}\n`);
    }
    const shown: Record<string, SourceOffset | null> = {};
    for (const name of targets) shown[name] = await admin.get(name);
    io.out(`${JSON.stringify(shown, null, 2)}\n`);
    return ExitCode.OK;
  } finally {
    await admin.close();
  }
}

async function demoCommand(args: string[], _io: CliIo): Promise<number> {
  // Imported on demand: the demo brings the embedded Postgres launcher with it.
  const { runDemo } = await import('./demo.js');
  return runDemo(args);
}
