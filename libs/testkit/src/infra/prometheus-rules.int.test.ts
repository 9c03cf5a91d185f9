import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(__dirname, '../../../..');
const PROM_DIR = path.join(ROOT, 'infra/prometheus');

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: PROM_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** Alert names declared in a rules file (`- alert: Name`). */
function alertNames(text: string): string[] {
  return [...text.matchAll(/^[ \t]*- alert: (\w+)[ \t]*$/gm)].map((m) => m[1] ?? '');
}

describe('prometheus: config and alert rules (promtool)', function () {
  this.timeout(300_000);

  before(function () {
    // The project's script installs Debian's prometheus package when promtool is missing (fresh machines, CI).
    execFileSync('bash', [path.join(ROOT, 'infra/scripts/ensure-promtool.sh')], { stdio: 'inherit' });
  });

  it('the compose Prometheus config is valid and loads the rules', function () {
    const out = promtool('check', 'config', 'prometheus.yml');
    expect(out).to.match(/1 rule files found/);
  });

  it('the rules are valid', function () {
    expect(promtool('check', 'rules', 'alerts.yml')).to.match(/SUCCESS: \d+ rules found/);
  });

  it('every alert fires on its story and stays quiet on the healthy one (promtool test rules)', function () {
    expect(promtool('test', 'rules', 'alerts.test.yml')).to.match(/SUCCESS/);
  });

  it('every alert has a unit test and a runbook line in the README', function () {
    const rules = readFileSync(path.join(PROM_DIR, 'alerts.yml'), 'utf8');
    const tests = readFileSync(path.join(PROM_DIR, 'alerts.test.yml'), 'utf8');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const names = alertNames(rules);
    expect(names.length).to.be.at.least(9);
    for (const name of names) {
      expect(tests, `alerts.test.yml tests ${name}`).to.include(`alertname: ${name}`);
      expect(readme, `README has a runbook line for ${name}`).to.match(new RegExp(`\\*\\*${name}\\*\\*`));
    }
  });
});
