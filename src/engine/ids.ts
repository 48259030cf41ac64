// Time-ordered unique ids (ULID layout): they sort by creation time and double as Idempotency-Keys.
import type { Operation } from '../types.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom: number[] = [];

// Random bytes drawn 64 ids at a time: a call to the platform's generator per id was a tenth of an enqueue's time
// in the page.
const pool = new Uint8Array(1024);
let poolAt = pool.length;

function randomDigits(): number[] {
  if (poolAt === pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const digits: number[] = [];
  for (let i = 0; i < 16; i++) digits.push(pool[poolAt++]! & 31);
  return digits;
}

/** A 26-character id: 10 digits of milliseconds, 16 random; strictly increasing within one context. */
export function operationId(now: number = Date.now()): string {
  let random: number[];
  if (now <= lastTime) {
    // Same millisecond (or a clock step back): increment the previous random part so order holds.
    now = lastTime;
    random = lastRandom.slice();
    for (let i = random.length - 1; i >= 0; i--) {
      if (random[i]! < 31) {
        random[i]!++;
        break;
      }
      random[i] = 0;
    }
  } else {
    random = randomDigits();
  }
  lastTime = now;
  lastRandom = random;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + random.map((d) => ALPHABET[d]).join('');
}

/** The Idempotency-Key an operation is sent under (quoted, as the draft's sf-string). */
export function idempotencyKey(op: Pick<Operation, 'id' | 'keyGen'>): string {
  return op.keyGen ? `${op.id}.${op.keyGen}` : op.id;
}
