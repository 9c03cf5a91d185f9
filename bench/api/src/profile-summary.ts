// `--profile`: the api children run with --cpu-prof; this prints where their CPU went, by function
// (self time) and by package, so a missed target comes with its hot spots.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

function packageOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  const m = /\/(libs|services)\/([^/]+)\//.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|libs|services)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
    const pkg = packageOf(url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + hits);
  }
  const fmt = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, hits]) => `    ${((hits / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return `  ${path.basename(file)} (${seconds.toFixed(1)} s of wall time):\n  by package (self time):\n${fmt(byPkg, 10)}\n  top functions (self time):\n${fmt(byFn, top)}`;
}

export function summarizeProfiles(dir: string): string {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  } catch {
    return `  no profiles in ${dir}`;
  }
  return files.map((f) => summarizeProfile(path.join(dir, f))).join('\n');
}
