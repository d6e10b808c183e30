/**
 * Which tfjs backend a live run starts on, the same in every figure. The
 * reader picks one, or 'auto': WebGPU only on a hardware adapter, else
 * WebAssembly, plain JavaScript last. A software adapter (SwiftShader, which
 * Chromium offers where there is no usable GPU) counts as no GPU at all: it
 * took no step of BMEnet-32 in 150 s where WebAssembly takes one in about
 * 7 s (issue 15), and the GSC lab's default run 66 s against 2 s.
 */
import type { BackendName } from '../../compute/backend';
import type { Setting } from './urlState';
import type { WebGpuProbe } from './job-client';

/** The Backend setting of a live figure (URL `<figure id>.backend=…`). */
export const LIVE_BACKEND_SETTING = {
  type: 'enum',
  default: 'auto',
  options: ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'],
  label: 'Backend',
} as const satisfies Setting;

export type LiveBackend = (typeof LIVE_BACKEND_SETTING.options)[number];

/**
 * The backends a live run tries, in order: the one asked for first, then
 * WebAssembly and plain JavaScript; on 'auto', WebGPU first only where the
 * probe found a hardware adapter (before the probe has answered, as without one).
 */
export function liveBackendOrder(asked: LiveBackend, probe: WebGpuProbe | null): BackendName[] {
  if (asked !== 'auto') return [asked, ...(['wasm', 'cpu'] as const).filter((b) => b !== asked)];
  return probe?.available ? ['webgpu', 'wasm', 'cpu'] : ['wasm', 'cpu'];
}

/** The backend 'auto' will start, and why, in words for the badge. */
export function autoBackend(probe: WebGpuProbe): { name: BackendName; reason: string } {
  if (probe.available) return { name: 'webgpu', reason: 'a hardware GPU adapter' };
  return {
    name: 'wasm',
    reason: probe.software ? 'the GPU adapter is software, not a GPU' : 'no GPU adapter',
  };
}
