/**
 * Which tfjs backend a live run starts on, the same in every figure. The
 * reader picks one, or 'auto': WebGPU on a hardware adapter, WebGL on a
 * hardware GPU (where WebGPU has no adapter, or fails), then WebAssembly,
 * plain JavaScript last. A software renderer (SwiftShader, which
 * Chromium offers where there is no usable GPU) counts as no GPU at all: it
 * took no step of BMEnet-32 in 150 s where WebAssembly takes one in about
 * 7 s (issue 15), and the GSC lab's default run 66 s against 2 s.
 */
import type { BackendName } from '../../compute/backend';
import type { Setting } from './urlState';
import { cpuLanes, type GpuProbe } from './job-client';

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
 * probe found a hardware adapter, and WebGL only on a hardware GPU (before the
 * probe has answered, as without a GPU).
 */
export function liveBackendOrder(asked: LiveBackend, probe: GpuProbe | null): BackendName[] {
  if (asked !== 'auto') return [asked, ...(['wasm', 'cpu'] as const).filter((b) => b !== asked)];
  return [
    ...(probe?.available ? (['webgpu'] as const) : []),
    ...(probe?.webgl ? (['webgl'] as const) : []),
    'wasm',
    'cpu',
  ];
}

/** Whether a live run on these settings goes to WebAssembly or plain JavaScript, where the figures' time estimates hold. */
export function runsOnCpu(asked: LiveBackend, probe: GpuProbe | null): boolean {
  const first = liveBackendOrder(asked, probe)[0];
  return first === 'wasm' || first === 'cpu';
}

/** The backend 'auto' will start, and why, in words for the badge. */
export function autoBackend(probe: GpuProbe): { name: BackendName; reason: string } {
  if (probe.available) return { name: 'webgpu', reason: 'a hardware GPU adapter' };
  if (probe.webgl)
    return { name: 'webgl', reason: 'a hardware GPU through WebGL (no WebGPU adapter)' };
  return {
    name: 'wasm',
    reason: probe.software ? 'the GPU adapter is software, not a GPU' : 'no GPU adapter',
  };
}

/** Workers a live run on these backends uses: one per core on WebAssembly or JavaScript (cpuLanes), one on a GPU. */
export function liveLanes(order: readonly BackendName[]): number {
  return order[0] === 'wasm' || order[0] === 'cpu' ? cpuLanes() : 1;
}
