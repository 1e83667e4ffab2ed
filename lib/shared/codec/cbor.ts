/**
 * cbor-x, without its optional native string extractor (cbor-extract). Loading that addon cost every
 * thread about 8 ms of start-up (it probes the platform's C library first), four threads in a
 * `keyflow run` on 2 cores, and decoding measured no faster with it: recovery of a million keys and the
 * LMDB backend ran alike with and without. cbor-x's package exports its plain JavaScript build under
 * `cbor-x/encode` (which has the decoder too).
 */
export { Decoder, Encoder, addExtension } from 'cbor-x/encode';
