/**
 * The benchmark workloads, the same for both databases: an `orders`-like table (bigint key, int, varchar, decimal,
 * text of ~45 characters, timestamp; about 100 bytes a row) loaded by a stored procedure on the server, so that
 * loading is quick and costs the client nothing. Transaction sizes come from a fixed sequence, so every run writes
 * the same transactions:
 *
 *   small   1–10 rows per transaction (5.5 on average)
 *   large   100,000 rows per transaction
 *   single  the whole workload in one transaction (the memory scenario)
 */
export type Shape = 'small' | 'large' | 'single';

export interface ShapeSpec {
  readonly shape: Shape;
  readonly minTx: number;
  readonly maxTx: number;
}

export function shapeSpec(shape: Shape, rows: number, largeTxRows: number): ShapeSpec {
  switch (shape) {
    case 'small':
      return { shape, minTx: 1, maxTx: 10 };
    case 'large':
      return { shape, minTx: Math.min(largeTxRows, rows), maxTx: Math.min(largeTxRows, rows) };
    case 'single':
      return { shape, minTx: rows, maxTx: rows };
  }
}

export function describeShape(s: ShapeSpec): string {
  if (s.minTx === s.maxTx) return s.minTx === 1 ? '1 row/tx' : `${s.minTx.toLocaleString('en-US')} rows/tx`;
  return `${s.minTx}–${s.maxTx} rows/tx`;
}

/** How many transactions the generator writes for `rows` rows. */
export function transactionCount(rows: number, s: ShapeSpec): number {
  let i = 0;
  let n = 0;
  const span = s.maxTx - s.minTx + 1;
  while (i < rows) {
    const k = Math.min(s.minTx + ((n * 7919) % span), rows - i);
    i += k;
    n += 1;
  }
  return n;
}
