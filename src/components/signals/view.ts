/**
 * What the signal figures say about a result: axis labels for the plain and
 * residual networks, the band over draws, and the CSV export. No DOM.
 */
import type { SignalNetwork } from '../../compute/signals/network';
import type { SignalStatistics } from '../../compute/signals/statistics';

/** Per layer: the smallest and largest value over draws (null where none is finite). */
export function bandOf(
  draws: readonly (readonly (number | null)[])[],
  layers: number,
): [number | null, number | null][] {
  return Array.from({ length: layers }, (_, i) => {
    const v = draws.map((d) => d[i]).filter((x): x is number => x !== null && x !== undefined);
    return v.length > 0 ? [Math.min(...v), Math.max(...v)] : [null, null];
  });
}

export function describeNetwork(n: SignalNetwork): string {
  const alpha =
    n.residualAlpha === null ? 'plain' : `residual, α = ${Number(n.residualAlpha.toPrecision(3))}`;
  return `a ${n.depth}-layer ${n.activation} MLP of width ${n.width}, ${n.init} initialisation, ${alpha}${n.batchNorm ? ', with BN' : ''}`;
}

export function quantityLabels(n: SignalNetwork) {
  if (n.residualAlpha === null) {
    return {
      xLabel: 'layer t',
      forwardTitle: 'Forward: Var[s^t]',
      forwardAxis: 'variance of pre-activations',
      forwardSymbol: 's^t',
      activationSymbol: 'f(s^t)',
      backwardTitle: 'Backward: Var[∂L/∂s^t]',
      backwardAxis: 'variance of gradients',
      backwardSymbol: '∂L/∂s^t',
    };
  }
  return {
    xLabel: 'block t',
    forwardTitle: 'Forward: E[(x_t)²]',
    forwardAxis: 'mean square of x_t',
    forwardSymbol: 'x_t',
    activationSymbol: 'f(x_t)',
    backwardTitle: 'Backward: Var[∂L/∂x_t]',
    backwardAxis: 'variance of gradients',
    backwardSymbol: '∂L/∂x_t',
  };
}

const cell = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '' : String(v);

/** One row per layer: measured, band over draws and theory, forward and backward; the setting in comments. */
export function signalsCsv(s: SignalStatistics): string {
  const fb = bandOf(s.forwardVarianceDraws, s.t.length);
  const bb = bandOf(s.backwardVarianceDraws, s.t.length);
  const lines = [
    `# ${describeNetwork(s.network)}; ${s.batch} inputs x ~ N(0, I) x ${s.draws} draws, seed ${s.seed}`,
    '# h_t: the pre-activation s^t (plain) or the stream x_t (residual); theory: mean-field recursions',
    't,forwardVariance,forwardMeanSquare,forwardVarianceMin,forwardVarianceMax,theoryForward,backwardVariance,backwardVarianceMin,backwardVarianceMax,theoryBackward',
    ...s.t.map((t, i) =>
      [
        t,
        s.forwardVariance[i],
        s.forwardMeanSquare[i],
        fb[i]![0],
        fb[i]![1],
        s.theoryForward[i],
        s.backwardVariance[i],
        bb[i]![0],
        bb[i]![1],
        s.theoryBackward[i],
      ]
        .map(cell)
        .join(','),
    ),
  ];
  return `${lines.join('\n')}\n`;
}
