/**
 * Maps a position in code compiled by tsx back to the TypeScript line, for CPU profiles: tsx prints each module
 * on (nearly) one line, so a profile's line numbers alone say nothing. tsx keeps every compiled module in its
 * cache directory (`<tmpdir>/tsx-<uid>/`, JSON `{ code, map }`); the newest entry for a file written before the
 * profile ended is the code the profiled process ran (it was compiled, or reused, when the process loaded it).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

interface RawMap {
  readonly sources: readonly string[];
  readonly mappings: string;
}

/** Per generated line: [generatedColumn, sourceIndex, originalLine] segments sorted by column. */
type Segments = Array<Array<readonly [number, number, number]>>;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i] as const));

function decodeMappings(mappings: string): Segments {
  const lines: Segments = [];
  let source = 0;
  let origLine = 0;
  for (const line of mappings.split(';')) {
    const segs: Array<readonly [number, number, number]> = [];
    let genCol = 0;
    if (line !== '') {
      for (const seg of line.split(',')) {
        const values: number[] = [];
        let value = 0;
        let shift = 0;
        for (const ch of seg) {
          const digit = B64_INDEX.get(ch);
          if (digit === undefined) break;
          value += (digit & 31) << shift;
          if (digit & 32) {
            shift += 5;
          } else {
            values.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        genCol += values[0] ?? 0;
        if (values.length >= 4) {
          source += values[1]!;
          origLine += values[2]!;
          // values[3] (column) and values[4] (name) are not needed for a line
          segs.push([genCol, source, origLine]);
        }
      }
    }
    lines.push(segs);
  }
  return lines;
}

export class TsxSourceMaps {
  private readonly bySource = new Map<string, { mtime: number; raw: RawMap; segments: Segments | null }>();

  /** `notAfterMs`: ignore cache entries written after this time (by other processes, after the profiled run). */
  constructor(notAfterMs = Number.POSITIVE_INFINITY, cacheDir = join(tmpdir(), `tsx-${userInfo().uid}`)) {
    let files: string[];
    try {
      files = readdirSync(cacheDir);
    } catch {
      return;
    }
    for (const f of files) {
      const path = join(cacheDir, f);
      try {
        const st = statSync(path);
        if (!st.isFile() || st.size > 20_000_000 || st.mtimeMs > notAfterMs) continue;
        const entry = JSON.parse(readFileSync(path, 'utf8')) as { map?: RawMap };
        const src = entry.map?.sources[0];
        if (!entry.map || !src) continue;
        const known = this.bySource.get(src);
        if (!known || known.mtime < st.mtimeMs) this.bySource.set(src, { mtime: st.mtimeMs, raw: entry.map, segments: null });
      } catch {
        // not a cache entry
      }
    }
  }

  /** The 1-based TypeScript line of a 0-based generated line/column of `url` (file:// URL or path), or null. */
  originalLine(url: string, line: number, column: number): number | null {
    const path = url.replace(/^file:\/\//, '');
    const entry = this.bySource.get(path);
    if (!entry) return null;
    entry.segments ??= decodeMappings(entry.raw.mappings);
    const segs = entry.segments[line];
    if (!segs || segs.length === 0) return null;
    let lo = 0;
    let hi = segs.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid]![0] <= column) {
        best = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const seg = segs[Math.max(0, best)];
    return seg ? seg[2] + 1 : null;
  }
}
