/**
 * cbor-x, without its optional native string extractor (cbor-extract). Loading that addon cost every
 * thread about 8 ms of start-up (it probes the platform's C library first), four threads in a
 * `keyflow run` on 2 cores, and decoding measured no faster with it: recovery of a million keys and the
 * LMDB backend ran alike with and without. cbor-x's package exports its plain JavaScript build under
 * `cbor-x/encode` (which has the decoder too).
 */
import { Decoder, Encoder } from 'cbor-x/encode';

export { Decoder, Encoder, addExtension } from 'cbor-x/encode';

/**
 * An encoder for state (snapshots, the LMDB backend): plain CBOR maps, never cbor-x's record structures
 * (they keep their keys under a field name of their own, which state may hold too). Each map's size comes
 * from Object.keys (`variableMapSize`): cbor-x's default walks each object with for-in and hasOwnProperty,
 * which encoded a q3 snapshot's key-groups (3.9 MB) in 18–127 ms warm, now here and now there, against
 * 18 ms every time, and 50–137 ms cold against 44–47.
 */
export function stateEncoder(): Encoder {
  return new Encoder({ useRecords: false, variableMapSize: true });
}

/** A decoder for state; `copyBuffers`: byte arrays decoded are copies, never views into what was read. */
export function stateDecoder(): Decoder {
  return new Decoder({ useRecords: false, copyBuffers: true });
}
