// Checks the layering of src/ (docs/ARCHITECTURE.md, section 1): every static import or re-export
// between files of src/ (`import type` included) points down the layer order, and no files import
// each other in a cycle. The layer order is read from the table of that section, so the document and
// the check cannot drift apart. `node scripts/check-deps.mjs`: prints each offender and exits 1.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Shared modules that import nothing from src/ and that any layer may import. */
const LEAVES = ['src/errors.ts', 'src/identity.ts', 'src/option-names.ts'];
/** The barrels: they only re-export, and nothing in src/ imports them. */
const BARRELS = ['src/index.ts', 'src/internal.ts'];
/** The layer folders, top (imported by all below) first, from the table of ARCHITECTURE.md section 1. */
function layerOrder() {
  const doc = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
  const section = doc.split(/^## /m).find((part) => part.startsWith('1. Layers'));
  if (section === undefined) throw new Error('docs/ARCHITECTURE.md has no section "1. Layers"');
  const folders = [...section.matchAll(/^\| `(src\/[\w/-]+)` \|/gm)].map((match) => match[1]);
  if (folders.length === 0) throw new Error('docs/ARCHITECTURE.md section 1 lists no layer folders');
  return folders;
}

function sourceFiles(folder) {
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The import clause of a static import or re-export: names, braces, `type`, `as`, `*`. */
const CLAUSE = String.raw`[\w$*{},\s]*?`;
const IMPORTS = new RegExp(
  String.raw`^[ \t]*(?:import|export)\s+(?:${CLAUSE}\s*from\s*)?(['"])([^'"\n]+)\1`,
  'gm',
);

/** The src/ files that `file` imports or re-exports from. */
function importsOf(file) {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const targets = [];
  for (const [, , specifier] of text.matchAll(IMPORTS)) {
    if (!specifier.startsWith('.')) continue;
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts');
    targets.push(target.split('\\').join('/'));
  }
  return targets;
}

/** Whether the file holds nothing but re-exports (and comments). */
function onlyReExports(file) {
  const rest = readFileSync(join(ROOT, file), 'utf8')
    .replace(/^[ \t]*export\s+(?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\})\s*from\s*(['"])[^'"\n]+\1;?/gm, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '');
  return rest.trim() === '';
}

function layerOf(file, folders) {
  const owner = folders
    .filter((folder) => file.startsWith(`${folder}/`))
    .sort((a, b) => b.length - a.length)[0];
  return owner === undefined ? -1 : folders.indexOf(owner);
}

/** Strongly connected components of more than one file (Tarjan), each a set of files in a cycle. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node), low.get(target)));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node), index.get(target)));
    }
    if (low.get(node) !== index.get(node)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) found.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** One cycle through `start` inside `component`, as a path that ends where it starts. */
function cycleThrough(start, component, graph) {
  const members = new Set(component);
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const target of graph.get(node) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = node; at !== null; at = previous.get(at)) path.unshift(at);
        return path;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

const folders = layerOrder();
const files = sourceFiles('src');
const graph = new Map(files.map((file) => [file, new Set(importsOf(file))]));
const problems = [];

for (const [file, targets] of graph) {
  const layer = layerOf(file, folders);
  const isLeaf = LEAVES.includes(file);
  const isBarrel = BARRELS.includes(file);
  if (layer === -1 && !isLeaf && !isBarrel) problems.push(`${file}: in no layer of docs/ARCHITECTURE.md`);
  if (isBarrel && !onlyReExports(file)) problems.push(`${file}: a barrel only re-exports`);
  for (const target of targets) {
    if (!graph.has(target)) {
      problems.push(`${file} -> ${target}: no such file in src/`);
      continue;
    }
    if (isLeaf) {
      problems.push(`${file} -> ${target}: a shared leaf module imports nothing from src/`);
      continue;
    }
    if (BARRELS.includes(target)) {
      problems.push(`${file} -> ${target}: nothing in src/ imports a barrel`);
      continue;
    }
    if (isBarrel || layer === -1 || LEAVES.includes(target)) continue;
    const targetLayer = layerOf(target, folders);
    if (targetLayer <= layer) continue;
    problems.push(
      `${file} -> ${target}: upward import (${folders[layer]} comes before ${folders[targetLayer]})`,
    );
  }
}
for (const component of cycles(graph)) {
  const start = component.sort()[0];
  problems.push(`import cycle: ${cycleThrough(start, component, graph).join(' -> ')}`);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  console.error(`check-deps: ${problems.length} problem(s); the layer order is ${folders.join(' → ')}`);
  process.exit(1);
}
console.log(`check-deps: ${files.length} files, no upward import, no cycle (${folders.join(' → ')})`);
