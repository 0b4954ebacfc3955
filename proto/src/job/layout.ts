/**
 * The flat parameter layout shared by every party: for each dense layer in order, its kernel
 * [inputs x units] row-major, then its bias [units]. Updates, models and aggregates are flat
 * Float32 vectors in this order.
 */
export interface LayerShape {
  readonly name: string;
  readonly shape: readonly number[];
}

export function layerShapes(inputs: number, hidden: readonly number[], classes: number): LayerShape[] {
  const widths = [inputs, ...hidden, classes];
  const shapes: LayerShape[] = [];
  for (let i = 0; i + 1 < widths.length; i++) {
    const fanIn = widths[i]!;
    const units = widths[i + 1]!;
    shapes.push({ name: `dense_${i}/kernel`, shape: [fanIn, units] });
    shapes.push({ name: `dense_${i}/bias`, shape: [units] });
  }
  return shapes;
}

export function parameterCount(inputs: number, hidden: readonly number[], classes: number): number {
  return layerShapes(inputs, hidden, classes).reduce((sum, l) => sum + l.shape.reduce((a, b) => a * b, 1), 0);
}
