import { describe, expect, test } from 'vitest';
import { autoBackend, liveBackendOrder, runsOnCpu } from '../../src/components/figure/live-backend';

/** Probes as figure/job-client's probeGpu gives them. */
const probe = (available: boolean, software: boolean, webgl: boolean) => ({
  available,
  software,
  webgl,
  reason: 'test',
});
const SWIFTSHADER = probe(false, true, false);
const HARDWARE = probe(true, false, true);
const WEBGL_ONLY = probe(false, false, true);
const NO_GPU = probe(false, false, false);

describe('live backend choice', () => {
  test('auto: WebGPU only on a hardware adapter, WebGL only on a hardware GPU, then WebAssembly', () => {
    expect(liveBackendOrder('auto', SWIFTSHADER)).toEqual(['wasm', 'cpu']);
    expect(liveBackendOrder('auto', NO_GPU)).toEqual(['wasm', 'cpu']);
    expect(liveBackendOrder('auto', HARDWARE)).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(liveBackendOrder('auto', WEBGL_ONLY)).toEqual(['webgl', 'wasm', 'cpu']);
    // Before the probe answers, as without a GPU.
    expect(liveBackendOrder('auto', null)).toEqual(['wasm', 'cpu']);
  });

  test('a backend asked for is tried first, whatever the probe, then WebAssembly and JavaScript', () => {
    expect(liveBackendOrder('webgpu', SWIFTSHADER)).toEqual(['webgpu', 'wasm', 'cpu']);
    expect(liveBackendOrder('webgl', null)).toEqual(['webgl', 'wasm', 'cpu']);
    expect(liveBackendOrder('wasm', HARDWARE)).toEqual(['wasm', 'cpu']);
    expect(liveBackendOrder('cpu', HARDWARE)).toEqual(['cpu', 'wasm']);
  });

  test("auto's badge names the backend the order starts with, and why", () => {
    for (const p of [SWIFTSHADER, HARDWARE, WEBGL_ONLY, NO_GPU]) {
      expect(autoBackend(p).name).toBe(liveBackendOrder('auto', p)[0]);
    }
    expect(autoBackend(SWIFTSHADER).reason).toMatch(/software/);
    expect(autoBackend(WEBGL_ONLY).reason).toMatch(/WebGL/);
  });

  test('runs on the CPU where the order starts with WebAssembly or JavaScript', () => {
    expect(runsOnCpu('auto', SWIFTSHADER)).toBe(true);
    expect(runsOnCpu('auto', WEBGL_ONLY)).toBe(false);
    expect(runsOnCpu('cpu', HARDWARE)).toBe(true);
    expect(runsOnCpu('webgl', NO_GPU)).toBe(false);
  });
});
