import { describe, expect, it } from 'vitest';
import { isActive, liveReducer, pointsPerSecond, type LiveEvent, type LivePhase } from './live';

const run = (events: LiveEvent[], from: LivePhase = { phase: 'idle' }) =>
  events.reduce(liveReducer, from);

describe('Run live state machine', () => {
  it('start → backend → progress → done', () => {
    const state = run([
      { type: 'start' },
      { type: 'backend', backend: 'webgpu' },
      { type: 'progress', done: 60, total: 121, seconds: 3 },
    ]);
    expect(state).toEqual({
      phase: 'running',
      done: 60,
      total: 121,
      backend: 'webgpu',
      seconds: 3,
    });
    expect(pointsPerSecond(state)).toBe(20);
    expect(liveReducer(state, { type: 'done', seconds: 6 })).toEqual({
      phase: 'done',
      done: 121,
      total: 121,
      backend: 'webgpu',
      seconds: 6,
    });
  });

  it('cancel keeps the count of points done, and later messages do not revive the run', () => {
    const cancelled = run([
      { type: 'start' },
      { type: 'backend', backend: 'wasm' },
      { type: 'progress', done: 30, total: 121, seconds: 9 },
      { type: 'cancel' },
      { type: 'progress', done: 31, total: 121, seconds: 9.3 },
      { type: 'done', seconds: 10 },
    ]);
    expect(cancelled).toEqual({ phase: 'cancelled', done: 30, total: 121, backend: 'wasm' });
    expect(isActive(cancelled)).toBe(false);
  });

  it('errors end an active run; reset returns to idle only when nothing runs', () => {
    const failed = run([{ type: 'start' }, { type: 'error', message: 'device lost' }]);
    expect(failed).toEqual({ phase: 'error', message: 'device lost', done: 0, total: 0 });
    expect(liveReducer(failed, { type: 'reset' })).toEqual({ phase: 'idle' });
    const running = run([{ type: 'start' }, { type: 'backend', backend: 'cpu' }]);
    expect(liveReducer(running, { type: 'reset' })).toBe(running);
    expect(liveReducer(running, { type: 'start' })).toBe(running);
  });
});

describe('before a live run', () => {
  it('the estimate: every point a forward pass over the subset, split over the workers', async () => {
    const { estimateLiveSeconds } = await import('./live');
    // ResNet-20, 11 × 11 over 256 images, two panels on two workers: 2·121·256 / 1600 ≈ 39 s.
    expect(
      estimateLiveSeconds({ model: 'resnet20', panels: 2, grid: 11, subset: 256, lanes: 2 }),
    ).toBeCloseTo((2 * 121 * 256) / 1600);
    expect(
      estimateLiveSeconds({ model: 'resnet56', panels: 2, grid: 11, subset: 256, lanes: 2 })!,
    ).toBeGreaterThan(100);
    expect(
      estimateLiveSeconds({ model: 'mlp', panels: 1, grid: 3, subset: 16, lanes: 1 }),
    ).toBeNull();
  });

  it('a value from the URL that no menu offers is added to it, in order', async () => {
    const { withCurrent } = await import('./live');
    expect(withCurrent([5, 11, 21], 3)).toEqual([3, 5, 11, 21]);
    expect(withCurrent([16, 64], 17)).toEqual([16, 17, 64]);
    expect(withCurrent([5, 11], 11)).toEqual([5, 11]);
  });
});
