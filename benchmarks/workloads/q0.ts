/** Nexmark q0: pass-through. */
import { pipeline } from '../../lib/index.js';
import type { NexmarkEvent } from '../../lib/nexmark/model.js';

export const q0 = pipeline<NexmarkEvent>('q0');
