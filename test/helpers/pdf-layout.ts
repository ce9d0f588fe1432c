// Where a PDF's text sits, without a renderer: the page count and size, and every text run with its
// position in page space (points from the bottom-left corner). It follows the content-stream
// operators PDFKit writes (q/Q/cm for the transformation, BT/Tm/Td/Tf/TJ/Tj for text), enough to
// check an invoice's layout in tests on machines without poppler.
import { inflateSync } from 'node:zlib';

export interface TextRun {
  text: string;
  x: number;
  y: number;
  size: number;
}

export interface PdfLayout {
  pages: number;
  /** [x0, y0, x1, y1] of the first page. */
  mediaBox: number[];
  runs: TextRun[];
}

type Matrix = [number, number, number, number, number, number];
const IDENTITY: Matrix = [1, 0, 0, 1, 0, 0];

/** m × n, PDF's row-vector convention (apply m, then n). */
function multiply(m: Matrix, n: Matrix): Matrix {
  return [
    m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
    m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
    m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5],
  ];
}

const TOKEN = /\[((?:<[0-9a-fA-F]*>|[^\]])*)\]|<([0-9a-fA-F]*)>|\/[^\s/[\]<>()]+|[-+]?(?:\d+\.?\d*|\.\d+)|[A-Za-z'"*]+/g;

const hexText = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');

export function pdfLayout(pdf: Buffer): PdfLayout {
  const raw = pdf.toString('latin1');
  const count = /\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/.exec(raw);
  const pages = Number(count?.[1] ?? count?.[2] ?? NaN);
  const box = /\/MediaBox\s*\[([^\]]*)\]/.exec(raw);
  const mediaBox = box ? box[1]!.trim().split(/\s+/).map(Number) : [];
  const runs: TextRun[] = [];
  // Content streams only: fonts and images carry /Length1 or /Subtype in their dictionaries.
  for (const m of raw.matchAll(/<<((?:(?!>>\s*stream)[\s\S])*)>>\s*stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
    if (/\/Length1|\/Subtype/.test(m[1]!)) continue;
    let content = m[2]!;
    if (/\/FlateDecode/.test(m[1]!)) content = inflateSync(Buffer.from(content, 'latin1')).toString('latin1');
    let ctm: Matrix = IDENTITY;
    const saved: Matrix[] = [];
    let tm: Matrix = IDENTITY;
    let line: Matrix = IDENTITY;
    let size = 0;
    let operands: string[] = [];
    for (const tok of content.matchAll(TOKEN)) {
      const word = tok[0];
      if (!/^[A-Za-z'"*]+$/.test(word)) {
        operands.push(word);
        continue;
      }
      const nums = operands.map(Number);
      switch (word) {
        case 'q': saved.push(ctm); break;
        case 'Q': ctm = saved.pop() ?? IDENTITY; break;
        case 'cm': ctm = multiply(nums.slice(-6) as Matrix, ctm); break;
        case 'BT': tm = line = IDENTITY; break;
        case 'Tm': tm = line = nums.slice(-6) as Matrix; break;
        case 'Td': tm = line = multiply([1, 0, 0, 1, nums.at(-2)!, nums.at(-1)!], line); break;
        case 'Tf': size = nums.at(-1)!; break;
        case 'TJ':
        case 'Tj': {
          const last = operands.at(-1) ?? '';
          const hexes = word === 'TJ' ? [...last.matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => h[1]!) : [last.replace(/[<>]/g, '')];
          const at = multiply(tm, ctm);
          runs.push({ text: hexes.map(hexText).join(''), x: at[4], y: at[5], size });
          break;
        }
      }
      operands = [];
    }
  }
  return { pages, mediaBox, runs };
}
