/**
 * One value handed to threads that started before it was known. piscina gives all of a pool's threads
 * one workerData, fixed when the pool starts, and the source threads start before the engine has loaded
 * the pipelines they need (see calling-thread/prestarted-threads.ts). A mailbox is a growable
 * SharedArrayBuffer in that workerData: the calling thread writes the value into it once, as JSON, and
 * each thread waits for it without blocking its event loop.
 */

/** Int32 slots: 0 empty / 1 written, then the JSON's length in bytes; the JSON follows. */
const STATE = 0;
const LENGTH = 1;
const HEADER_BYTES = 8;
const WRITTEN = 1;
/** What a mailbox may hold: address space reserved, not memory. */
const MAX_BYTES = 16 * 1024 * 1024;

export function createMailbox(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES, { maxByteLength: MAX_BYTES });
}

/** Write `value` (JSON-serializable) into an empty mailbox and wake the threads waiting for it. */
export function post(mailbox: SharedArrayBuffer, value: unknown): void {
  const header = new Int32Array(mailbox, 0, 2);
  if (Atomics.load(header, STATE) === WRITTEN) throw new Error('a mailbox holds one value');
  const json = Buffer.from(JSON.stringify(value));
  if (HEADER_BYTES + json.byteLength > MAX_BYTES) throw new RangeError(`a mailbox holds at most ${MAX_BYTES - HEADER_BYTES} bytes of JSON, got ${json.byteLength}`);
  mailbox.grow(HEADER_BYTES + json.byteLength);
  json.copy(new Uint8Array(mailbox, HEADER_BYTES));
  header[LENGTH] = json.byteLength;
  Atomics.store(header, STATE, WRITTEN);
  Atomics.notify(header, STATE);
}

/** The mailbox's value, once written. */
export async function receive<T>(mailbox: SharedArrayBuffer): Promise<T> {
  const header = new Int32Array(mailbox, 0, 2);
  while (Atomics.load(header, STATE) !== WRITTEN) {
    const wait = Atomics.waitAsync(header, STATE, 0);
    if (wait.async) await wait.value;
  }
  const json = Buffer.from(mailbox, HEADER_BYTES, header[LENGTH]).toString();
  return JSON.parse(json) as T;
}
