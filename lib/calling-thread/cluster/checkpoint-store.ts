/**
 * A partition's checkpoints kept in JetStream, so that another process (on another host) can take the
 * partition over: each completed checkpoint's snapshot files go to an object store, then a pointer to them
 * (with the manifest and the state directory's id) is set in a key-value bucket. The pointer is the
 * partition's fence: it is only ever changed by a compare-and-set on the revision its owner last wrote, and a
 * process that takes the partition over sets it first (claim()), so a process that lost the partition
 * without knowing it (paused past its lease) can no longer record a checkpoint.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import { readManifest, writeManifest, type CheckpointRecord, type Manifest } from '../durability/manifest.js';
import { abandoned } from '../../shared/ignore.js';
import { idPath, snapshotDir, snapshotFiles } from '../../shared/durability/state-layout.js';

/** What the pointer of a partition holds. */
export interface CheckpointPointer {
  /** The process that owns the partition (its last claim), and the durable consumer it reads with. */
  owner: string;
  consumer?: string;
  /** The partition's state directory id: the same on every host, so that its outputs' message ids are. */
  stateId: string;
  /** The latest checkpoint kept in the object store, if any: its manifest (that checkpoint alone) and files. */
  manifest: Manifest | null;
  files: string[];
}

export class CheckpointStore {
  private revision = 0;

  constructor(private readonly kv: KV, private readonly objects: ObjectStore, private readonly key: string) {}

  /**
   * Become the partition's owner: set the pointer to name `owner` and its `consumer` (made, with a new state
   * id, if the partition never had one). Returns what it points to, and the previous owner's consumer.
   * Throws if another process keeps changing it.
   */
  async claim(owner: string, consumer: string): Promise<{ pointer: CheckpointPointer; previousConsumer: string | undefined }> {
    for (let tries = 0; tries < 10; tries++) {
      const entry = await this.kv.get(this.key);
      const live = entry !== null && entry.operation === 'PUT';
      const before = live ? entry.json<CheckpointPointer>() : null;
      const pointer: CheckpointPointer = before ? { ...before, owner, consumer } : { owner, consumer, stateId: randomUUID(), manifest: null, files: [] };
      try {
        this.revision = live ? await this.kv.update(this.key, JSON.stringify(pointer), entry.revision) : await this.kv.create(this.key, JSON.stringify(pointer));
        return { pointer, previousConsumer: before?.consumer };
      } catch {
        // Another process wrote it between the read and the write: read again.
      }
    }
    throw new Error(`the checkpoint pointer ${this.key} keeps changing under this process`);
  }

  /** Make `dir` (empty) the state directory the pointer describes: its id, and its checkpoint if it has one. */
  async restore(pointer: CheckpointPointer, dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(idPath(dir), `${pointer.stateId}\n`);
    if (pointer.manifest === null) return;
    const id = pointer.manifest.checkpoints[0].id;
    await mkdir(snapshotDir(dir, id), { recursive: true });
    for (const name of pointer.files) {
      const data = await this.objects.getBlob(name);
      if (data === null) throw new Error(`checkpoint ${id} of ${this.key}: ${name} is missing from the object store`);
      await writeFile(join(snapshotDir(dir, id), basename(name)), data);
    }
    writeManifest(dir, pointer.manifest);
  }

  /**
   * Keep checkpoint `record` of state directory `dir` here. False if the partition was taken over (the
   * pointer changed since this process last set it): the caller must stop working on it.
   */
  async upload(dir: string, record: CheckpointRecord, owner: string, run: string, stateId: string, consumer: string): Promise<boolean> {
    const manifest = readManifest(dir);
    if (manifest === null) return true;
    const files: string[] = [];
    // Names of this run's own: another run that restored the same checkpoint (another owner's, or this
    // owner's after it lost the partition and took it again) numbers its next one the same.
    const prefix = `${this.key}/${run}-${record.id}`;
    for (const path of snapshotFiles(dir, record.id)) {
      const name = `${prefix}/${basename(path)}`;
      await this.objects.putBlob({ name }, readFileSync(path));
      files.push(name);
    }
    const previous = await this.kv.get(this.key);
    const pointer: CheckpointPointer = { owner, consumer, stateId, manifest: { ...manifest, checkpoints: [record] }, files };
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify(pointer), this.revision);
    } catch (err) {
      // Refused: taken over, and these files are nobody's. Any other failure (the server away, a reply lost)
      // may have set the pointer after all: the files stay, and the caller keeps the previous checkpoint's word.
      if (!/wrong last sequence/.test((err as Error).message)) throw err;
      for (const name of files) await this.objects.delete(name).catch(abandoned);
      return false;
    }
    // The previous checkpoint's files are no longer pointed at.
    const old = previous?.operation === 'PUT' ? previous.json<CheckpointPointer>().files : [];
    for (const name of old) if (!files.includes(name)) await this.objects.delete(name).catch(abandoned);
    return true;
  }
}
