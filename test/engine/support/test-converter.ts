/** A minimal converter for engine tests: JSON of the key and value (bigints as strings). Not the real converters. */
import type { ChangeEvent } from '../../../src/events/change-event.js';
import type { RecordConverter } from '../../../src/engine/index.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));

export function testConverter(): RecordConverter {
  return {
    async serializeKey(event: ChangeEvent) {
      return event.key === null ? null : json(event.key);
    },
    async serializeValue(event: ChangeEvent) {
      return event.value === null ? null : json(event.value);
    },
  };
}
