import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// WebGPU in Node (npm package `webgpu`, Dawn) on a machine without a GPU runs
// on SwiftShader. Dawn dlopens libvulkan.so.1, which here only Chromium ships,
// and the dynamic loader reads LD_LIBRARY_PATH once, at process start: so the
// test workers are started with Chromium's folder on it and SwiftShader as the
// Vulkan driver. Without Chromium the WebGPU tests skip and say why.
const chromiumLib = process.env.CHROMIUM_LIB_DIR ?? '/usr/lib/chromium';
const dawnEnv: Record<string, string> = existsSync(`${chromiumLib}/libvulkan.so.1`)
  ? {
      LD_LIBRARY_PATH: [chromiumLib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? `${chromiumLib}/vk_swiftshader_icd.json`,
    }
  : {};

// tfjs ships two builds: a CommonJS Node build of tfjs-core that registers no
// gradients, and an ESM build (with extensionless imports) that does. Inlining
// the @tensorflow packages makes Vite resolve their ESM "module" entries, so the
// tests load exactly one tfjs-core instance with every gradient registered, as
// the browser and the esbuild-bundled CLI do.
export default defineConfig({
  resolve: { mainFields: ['module', 'jsnext:main', 'jsnext', 'main'] },
  ssr: { resolve: { mainFields: ['module', 'jsnext:main', 'jsnext', 'main'] } },
  test: {
    include: ['tests/unit/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    server: { deps: { inline: [/@tensorflow/] } },
    testTimeout: 120_000,
    pool: 'forks',
    env: dawnEnv,
  },
});
