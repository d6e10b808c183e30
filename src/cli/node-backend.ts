/**
 * Starting a tfjs backend for the command line and its worker threads, through
 * compute/backend.ts: wasm (default; one single-threaded instance per thread),
 * cpu, or webgpu through Dawn (the `webgpu` package). A backend named on the
 * command line is the only one tried: asking for webgpu and silently getting
 * wasm would make every timing a lie.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { initBackend } from '../compute/backend';
import { oneOf, type FlagSpec } from './args';

export const NODE_BACKENDS = ['wasm', 'cpu', 'webgpu'] as const;
export type NodeBackend = (typeof NODE_BACKENDS)[number];

/** The --backend flag of every compute command. */
export const BACKEND_FLAG = {
  type: 'string',
  value: 'NAME',
  help: `${NODE_BACKENDS.join(', ')} (default wasm)`,
} as const satisfies FlagSpec;

/** --backend as a backend name: the flag, else `fallback`; a usage error for any other name. */
export function backendFlag(
  command: string,
  value: string | undefined,
  fallback: NodeBackend = 'wasm',
): NodeBackend {
  return oneOf(command, 'backend', value ?? fallback, NODE_BACKENDS);
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * What Dawn needs from the environment: a private XDG_RUNTIME_DIR, and, on a
 * machine with no Vulkan driver of its own, Chromium's SwiftShader (a CPU
 * implementation of Vulkan) as the driver.
 */
function prepareDawnEnvironment(): void {
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = `/tmp/skipscape-xdg-${process.getuid?.() ?? 0}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  const hasDriver = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some(
    (d) => existsSync(d) && readdirSync(d).length > 0,
  );
  if (!process.env['VK_ICD_FILENAMES'] && !hasDriver && existsSync(SWIFTSHADER_ICD)) {
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  }
}

/** Start `name` and make it current; throws with the reason when it cannot start. */
export async function startNodeBackend(
  name: NodeBackend,
): Promise<{ backend: string; why: string }> {
  if (name === 'webgpu') prepareDawnEnvironment();
  try {
    const choice = await initBackend({ prefer: [name] });
    return { backend: choice.name, why: choice.reason };
  } catch (e) {
    throw new Error(
      `the ${name} backend did not start: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
}

/** The WebGPU adapter Dawn gives, in words, and whether it is a software one (SwiftShader). */
export async function webgpuAdapter(): Promise<{ description: string; software: boolean } | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  const adapter = await gpu?.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description]
    .filter((s) => s && s.length > 0)
    .join(' ');
  const fallback =
    (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { description, software: fallback || /swiftshader|llvmpipe|lavapipe/i.test(description) };
}
