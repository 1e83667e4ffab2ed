/**
 * A deliberately plain, single-threaded reference for event-time windows with Flink's semantics, written
 * independently of the engine (no key-groups, timers, accumulators or rings): it keeps every accepted
 * event per window and aggregates lists at the end.
 */
export interface Item<V> { value: V; seq: number }

export interface ReferenceSpec<V> {
  key: (v: V) => unknown;
  time: (v: V) => number;
  outOfOrderMs: number;
  lateness: number;
  window: { type: 'tumbling'; size: number } | { type: 'sliding'; size: number; slide: number } | { type: 'session'; gap: number };
  /** Build the result's aggregate fields from the window's events in arrival order. */
  aggregate: (items: Item<V>[]) => Record<string, unknown>;
}

export function reference<V>(values: V[], spec: ReferenceSpec<V>): { results: unknown[]; late: V[] } {
  return spec.window.type === 'session' ? sessions(values, spec, spec.window.gap) : aligned(values, spec);
}

function aligned<V>(values: V[], spec: ReferenceSpec<V>) {
  const w = spec.window as { size: number; slide?: number };
  const size = w.size;
  const slide = w.slide ?? size;
  const windows = new Map<string, { key: unknown; start: number; items: Array<Item<V> & { afterFiring: boolean }> }>();
  const late: V[] = [];
  let maxTime = -Infinity;
  values.forEach((value, seq) => {
    const t = spec.time(value);
    const key = spec.key(value);
    const wm = maxTime - spec.outOfOrderMs - 1;
    let accepted = false;
    for (let start = Math.floor(t / slide) * slide; start > t - size; start -= slide) {
      const end = start + size;
      if (end - 1 + spec.lateness <= wm) continue;
      accepted = true;
      const id = `${JSON.stringify(key)}|${start}`;
      if (!windows.has(id)) windows.set(id, { key, start, items: [] });
      windows.get(id)!.items.push({ value, seq, afterFiring: end - 1 <= wm });
    }
    if (!accepted) late.push(value);
    maxTime = Math.max(maxTime, t);
  });
  const results: unknown[] = [];
  for (const { key, start, items } of windows.values()) {
    const result = (upTo: number) => ({ key, windowStart: start, windowEnd: start + size, ...spec.aggregate(items.slice(0, upTo)) });
    const onTime = items.filter((i) => !i.afterFiring).length;
    if (onTime > 0) results.push(result(onTime)); // the firing when the watermark passed the end
    for (let i = onTime; i < items.length; i++) results.push(result(i + 1)); // one re-firing per late event
  }
  return { results, late };
}

function sessions<V>(values: V[], spec: ReferenceSpec<V>, gap: number) {
  if (spec.lateness !== 0) throw new Error('the reference handles sessions without allowed lateness');
  const open = new Map<string, Array<{ key: unknown; start: number; end: number; items: Item<V>[] }>>();
  const results: unknown[] = [];
  const late: V[] = [];
  const emit = (s: { key: unknown; start: number; end: number; items: Item<V>[] }) =>
    results.push({ key: s.key, windowStart: s.start, windowEnd: s.end, ...spec.aggregate([...s.items].sort((a, b) => a.seq - b.seq)) });
  let maxTime = -Infinity;
  values.forEach((value, seq) => {
    const t = spec.time(value);
    const key = spec.key(value);
    const id = JSON.stringify(key);
    const wm = maxTime - spec.outOfOrderMs - 1;
    maxTime = Math.max(maxTime, t);
    // Sessions whose end has passed the watermark have fired and are gone.
    const mine = (open.get(id) ?? []).filter((s) => (s.end - 1 <= wm ? (emit(s), false) : true));
    let start = t;
    let end = t + gap;
    const touching = mine.filter((s) => s.start <= end && start <= s.end);
    for (const s of touching) { start = Math.min(start, s.start); end = Math.max(end, s.end); }
    if (end - 1 <= wm) {
      late.push(value);
      open.set(id, mine);
      return;
    }
    const merged = { key, start, end, items: [...touching.flatMap((s) => s.items), { value, seq }] };
    open.set(id, [...mine.filter((s) => !touching.includes(s)), merged]);
  });
  for (const list of open.values()) list.forEach(emit);
  return { results, late };
}
