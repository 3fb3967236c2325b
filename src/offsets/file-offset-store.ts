import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SourceOffset } from '../events/change-event.js';
import { OffsetError } from '../errors.js';

/** Where the stdout and file sinks keep each connector's last committed offset. */
export interface LocalOffsetStore {
  get(connector: string): Promise<SourceOffset | null>;
  /** Durable when it resolves. */
  set(connector: string, offset: SourceOffset): Promise<void>;
  /** Forgets the connector's offset (its next start follows `snapshot.mode` as if new); true when one was stored. */
  delete(connector: string): Promise<boolean>;
  all(): Promise<Record<string, StoredOffset>>;
}

export interface StoredOffset {
  readonly offset: SourceOffset;
  /** ISO time of the commit that stored it. */
  readonly committedAt: string;
}

interface OffsetFile {
  readonly format: typeof FORMAT;
  readonly connectors: Record<string, StoredOffset>;
}

const FORMAT = 'sluice-offsets/1';

/** Keeps offsets in memory only (stdout sink without `offsets.file`): every start is a fresh start. */
export class MemoryOffsetStore implements LocalOffsetStore {
  private readonly offsets = new Map<string, StoredOffset>();
  async get(connector: string): Promise<SourceOffset | null> {
    return this.offsets.get(connector)?.offset ?? null;
  }
  async set(connector: string, offset: SourceOffset): Promise<void> {
    this.offsets.set(connector, { offset, committedAt: new Date().toISOString() });
  }
  async delete(connector: string): Promise<boolean> {
    return this.offsets.delete(connector);
  }
  async all(): Promise<Record<string, StoredOffset>> {
    return Object.fromEntries(this.offsets);
  }
}

/**
 * One JSON file holding every connector's offset: `{"format":"sluice-offsets/1","connectors":{name:{offset,...}}}`.
 * Each `set` rewrites the file atomically: write a temp file in the same directory → fsync it → rename over the
 * old one → fsync the directory, so after a crash the file holds either the old or the new offsets, never a mix.
 * Writes from one process are serialized; the file must not be shared by two running processes.
 */
export class FileOffsetStore implements LocalOffsetStore {
  readonly path: string;
  private state: Record<string, StoredOffset> | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = resolve(path);
  }

  async get(connector: string): Promise<SourceOffset | null> {
    const state = await this.load();
    return state[connector]?.offset ?? null;
  }

  async all(): Promise<Record<string, StoredOffset>> {
    return { ...(await this.load()) };
  }

  set(connector: string, offset: SourceOffset): Promise<void> {
    return this.exclusive(async () => {
      const state = await this.load();
      const next = { ...state, [connector]: { offset, committedAt: new Date().toISOString() } };
      await this.write(next);
      this.state = next;
    });
  }

  delete(connector: string): Promise<boolean> {
    return this.exclusive(async () => {
      const state = await this.load();
      if (!(connector in state)) return false;
      const next = { ...state };
      delete next[connector];
      await this.write(next);
      this.state = next;
      return true;
    });
  }

  /** Reads the file again on the next access (for tools that change it from outside). */
  forget(): void {
    this.state = null;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Record<string, StoredOffset>> {
    if (this.state) return this.state;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.state = {};
        return this.state;
      }
      throw new OffsetError(`cannot read the offsets file ${this.path}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new OffsetError(`the offsets file ${this.path} is not valid JSON; restore it or remove it to start over`, { cause: err });
    }
    const file = parsed as Partial<OffsetFile> | null;
    if (!file || file.format !== FORMAT || typeof file.connectors !== 'object' || file.connectors === null) {
      throw new OffsetError(`the offsets file ${this.path} is not a Sluice offsets file (expected "format": "${FORMAT}")`);
    }
    this.state = file.connectors;
    return this.state;
  }

  private async write(connectors: Record<string, StoredOffset>): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const body: OffsetFile = { format: FORMAT, connectors };
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(body, null, 2)}\n`);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await handle.close();
    try {
      await rename(temp, this.path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw err;
    }
    await fsyncDirectory(dir);
  }
}

/** Makes a rename in `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
