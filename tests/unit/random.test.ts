/**
 * The seeded generator (src/compute/random.ts): fillNormal, the fast path
 * every weight draw and normalArray take, gives exactly the numbers normal()
 * gives one at a time, from any point of the stream (a spare normal pending
 * or not), and leaves the stream where normal() would.
 */
import { describe, expect, it } from 'vitest';
import { createRng, normalArray } from '../../src/compute/random';

describe('Rng.fillNormal', () => {
  it.each([
    [0, 0],
    [1, 0],
    [2, 1],
    [7, 0],
    [7, 1],
    [10_000, 0],
    [10_001, 1],
  ])('%i normals after %i calls of normal(): the same numbers, bit for bit', (n, before) => {
    const fast = createRng(42);
    const slow = createRng(42);
    for (let i = 0; i < before; i++) expect(fast.normal()).toBe(slow.normal());
    const out = new Float64Array(n);
    fast.fillNormal(out, 0.3);
    const expected = Float64Array.from({ length: n }, () => slow.normal() * 0.3);
    expect(out).toEqual(expected);
    expect(fast.normal()).toBe(slow.normal());
    expect(fast.uniform()).toBe(slow.uniform());
  });

  it('consecutive fills of odd and even lengths continue one stream, as normal() would', () => {
    // fillNormal runs the generator on local copies of its state: each fill
    // must hand the state (and a pending spare normal) on to the next call.
    const fast = createRng(9);
    const slow = createRng(9);
    for (const n of [7, 5, 1, 10_000, 3, 2]) {
      const out = new Float32Array(n);
      fast.fillNormal(out, 0.7);
      expect(out).toEqual(Float32Array.from({ length: n }, () => slow.normal() * 0.7));
    }
    expect(fast.uniform()).toBe(slow.uniform());
    expect(fast.int(1000)).toBe(slow.int(1000));
  });

  it('normalArray rounds the same products to float32', () => {
    const rng = createRng(7);
    const expected = Float32Array.from({ length: 1001 }, () => rng.normal() * 2.5);
    expect(normalArray(1001, createRng(7), 2.5)).toEqual(expected);
  });
});
