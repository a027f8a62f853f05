// Small presentational pieces: pixel canvases, probability bars, the drawing pad, map cells.
import { useEffect, useRef } from 'react';

/** Draws RGBA bytes of a w×h image onto a canvas shown at `size` CSS pixels (pixelated). */
export function PixelCanvas(props: { rgba: Uint8ClampedArray | null; width: number; height: number; size: number; testId?: string; title?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const ctx = c.getContext('2d')!;
    if (!props.rgba) {
      ctx.clearRect(0, 0, c.width, c.height);
      return;
    }
    ctx.putImageData(new ImageData(new Uint8ClampedArray(props.rgba), props.width, props.height), 0, 0);
  }, [props.rgba, props.width, props.height]);
  const scale = props.size / Math.max(props.width, props.height);
  return (
    <canvas
      ref={ref}
      width={props.width}
      height={props.height}
      data-testid={props.testId}
      data-ready={props.rgba ? 'true' : 'false'}
      title={props.title}
      className="pixel-canvas"
      style={{ width: props.width * scale, height: props.height * scale }}
    />
  );
}

export function ProbabilityBars(props: { probabilities: number[]; classes: string[]; predicted: number; target: number; onPick(c: number): void }) {
  const order = props.probabilities.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
  const shown = order.slice(0, Math.min(10, order.length));
  return (
    <ul className="bars" data-testid="probabilities">
      {shown.map(([p, i]) => (
        <li key={i} className={i === props.target ? 'target' : ''} onClick={() => props.onPick(i)} title="explain this class">
          <span className="bar-label">{props.classes[i] ?? i}</span>
          <span className="bar-track">
            <span className="bar-fill" style={{ width: `${(p * 100).toFixed(1)}%` }} />
          </span>
          <span className="bar-value">{(p * 100).toFixed(1)}%</span>
        </li>
      ))}
    </ul>
  );
}

/** A square pad to draw on with the mouse or a finger: white ink on black, like MNIST. */
export function DrawingPad(props: { size: number; onDone(canvas: HTMLCanvasElement): void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const last = useRef<[number, number] | null>(null);
  useEffect(() => clear(), []);
  function clear() {
    const ctx = ref.current!.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, props.size, props.size);
  }
  function pos(e: React.PointerEvent<HTMLCanvasElement>): [number, number] {
    const r = e.currentTarget.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * props.size, ((e.clientY - r.top) / r.height) * props.size];
  }
  function stroke(to: [number, number]) {
    const ctx = ref.current!.getContext('2d')!;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = props.size / 14;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    const from = last.current ?? to;
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    last.current = to;
  }
  return (
    <div className="pad">
      <canvas
        ref={ref}
        width={props.size}
        height={props.size}
        data-testid="drawing-pad"
        onPointerDown={(e) => {
          drawing.current = true;
          last.current = null;
          e.currentTarget.setPointerCapture(e.pointerId);
          stroke(pos(e));
        }}
        onPointerMove={(e) => drawing.current && stroke(pos(e))}
        onPointerUp={() => {
          drawing.current = false;
          props.onDone(ref.current!);
        }}
      />
      <button type="button" onClick={clear}>Clear</button>
    </div>
  );
}

export function Slider(props: { label: string; min: number; max: number; step: number; value: number; onChange(v: number): void; format?(v: number): string; testId?: string }) {
  return (
    <label className="slider">
      <span>{props.label}</span>
      <input type="range" min={props.min} max={props.max} step={props.step} value={props.value} data-testid={props.testId} onChange={(e) => props.onChange(Number(e.target.value))} />
      <output>{props.format ? props.format(props.value) : props.value}</output>
    </label>
  );
}
