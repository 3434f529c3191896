/**
 * The parts of each package README that issue 15 asks for, read the way a new user reads them:
 * the install line, and the Express and Koa quick starts (the first ```ts block under
 * `### Express` and `### Koa` in `## Quick start`), which packed-install.test.ts type-checks
 * against the packed packages.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './pack.js';

/** The text of a `## title` section, up to the next `## ` heading (headings in code blocks aside). */
export function section(markdown: string, title: string): string | undefined {
  const lines = markdown.split('\n');
  let inCode = false;
  let start = -1;
  for (const [index, line] of lines.entries()) {
    if (line.startsWith('```')) inCode = !inCode;
    if (inCode || !line.startsWith('## ')) continue;
    if (start >= 0) return lines.slice(start, index).join('\n');
    if (line.slice(3).trim() === title) start = index + 1;
  }
  return start >= 0 ? lines.slice(start).join('\n') : undefined;
}

/** The first ```ts block after the `### heading` line of `text`. */
function firstTsBlockUnder(text: string, heading: string): string | undefined {
  const at = text.split('\n').findIndex((line) => line.trim() === `### ${heading}`);
  if (at < 0) return undefined;
  const rest = text
    .split('\n')
    .slice(at + 1)
    .join('\n');
  return /^```ts\n([\s\S]*?)^```$/m.exec(rest)?.[1];
}

export interface QuickStarts {
  install: string | undefined;
  express: string | undefined;
  koa: string | undefined;
}

export function readmeParts(dir: string): QuickStarts {
  const markdown = readFileSync(join(ROOT, 'packages', dir, 'README.md'), 'utf8');
  const quickStart = section(markdown, 'Quick start') ?? '';
  return {
    install: section(markdown, 'Install'),
    express: firstTsBlockUnder(quickStart, 'Express'),
    koa: firstTsBlockUnder(quickStart, 'Koa'),
  };
}

/** Lines of code, blank lines not counted. */
export function codeLines(snippet: string): number {
  return snippet.split('\n').filter((line) => line.trim() !== '').length;
}
