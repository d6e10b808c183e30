/**
 * Kernel replacements for the wasm backend.
 *
 * Identity: every tensor a gradient needs is saved through tf.clone (an
 * Identity kernel), and wasm's Identity copies the whole buffer, about 3 % of
 * a ResNet training step. No wasm kernel writes into its inputs, so a clone
 * may share the buffer and count one more reference, as the cpu backend's
 * Identity does.
 */
import * as tf from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

let copyingIdentity: tf.KernelConfig | null = null;

const sharedIdentity: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    // Strings live outside the wasm heap: leave them to the original kernel.
    if (x.dtype === 'string' && copyingIdentity) return copyingIdentity.kernelFunc(args);
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};

/**
 * Install the wasm kernel replacements. Call after the wasm backend's module
 * has registered its own kernels (src/compute/backend.ts does).
 */
export function installWasmKernelFixes(): void {
  const current = tf.getKernel(tf.Identity, 'wasm');
  if (current === sharedIdentity) return;
  if (current) {
    copyingIdentity = current;
    tf.unregisterKernel(tf.Identity, 'wasm');
  }
  tf.registerKernel(sharedIdentity);
}
