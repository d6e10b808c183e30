/**
 * The command table. Each command is a module exporting a Command; to add
 * one, write src/cli/commands/<name>.ts and add it here.
 */
import { benchCommand } from './bench';
import { effectiveDepthCommand } from './effective-depth';
import { evalCommand } from './eval';
import { exportCommand } from './export';
import { gscCommand } from './gsc';
import { hessianCommand } from './hessian';
import { importCommand } from './import';
import { importCheckpointCommand } from './import-checkpoint';
import { landscapeCommand } from './landscape';
import { lesionCommand } from './lesion';
import { mergeCommand } from './merge';
import { paramsCommand } from './params';
import { responsesCommand } from './responses';
import { signalsCommand } from './signals';
import { pathsCommand } from './paths';
import { trainCommand } from './train';
import { trajectoryCommand } from './trajectory';
import type { Command } from './types';

export const COMMANDS: readonly Command[] = [
  paramsCommand,
  trainCommand,
  evalCommand,
  importCheckpointCommand,
  benchCommand,
  landscapeCommand,
  mergeCommand,
  hessianCommand,
  trajectoryCommand,
  pathsCommand,
  lesionCommand,
  exportCommand,
  importCommand,
  responsesCommand,
  effectiveDepthCommand,
  gscCommand,
  signalsCommand,
];
