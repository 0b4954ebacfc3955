import { layerShapes, parameterCount } from '@medfed/proto';
import type { TrainingArchitecture } from './types.js';

/** Where one dense layer's kernel and bias sit in the shared flat parameter vector. */
export interface DenseSlot {
  readonly inputs: number;
  readonly units: number;
  readonly kernelOffset: number;
  readonly biasOffset: number;
}

/** Per-layer offsets into the flat layout fixed by `@medfed/proto` (kernel row-major, then bias). */
export function denseSlots(arch: TrainingArchitecture): DenseSlot[] {
  const shapes = layerShapes(arch.inputs, arch.hidden, arch.classes);
  const slots: DenseSlot[] = [];
  let offset = 0;
  for (let i = 0; i < shapes.length; i += 2) {
    const [inputs, units] = shapes[i]!.shape as [number, number];
    slots.push({ inputs, units, kernelOffset: offset, biasOffset: offset + inputs * units });
    offset += inputs * units + units;
  }
  return slots;
}

export function weightCount(arch: TrainingArchitecture): number {
  return parameterCount(arch.inputs, arch.hidden, arch.classes);
}
