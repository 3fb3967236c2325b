/**
 * Spill files for streamed in-progress transactions (pgoutput protocol v2, `streaming 'on'`).
 *
 * The server sends the changes of a large transaction before it commits, in blocks between Stream Start and Stream
 * Stop, interleaved with other transactions; it may still abort (Stream Abort), or abort only a subtransaction
 * (ROLLBACK TO SAVEPOINT: Stream Abort with that subtransaction's xid). Nothing can be emitted before Stream Commit,
 * so the raw messages go to a file on local disk, memory stays bounded, and on Stream Commit the file is replayed
 * in order. A subtransaction abort truncates the file at the first message of that subtransaction (its changes and
 * those of its own subtransactions are always the last ones written when the abort arrives).
 *
 * Record format: u64 LSN (of the XLogData frame), u32 length, payload (the pgoutput message, xid included).
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';

const WRITE_BUFFER = 256 * 1024;
const READ_CHUNK = 1024 * 1024;

export class SpillDirectory {
  private dir: string | null = null;
  constructor(private readonly parent: string, private readonly label: string) {}

  fileFor(xid: number): string {
    this.dir ??= mkdtempSync(path.join(this.parent, `sluice-pg-${this.label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
    return path.join(this.dir, `${xid}.spill`);
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

export class SpillFile {
  private fd: number;
  private size = 0;
  private buffer = Buffer.allocUnsafe(WRITE_BUFFER);
  private buffered = 0;
  private readonly subxactStart = new Map<number, number>();
  private records = 0;

  constructor(readonly file: string, readonly xid: number) {
    this.fd = openSync(file, 'w+', 0o600);
  }

  get messageCount(): number {
    return this.records;
  }

  get bytes(): number {
    return this.size + this.buffered;
  }

  append(lsn: bigint, payload: Buffer, subXid: number | null): void {
    const at = this.size + this.buffered;
    if (subXid !== null && !this.subxactStart.has(subXid)) this.subxactStart.set(subXid, at);
    const need = 12 + payload.length;
    if (this.buffered + need > this.buffer.length) this.flush();
    if (need > this.buffer.length) {
      const header = Buffer.allocUnsafe(12);
      header.writeBigUInt64BE(lsn, 0);
      header.writeUInt32BE(payload.length, 8);
      writeSync(this.fd, header, 0, 12, this.size);
      writeSync(this.fd, payload, 0, payload.length, this.size + 12);
      this.size += need;
    } else {
      this.buffer.writeBigUInt64BE(lsn, this.buffered);
      this.buffer.writeUInt32BE(payload.length, this.buffered + 8);
      payload.copy(this.buffer, this.buffered + 12);
      this.buffered += need;
    }
    this.records++;
  }

  private flush(): void {
    let off = 0;
    while (off < this.buffered) off += writeSync(this.fd, this.buffer, off, this.buffered - off, this.size + off);
    this.size += this.buffered;
    this.buffered = 0;
  }

  /** ROLLBACK TO SAVEPOINT: drop the subtransaction's messages (and everything written after them). */
  abortSubtransaction(subXid: number): void {
    const at = this.subxactStart.get(subXid);
    if (at === undefined) return;
    this.flush();
    ftruncateSync(this.fd, at);
    this.size = at;
    for (const [x, off] of this.subxactStart) if (off >= at) this.subxactStart.delete(x);
    // The record count is only informational after a truncate.
  }

  /** The records in order; reads the file in chunks. */
  async *replay(): AsyncGenerator<{ lsn: bigint; payload: Buffer }> {
    this.flush();
    const handle = await open(this.file, 'r');
    try {
      let pos = 0;
      let carry = Buffer.alloc(0);
      while (pos < this.size || carry.length > 0) {
        let chunk = carry;
        if (pos < this.size) {
          const want = Math.min(READ_CHUNK, this.size - pos);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await handle.read(buf, 0, want, pos);
          pos += bytesRead;
          chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        }
        let off = 0;
        while (off + 12 <= chunk.length) {
          const len = chunk.readUInt32BE(off + 8);
          if (off + 12 + len > chunk.length) break;
          const lsn = chunk.readBigUInt64BE(off);
          yield { lsn, payload: Buffer.from(chunk.subarray(off + 12, off + 12 + len)) };
          off += 12 + len;
        }
        carry = Buffer.from(chunk.subarray(off));
        if (pos >= this.size && carry.length > 0 && off === 0) throw new Error(`spill file ${this.file} ends in a partial record`);
      }
    } finally {
      await handle.close();
    }
  }

  discard(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.file, { force: true });
  }
}
