/**
 * `skipscape bench`: inference and training images/s of ResNet-20 and
 * ResNet-56 on 28×28×1 (batch 128) on each backend, with the GFLOP/s reached
 * beside the same backend's dense matMul GFLOP/s measured in the same run,
 * with one thread and with one worker thread per core.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, platform, release } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, inputShapeOf, parseModelName } from '../../compute/models';
import type { Model } from '../../compute/models/types';
import { createRng, normalArray } from '../../compute/random';
import { LocalEngine } from '../../compute/train/engine';
import type { TrainEngine } from '../../compute/train/engine';
import { LI_ET_AL_SGD } from '../../compute/train/optimizer';
import type { ParallelEngine } from '../../compute/train/parallel';
import { initialTrainingState } from '../../compute/train/state';
import type { TrainingState } from '../../compute/train/state';
import { forwardFlopsPerImage, measureMatMul } from '../../compute/train/throughput';
import type { Batch } from '../../compute/train/types';
import { HELP_FLAG, helpText, integer, oneOf, parseFlags, positive, UsageError } from '../args';
import type { FlagSpecs } from '../args';
import { assertWritable, writeFileAtomic } from '../files';
import { NODE_BACKENDS, startNodeBackend, webgpuAdapter } from '../node-backend';
import type { NodeBackend } from '../node-backend';
import { createWorkerEngine } from '../replicas';
import type { Command } from './types';

const NAME = 'bench';

const FLAGS = {
  backend: {
    type: 'string',
    value: 'LIST',
    help: `comma-separated, from ${NODE_BACKENDS.join(', ')} (default: wasm, cpu, and webgpu when Dawn finds an adapter)`,
  },
  models: {
    type: 'string',
    value: 'LIST',
    help: 'comma-separated model names (default resnet20,resnet56)',
  },
  workers: {
    type: 'string',
    value: 'LIST',
    help: 'thread counts to try on wasm/cpu (default 1 and one per core)',
  },
  batch: { type: 'string', value: 'B', help: 'images per batch (default 128)' },
  seconds: {
    type: 'string',
    value: 'S',
    help: 'time each measurement at least this long (default 3; cpu: one batch)',
  },
  out: { type: 'string', value: 'FILE', help: 'also write the results as JSON to FILE' },
  note: {
    type: 'string',
    value: 'TEXT',
    help: 'a note kept with the results (how the machine was loaded, ...)',
  },
  json: { type: 'boolean', help: 'print JSON instead of a table' },
  help: HELP_FLAG,
} satisfies FlagSpecs;

export interface BenchRow {
  backend: string;
  /** Worker threads (wasm, cpu) or 1 (this thread). */
  workers: number;
  model: string;
  batch: number;
  /** Forward FLOPs per image (convolutions and matrix products). */
  forwardFlops: number;
  inference: { imagesPerSecond: number; gflops: number; seconds: number };
  /** Training ≈ 3× the forward FLOPs (forward, input gradient, weight gradient). */
  training: { imagesPerSecond: number; gflops: number; seconds: number } | null;
  /** Dense n×n matMul on the same backend and threads, measured in the same run. */
  matMul: { size: number; gflops: number };
  /** inference GFLOP/s ÷ matMul GFLOP/s. */
  inferenceOfMatMul: number;
}

export interface BenchFile {
  machine: {
    cpu: string;
    cores: number;
    node: string;
    os: string;
    host: string;
    date: string;
    /** 1, 5 and 15-minute load averages when the run started: other work competes for the cores. */
    loadAverage: number[];
  };
  /** What the person running it wants kept with the numbers (--note). */
  note: string | null;
  tfjs: string;
  input: string;
  rows: BenchRow[];
  skipped: { backend: string; why: string }[];
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** A fixed synthetic batch (the rate does not depend on the values). */
function syntheticBatch(model: Model, n: number): Batch {
  const [height, width, channels] = inputShapeOf(model.spec) as [number, number, number];
  const rng = createRng(1);
  return {
    x: normalArray(n * height * width * channels, rng),
    labels: Int32Array.from({ length: n }, () => rng.int(model.spec.classes)),
    n,
    height,
    width,
    channels,
  };
}

/** Time `run` once to warm up, then for at least `minSeconds` and `minReps` runs. */
async function timeIt(
  run: () => Promise<unknown>,
  minSeconds: number,
  minReps: number,
): Promise<{ reps: number; seconds: number }> {
  await run();
  let reps = 0;
  const t0 = performance.now();
  let seconds = 0;
  while (reps < minReps || seconds < minSeconds) {
    await run();
    reps++;
    seconds = (performance.now() - t0) / 1000;
  }
  return { reps, seconds };
}

export const benchCommand: Command = {
  name: NAME,
  summary: 'images/s and GFLOP/s of ResNet-20/56 on each backend, beside dense matMul',
  help: () =>
    helpText({
      usage:
        'skipscape bench [--json] [--backend wasm,cpu,webgpu] [--models resnet20,resnet56] [--out FILE]',
      summary:
        'Inference and training throughput on 28×28×1 inputs, batch 128, with one thread and with one\n' +
        'worker thread per core (data-parallel, as `train --workers`), and the GFLOP/s reached (forward\n' +
        'FLOPs counted from the convolutions and matrix products tfjs runs; training counted as 3×)\n' +
        'beside a dense matMul measured with the same threads in the same run. webgpu runs through Dawn\n' +
        "(npm package webgpu), which needs libvulkan.so.1 (Debian: libvulkan1; or Chromium's copy with\n" +
        'LD_LIBRARY_PATH=/usr/lib/chromium); a software adapter (SwiftShader) is skipped unless named.',
      specs: FLAGS,
    }),
  async run(argv, io) {
    const flags = parseFlags(NAME, FLAGS, argv);
    if (flags.help) {
      io.out(this.help());
      return 0;
    }
    // Before minutes of timing: a result that cannot be written is lost.
    if (flags.out) assertWritable(flags.out);
    const cores = availableParallelism();
    const list = (v: string | undefined) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    const explicitBackends = flags.backend !== undefined;
    const backends: NodeBackend[] = flags.backend
      ? list(flags.backend).map((b) => oneOf(NAME, 'backend', b, NODE_BACKENDS))
      : ['wasm', 'cpu', 'webgpu'];
    const modelNames = flags.models ? list(flags.models) : ['resnet20', 'resnet56'];
    const workerCounts = flags.workers
      ? list(flags.workers).map((w) => integer(NAME, 'workers', w, 1, 64))
      : [...new Set([1, cores])];
    const batch = flags.batch ? integer(NAME, 'batch', flags.batch, 2) : 128;
    const minSeconds = flags.seconds ? positive(NAME, 'seconds', flags.seconds) : 3;
    const input = [1, 28, 28] as [number, number, number];
    const models = modelNames.map((name) => {
      try {
        return createModel(parseModelName(name, { inputShape: input, classes: 10 }));
      } catch (e) {
        throw new UsageError(`${NAME}: --models: ${e instanceof Error ? e.message : String(e)}`);
      }
    });

    // FLOP counts and initial weights come from the cpu backend on this thread,
    // before any GPU backend starts (switching back and forth with Dawn is fragile).
    await startNodeBackend('cpu');
    const flops = new Map<Model, number>();
    const initial = new Map<Model, TrainingState>();
    for (const m of models) {
      flops.set(m, await forwardFlopsPerImage(m, inputShapeOf(m.spec)));
      initial.set(m, await initialTrainingState(m, 0));
    }
    // webgpu last: once started it stays this thread's backend.
    backends.sort((a, b) => Number(a === 'webgpu') - Number(b === 'webgpu'));

    const file: BenchFile = {
      machine: {
        cpu: cpuModel(),
        cores,
        node: process.version,
        os: `${platform()} ${release()}`,
        host: hostname(),
        date: new Date().toISOString(),
        loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      note: flags.note ?? null,
      tfjs: tf.version_core,
      input: '1x28x28',
      rows: [],
      skipped: [],
    };
    const say = (line: string) => io.err(`${line}\n`);

    for (const backend of backends) {
      let label: string = backend;
      if (backend === 'webgpu') {
        let why: string | null = null;
        try {
          await startNodeBackend('webgpu');
          const adapter = await webgpuAdapter();
          label = `webgpu (${adapter?.description || 'unknown adapter'})`;
          // A software adapter runs WebGPU on the CPU hundreds of times slower
          // than wasm: measure it only when asked for by name.
          if (adapter?.software && !explicitBackends)
            why = `only a software adapter: ${adapter.description}`;
        } catch (e) {
          why = e instanceof Error ? e.message : String(e);
        }
        if (why !== null) {
          file.skipped.push({ backend, why });
          say(`webgpu: skipped (${why})`);
          continue;
        }
        say(`${label}: started`);
      }
      // cpu is plain JavaScript, 10–50× slower: one timed batch is enough to place it.
      const short = backend === 'cpu';
      const counts = backend === 'webgpu' ? [1] : workerCounts;
      for (const workers of counts) {
        let matMul: { size: number; gflops: number } | null = null;
        for (const model of models) {
          const name = modelNames[models.indexOf(model)]!;
          let engine: TrainEngine;
          if (backend === 'webgpu') {
            engine = new LocalEngine({ model, sgd: LI_ET_AL_SGD });
          } else {
            engine = await createWorkerEngine({ model, sgd: LI_ET_AL_SGD, workers, backend });
          }
          try {
            await engine.load(initial.get(model)!);
            if (matMul === null) {
              const size = short ? 256 : 512;
              const seconds = short ? 0.5 : 1;
              matMul =
                backend === 'webgpu'
                  ? {
                      size: 1024,
                      gflops: (await measureMatMul({ size: 1024, minSeconds: seconds })).gflops,
                    }
                  : {
                      size,
                      gflops: (
                        await (engine as ParallelEngine).matMulGflops({ size, minSeconds: seconds })
                      ).total,
                    };
              say(
                `${backend} ×${workers}: dense matMul ${matMul.size}² ${matMul.gflops.toFixed(1)} GFLOP/s`,
              );
            }
            const data = syntheticBatch(model, batch);
            const perImage = flops.get(model)!;
            const inf = await timeIt(
              () => engine.evaluate(data),
              short ? 0 : minSeconds,
              short ? 1 : 2,
            );
            const infRate = (inf.reps * batch) / inf.seconds;
            say(`${backend} ×${workers} ${name}: inference ${infRate.toFixed(0)} images/s`);
            const tr = await timeIt(
              () => engine.trainStep(data, 0.01),
              short ? 0 : minSeconds,
              short ? 1 : 2,
            );
            const trRate = (tr.reps * batch) / tr.seconds;
            say(`${backend} ×${workers} ${name}: training ${trRate.toFixed(1)} images/s`);
            const inferenceGflops = (infRate * perImage) / 1e9;
            file.rows.push({
              backend: label,
              workers,
              model: name,
              batch,
              forwardFlops: perImage,
              inference: {
                imagesPerSecond: infRate,
                gflops: inferenceGflops,
                seconds: inf.seconds,
              },
              training: {
                imagesPerSecond: trRate,
                gflops: (3 * trRate * perImage) / 1e9,
                seconds: tr.seconds,
              },
              matMul,
              inferenceOfMatMul: inferenceGflops / matMul.gflops,
            });
          } finally {
            await engine.dispose();
          }
        }
      }
    }

    if (flags.out) await writeFileAtomic(flags.out, `${JSON.stringify(file, null, 2)}\n`);
    if (flags.json) {
      io.out(`${JSON.stringify(file, null, 2)}\n`);
      return 0;
    }
    io.out(`${benchTable(file)}\n`);
    return 0;
  },
};

/** The results as a Markdown table (also used for bench/README.md). */
export function benchTable(file: BenchFile): string {
  const lines = [
    `${file.machine.cpu}, ${file.machine.cores} cores, Node ${file.machine.node}, tfjs ${file.tfjs}, ${file.machine.date.slice(0, 10)}; input ${file.input}; load average ${file.machine.loadAverage.join(' ')} at the start`,
    ...(file.note ? ['', file.note] : []),
    '',
    '| backend | threads | model | MFLOP/image | inference img/s | GFLOP/s | training img/s | GFLOP/s | matMul GFLOP/s | inference ÷ matMul |',
    '| --- | --: | --- | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of file.rows) {
    lines.push(
      `| ${r.backend} | ${r.workers} | ${r.model} | ${(r.forwardFlops / 1e6).toFixed(1)} | ${r.inference.imagesPerSecond.toFixed(0)} | ` +
        `${r.inference.gflops.toFixed(1)} | ${r.training ? r.training.imagesPerSecond.toFixed(1) : '–'} | ` +
        `${r.training ? r.training.gflops.toFixed(1) : '–'} | ${r.matMul.gflops.toFixed(1)} (${r.matMul.size}²) | ${(r.inferenceOfMatMul * 100).toFixed(0)} % |`,
    );
  }
  for (const s of file.skipped) lines.push('', `${s.backend}: skipped (${s.why})`);
  return lines.join('\n');
}
