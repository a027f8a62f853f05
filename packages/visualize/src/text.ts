import type { RgbaImage } from './render.js';

/** A 5×7 bitmap font (uppercase, digits, a few signs): enough for method names in figure headers. */
const GLYPHS: Record<string, string> = {
  A: '01110 10001 10001 11111 10001 10001 10001', B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110', D: '11110 10001 10001 10001 10001 10001 11110',
  E: '11111 10000 10000 11110 10000 10000 11111', F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111', H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110', J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001', L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001', N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110', P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101', R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110', T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110', V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010', X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 01010 00100 00100 00100 00100', Z: '11111 00001 00010 00100 01000 10000 11111',
  '0': '01110 10001 10011 10101 11001 10001 01110', '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111', '3': '11111 00010 00100 00010 00001 10001 01110',
  '4': '00010 00110 01010 10010 11111 00010 00010', '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110', '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110', '9': '01110 10001 10001 01111 00001 00010 01100',
  '-': '00000 00000 00000 11111 00000 00000 00000', '/': '00000 00001 00010 00100 01000 10000 00000',
  '(': '00010 00100 01000 01000 01000 00100 00010', ')': '01000 00100 00010 00010 00010 00100 01000',
  '.': '00000 00000 00000 00000 00000 01100 01100', _: '00000 00000 00000 00000 00000 00000 11111',
  ':': '00000 01100 01100 00000 01100 01100 00000', '=': '00000 00000 11111 00000 11111 00000 00000',
  '#': '01010 01010 11111 01010 11111 01010 01010', ' ': '00000 00000 00000 00000 00000 00000 00000',
  '?': '01110 10001 00001 00010 00100 00000 00100',
};

/** Width in pixels of `text` at `scale` (6 px per character: 5 + 1 spacing). */
export function textWidth(text: string, scale = 1): number {
  return Math.max(0, text.length * 6 - 1) * scale;
}

/** Draws `text` (uppercased) with its top-left corner at (x, y); pixels outside the image are skipped. */
export function drawText(img: RgbaImage, text: string, x: number, y: number, options: { scale?: number; color?: readonly [number, number, number] } = {}): void {
  const scale = options.scale ?? 1;
  const [r, g, b] = options.color ?? [0, 0, 0];
  let cx = x;
  for (const ch of text.toUpperCase()) {
    const rows = (GLYPHS[ch] ?? GLYPHS['?']!).split(' ');
    for (let gy = 0; gy < 7; gy++) {
      for (let gx = 0; gx < 5; gx++) {
        if (rows[gy]![gx] !== '1') continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const px = cx + gx * scale + sx;
            const py = y + gy * scale + sy;
            if (px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
            const o = (py * img.width + px) * 4;
            img.data[o] = r;
            img.data[o + 1] = g;
            img.data[o + 2] = b;
            img.data[o + 3] = 255;
          }
        }
      }
    }
    cx += 6 * scale;
  }
}

/** Splits a label into lines of at most `maxWidth` px, breaking after '-', '/', ' ' or '(' where possible. */
export function wrapLabel(text: string, maxWidth: number, scale = 1): string[] {
  const maxChars = Math.max(1, Math.floor((maxWidth / scale + 1) / 6));
  const lines: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    let cut = -1;
    for (let i = maxChars; i > 0; i--) {
      if ('-/ ('.includes(rest[i - 1]!)) {
        cut = i;
        break;
      }
    }
    if (cut <= 0) cut = maxChars;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) lines.push(rest);
  return lines;
}
