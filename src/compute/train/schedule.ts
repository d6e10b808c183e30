/**
 * Learning-rate schedules, as functions of the optimisation step so that a
 * resumed run follows exactly the curve of an uninterrupted one.
 *
 * Li et al. (2018) train with lr 0.1 divided by 10 at epochs 150, 225 and 275
 * of 300 ('step'); with the few epochs a browser can afford, a cosine decay
 * (Loshchilov & Hutter 2017) is the usual choice and our default.
 */

export type ScheduleSpec =
  | { kind: 'constant' }
  /** lr · cos-annealed to 0 over the run: η_t = η_0 · (1 + cos(π t / T)) / 2. */
  | { kind: 'cosine' }
  /**
   * lr · γ^k after the k-th milestone; milestones are fractions of the run
   * (Li et al.'s 150, 225, 275 of 300 epochs are 0.5, 0.75, 0.9167).
   */
  | { kind: 'step'; milestones: number[]; gamma: number };

export type ScheduleName = ScheduleSpec['kind'];

/** Li et al.'s step decay, scaled to the run's length. */
export const LI_ET_AL_STEP: ScheduleSpec = {
  kind: 'step',
  milestones: [150 / 300, 225 / 300, 275 / 300],
  gamma: 0.1,
};

export function scheduleFromName(name: ScheduleName): ScheduleSpec {
  switch (name) {
    case 'constant':
      return { kind: 'constant' };
    case 'cosine':
      return { kind: 'cosine' };
    case 'step':
      return LI_ET_AL_STEP;
  }
}

/** The learning rate for step t (0-based) of a run of totalSteps steps. */
export function learningRateAt(options: {
  schedule: ScheduleSpec;
  baseLr: number;
  step: number;
  totalSteps: number;
}): number {
  const { schedule, baseLr, step, totalSteps } = options;
  const progress = totalSteps > 0 ? Math.min(step / totalSteps, 1) : 0;
  switch (schedule.kind) {
    case 'constant':
      return baseLr;
    case 'cosine':
      return (baseLr * (1 + Math.cos(Math.PI * progress))) / 2;
    case 'step': {
      const passed = schedule.milestones.filter((m) => progress >= m).length;
      return baseLr * schedule.gamma ** passed;
    }
  }
}
