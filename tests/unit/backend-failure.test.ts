import { expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend';

// Its own file: a wasm backend that failed to start cannot be started again in
// the same process.
it('says why a backend failed to start, from what tfjs only logs', async () => {
  const choice = await initBackend({ prefer: ['wasm', 'cpu'], wasmPaths: '/nonexistent/' });
  expect(choice.name).toBe('cpu');
  expect(choice.tried).toHaveLength(1);
  expect(choice.tried[0]!.name).toBe('wasm');
  expect(choice.tried[0]!.error).toMatch(/tfjs could not initialise the wasm backend: .*\.wasm/);
});
